#include "src/console/server.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/PartHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <sstream>

#include "src/console/html.h"

namespace mugai::console {
namespace {

constexpr std::size_t kFormLimit = 64 * 1024;
constexpr std::size_t kUploadLimit = 10 * 1024 * 1024;

class Uploads : public Poco::Net::PartHandler {
 public:
  explicit Uploads(HttpRequest& r) : r_(r) {}
  void handlePart(const Poco::Net::MessageHeader& header, std::istream& stream) override {
    std::string disp, name, filename;
    Poco::Net::NameValueCollection params;
    if (header.has("Content-Disposition")) {
      Poco::Net::MessageHeader::splitParameters(header.get("Content-Disposition"), disp, params);
      name = params.get("name", "");
      filename = params.get("filename", "");
    }
    std::string bytes;
    char buf[8192];
    while (stream.read(buf, sizeof buf) || stream.gcount() > 0) {
      bytes.append(buf, static_cast<std::size_t>(stream.gcount()));
      if (bytes.size() > kUploadLimit) break;
    }
    if (!name.empty() && r_.files.size() < 4) r_.files[name] = Upload{filename, bytes};
  }

 private:
  HttpRequest& r_;
};

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(Console& c, bool secure) : c_(c), secure_(secure) {}
  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    HttpRequest r;
    HttpResponse res;
    r.method = in.getMethod();
    r.secure = secure_;
    r.peer = in.clientAddress().host().toString();
    bool ok = true;
    try {
      Poco::URI uri(in.getURI());
      r.path = uri.getPath();
      for (const auto& [k, v] : uri.getQueryParameters()) {
        if (r.query.size() < 32) r.query.emplace(k, v);
      }
      Poco::Net::NameValueCollection cookies;
      in.getCookies(cookies);
      for (const auto& [k, v] : cookies) r.cookies.emplace(k, v);
      for (const auto& [k, v] : in) {
        std::string lk = k;
        for (auto& ch : lk) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[lk] = v;
      }
      if (r.method == "POST") ok = readBody(in, r);
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok) {
      res.status = 400;
      res.content_type = "text/plain; charset=utf-8";
      res.body = "400 bad request (too large or malformed)\n";
    } else {
      res = c_.handle(r);
    }
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(res.status));
    out.setContentType(res.content_type);
    out.set("Content-Security-Policy",
            "default-src 'self'; script-src 'none'; object-src 'none'; img-src 'self' data:; "
            "style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    out.set("X-Frame-Options", "DENY");
    out.set("X-Content-Type-Options", "nosniff");
    out.set("Referrer-Policy", "no-referrer");
    out.set("Cross-Origin-Opener-Policy", "same-origin");
    if (secure_) out.set("Strict-Transport-Security", "max-age=31536000");
    bool cache_set = false;
    for (const auto& [k, v] : res.headers) {
      if (k == "Set-Cookie") {
        out.add(k, v);
      } else {
        out.set(k, v);
      }
      cache_set |= k == "Cache-Control";
    }
    if (!cache_set) out.set("Cache-Control", "no-store");
    out.setContentLength(static_cast<std::streamsize>(res.body.size()));
    auto& os = out.send();
    if (r.method != "HEAD") os.write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
  }

 private:
  static bool readBody(Poco::Net::HTTPServerRequest& in, HttpRequest& r) {
    const std::string type = in.getContentType();
    const bool multipart = type.rfind("multipart/form-data", 0) == 0;
    const std::size_t limit = multipart ? kUploadLimit + 64 * 1024 : kFormLimit;
    if (in.hasContentLength() && static_cast<std::size_t>(in.getContentLength64()) > limit) {
      return false;
    }
    std::string body;
    char buf[8192];
    auto& is = in.stream();
    while (is.read(buf, sizeof buf) || is.gcount() > 0) {
      body.append(buf, static_cast<std::size_t>(is.gcount()));
      if (body.size() > limit) return false;
    }
    std::istringstream bs(body);
    Poco::Net::HTMLForm form;
    form.setFieldLimit(200);
    Uploads uploads(r);
    if (multipart) {
      form.load(in, bs, uploads);
    } else {
      form.load(in, bs);
    }
    for (const auto& [k, v] : form) r.form.emplace(k, v);
    return true;
  }

  Console& c_;
  bool secure_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(Console& c, bool secure) : c_(c), secure_(secure) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(c_, secure_);
  }

 private:
  Console& c_;
  bool secure_;
};

}  // namespace

bool isLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress a;
  if (!Poco::Net::IPAddress::tryParse(host, a)) return false;
  return a.isLoopback();
}

struct Server::Impl {
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::uint16_t port = 0;
};

std::unique_ptr<Server> Server::start(Console& console, const std::string& listen,
                                      const std::string& cert, const std::string& key,
                                      std::string* error) {
  auto fail = [&](const std::string& m) -> std::unique_ptr<Server> {
    if (error) *error = m;
    return nullptr;
  };
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("--listen needs HOST:PORT, not '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const bool tls = !cert.empty() || !key.empty();
  if (tls && (cert.empty() || key.empty())) {
    return fail("HTTPS needs both tls_cert_file and tls_key_file / HTTPS には証明書と鍵の両方が必要です");
  }
  if (!tls && !isLoopbackHost(host)) {
    return fail("plain HTTP is only served on a loopback address; give tls_cert_file and "
                "tls_key_file in the config to listen on " + host +
                " / 暗号化なしの HTTP はループバックアドレスでのみ待ち受けます。" + host +
                " で待ち受けるには設定に tls_cert_file と tls_key_file を指定してください");
  }
  auto s = std::unique_ptr<Server>(new Server);
  s->impl_ = std::make_unique<Impl>();
  try {
    Poco::Net::SocketAddress addr(listen);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(16);
    params->setMaxQueued(100);
    params->setTimeout(Poco::Timespan(30, 0));
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(100);
    if (tls) {
      Poco::Net::initializeSSL();
      Poco::Net::Context::Params p;
      p.privateKeyFile = key;
      p.certificateFile = cert;
      p.verificationMode = Poco::Net::Context::VERIFY_NONE;
      p.cipherList = "HIGH:!aNULL:!MD5:!RC4:!3DES";
      Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, p);
      ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
      Poco::Net::SecureServerSocket socket(addr, 64, ctx);
      s->impl_->port = socket.address().port();
      s->impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(console, true), socket, params);
    } else {
      Poco::Net::ServerSocket socket(addr, 64);
      s->impl_->port = socket.address().port();
      s->impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(console, false), socket, params);
    }
    s->impl_->server->start();
  } catch (const Poco::Exception& e) {
    return fail("cannot listen on " + listen + ": " + e.displayText());
  }
  return s;
}

Server::~Server() { stop(); }

std::uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (impl_ && impl_->server) {
    impl_->server->stopAll(true);
    impl_->server.reset();
  }
}

}  // namespace mugai::console
