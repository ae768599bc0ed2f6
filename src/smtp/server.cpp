#include "src/smtp/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "src/smtp/gateway.h"
#include "src/smtp/relay_client.h"

namespace mugai::smtp {
namespace {

struct Shared {
  ServerOptions options;
  Deliverer& deliverer;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> draining{false};
};

void sendQuietly(Poco::Net::StreamSocket& s, const std::string& text) {
  try {
    s.setSendTimeout(Poco::Timespan(2, 0));
    s.sendBytes(text.data(), static_cast<int>(text.size()));
  } catch (const Poco::Exception&) {
  }
}

class Connection : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& s, Shared& shared)
      : TCPServerConnection(s), shared_(shared) {}
  ~Connection() override { --shared_.active; }

  void run() override {
    try {
      serve();
    } catch (const Poco::Exception& e) {
      logLine("session error: " + logSafe(e.displayText()));
    } catch (const std::exception& e) {
      logLine("session error: " + logSafe(e.what()));
    }
  }

 private:
  bool writeAll(Poco::Net::StreamSocket& s, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      int n = s.sendBytes(data.data() + off, static_cast<int>(data.size() - off));
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  void serve() {
    Poco::Net::StreamSocket sock = socket();
    sock.setNoDelay(true);
    sock.setSendTimeout(Poco::Timespan(shared_.options.command_timeout_s, 0));
    std::string peer = sock.peerAddress().host().toString();
    SessionSettings st = shared_.options.settings();
    const auto& xf = shared_.options.xforward_hosts;
    st.xforward_allowed = std::find(xf.begin(), xf.end(), peer) != xf.end();
    st.tls_available = !shared_.options.tls_context.isNull();
    Session session(st, shared_.deliverer, peer);
    if (!writeAll(sock, session.greeting())) return;
    std::string buf(16384, '\0'), out;
    auto last = std::chrono::steady_clock::now();
    while (!session.closing()) {
      if (shared_.draining && session.idle()) {
        writeAll(sock, session.shutdownReply());
        return;
      }
      int limit = session.inData() ? shared_.options.data_timeout_s : shared_.options.command_timeout_s;
      if (sock.available() <= 0 && !sock.poll(Poco::Timespan(0, 250000), Poco::Net::Socket::SELECT_READ)) {
        if (std::chrono::steady_clock::now() - last > std::chrono::seconds(limit)) {
          std::string line = session.timeoutReply();
          writeAll(sock, line);
          session.noteRefusal(Reply{421, line.substr(4, line.size() - 6)},
                              session.inData() ? "data_timeout" : "command_timeout");
          return;
        }
        continue;
      }
      int n = sock.receiveBytes(buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) return;
      last = std::chrono::steady_clock::now();
      out.clear();
      session.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), out);
      if (!out.empty() && !writeAll(sock, out)) return;
      if (session.startTlsPending()) {
        sock.setReceiveTimeout(Poco::Timespan(shared_.options.command_timeout_s, 0));
        try {
          Poco::Net::SecureStreamSocket tls =
              Poco::Net::SecureStreamSocket::attach(sock, shared_.options.tls_context);
          tls.completeHandshake();
          sock = tls;
        } catch (const Poco::Exception& e) {
          session.noteRefusal(Reply{0, ""}, "starttls_failed", logSafe(e.displayText()));
          return;
        }
        session.tlsStarted();
        last = std::chrono::steady_clock::now();
      }
    }
  }

  Shared& shared_;
};

class Factory : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit Factory(Shared& shared) : shared_(shared) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& s) override {
    return new Connection(s, shared_);
  }

 private:
  Shared& shared_;
};

/// Counts sessions before a thread is spent; over the cap, or draining: 421 and close.
class Filter : public Poco::Net::TCPServerConnectionFilter {
 public:
  explicit Filter(Shared& shared) : shared_(shared) {}
  bool accept(const Poco::Net::StreamSocket& s) override {
    Poco::Net::StreamSocket sock(s);
    if (shared_.draining) {
      refuse(sock, Reply{421, "4.3.2 Service shutting down, try again later"}, "shutting_down");
      return false;
    }
    if (shared_.active.fetch_add(1) >= shared_.options.connection_limit) {
      --shared_.active;
      refuse(sock, Reply{421, "4.3.2 Too many connections, try again later"}, "connection_limit");
      return false;
    }
    return true;
  }

 private:
  void refuse(Poco::Net::StreamSocket& sock, const Reply& r, const char* why) {
    sendQuietly(sock, std::to_string(r.code) + " " + r.text + "\r\n");
    Transaction t;
    try {
      t.client_addr = sock.peerAddress().host().toString();
    } catch (const Poco::Exception&) {
      t.client_addr = "unknown";
    }
    shared_.deliverer.refused(t, Refusal{r, why});
  }

  Shared& shared_;
};

}  // namespace

std::size_t descriptorBudget(std::size_t connection_limit, std::size_t workers, std::size_t nesting,
                             std::size_t queue_limit) {
  return 2 * connection_limit + workers * (nesting + 4) + queue_limit + 64;
}

bool ensureDescriptors(std::size_t needed, std::string& why) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return true;  // unknown: let the kernel decide
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= needed) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(needed + 1)
                                                   : std::min<rlim_t>(rl.rlim_max, needed + 1);
    if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > needed) return true;
  why = "the file-descriptor limit (RLIMIT_NOFILE " + std::to_string(rl.rlim_cur) +
        ", hard " + (rl.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(rl.rlim_max)) +
        ") is below the " + std::to_string(needed) +
        " this configuration may need (2 x smtp_connection_limit + worker_threads x (scan_max_recursion + 4)"
        " + worker_queue_limit + 64): raise LimitNOFILE / ulimit -n, or lower smtp_connection_limit or"
        " worker_threads";
  return false;
}

struct Server::Impl {
  Impl(ServerOptions o, Deliverer& d) : shared{std::move(o), d} {}
  Shared shared;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::TCPServer> server;
};

Server::Server(ServerOptions options, Deliverer& deliverer)
    : impl_(std::make_unique<Impl>(std::move(options), deliverer)) {}

Server::~Server() {
  if (impl_->server) {
    drain(5);
    impl_->server.reset();
  }
  if (impl_->pool) impl_->pool->joinAll();
}

void Server::start() {
  const auto& o = impl_->shared.options;
  Poco::Net::ServerSocket socket;
  // SO_REUSEADDR (restart while old connections are in TIME_WAIT) but never SO_REUSEPORT: with it
  // a second `mugai serve` on the same port would start too, and the kernel would share the
  // connections between the two.
  socket.bind(Poco::Net::SocketAddress(o.host, o.port), true, false);
  socket.listen(128);
  auto limit = static_cast<int>(std::max<std::size_t>(o.connection_limit, 1));
  auto* params = new Poco::Net::TCPServerParams;
  params->setMaxThreads(limit);
  params->setMaxQueued(limit);
  params->setThreadIdleTime(Poco::Timespan(60, 0));
  impl_->pool = std::make_unique<Poco::ThreadPool>(2, limit + 2, 60);
  impl_->server = std::make_unique<Poco::Net::TCPServer>(new Factory(impl_->shared), *impl_->pool,
                                                         socket, params);
  impl_->server->setConnectionFilter(new Filter(impl_->shared));
  impl_->server->start();
}

std::uint16_t Server::port() const { return impl_->server ? impl_->server->port() : 0; }

std::size_t Server::activeSessions() const { return impl_->shared.active; }

bool Server::drain(int max_wait_s) {
  impl_->shared.draining = true;
  if (impl_->server) impl_->server->stop();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(max_wait_s);
  while (impl_->shared.active > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return impl_->shared.active == 0;
}

}  // namespace mugai::smtp
