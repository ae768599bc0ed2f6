// GET /metrics over Poco::Net::HTTPServer: one thread, a short queue, short timeouts.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "mugai/obs/monitor.h"

namespace mugai::obs {
namespace {

using Poco::Net::HTTPResponse;

class MetricsHandler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    resp.setKeepAlive(false);
    resp.set("X-Content-Type-Options", "nosniff");
    resp.set("Cache-Control", "no-store");
    std::string path;
    try {
      path = Poco::URI(req.getURI()).getPath();
    } catch (const Poco::Exception&) {
      path.clear();
    }
    auto plain = [&](HTTPResponse::HTTPStatus status, const std::string& body) {
      resp.setStatusAndReason(status);
      resp.setContentType("text/plain; charset=utf-8");
      resp.setContentLength(static_cast<std::streamsize>(body.size()));
      resp.send() << body;
    };
    if (path != "/metrics") return plain(HTTPResponse::HTTP_NOT_FOUND, "not found: try /metrics\n");
    bool head = req.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD;
    if (req.getMethod() != Poco::Net::HTTPRequest::HTTP_GET && !head) {
      resp.set("Allow", "GET, HEAD");
      return plain(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "GET only\n");
    }
    std::string body = registry().expose();
    resp.setStatusAndReason(HTTPResponse::HTTP_OK);
    resp.setContentType("text/plain; version=0.0.4; charset=utf-8");
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    if (head) {
      resp.send();
    } else {
      resp.send() << body;
    }
  }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new MetricsHandler;
  }
};

class PocoMetricsServer : public MetricsServer {
 public:
  PocoMetricsServer(const Poco::Net::SocketAddress& at) : pool_(1, 1) {
    Poco::Net::ServerSocket socket(at, 16);
    port_ = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(1);
    params->setMaxQueued(8);
    params->setTimeout(Poco::Timespan(5, 0));
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory, pool_, socket, params);
    server_->start();
  }
  ~PocoMetricsServer() override {
    server_->stopAll(true);
    server_.reset();
    pool_.joinAll();
  }
  std::uint16_t port() const override { return port_; }

 private:
  Poco::ThreadPool pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
};

}  // namespace

bool isLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress ip;
  return Poco::Net::IPAddress::tryParse(host, ip) && ip.isLoopback();
}

std::unique_ptr<MetricsServer> startMetricsServer(const std::string& host, std::uint16_t port,
                                                  std::string* why) {
  try {
    return std::make_unique<PocoMetricsServer>(Poco::Net::SocketAddress(host, port));
  } catch (const Poco::Exception& e) {
    if (why) *why = e.displayText();
  } catch (const std::exception& e) {
    if (why) *why = e.what();
  }
  return nullptr;
}

}  // namespace mugai::obs
