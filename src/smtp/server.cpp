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
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "src/smtp/gateway.h"
#include "src/smtp/relay_client.h"

namespace mugai::smtp {
namespace {

using Clock = std::chrono::steady_clock;

/// One admitted session, as the slot log shows it.
struct Slot {
  std::string addr;
  Clock::time_point since = Clock::now();
  std::atomic<int> phase{0};  ///< 0 commands, 1 in a transaction, 2 in DATA
  /// Armed around a call that blocks on the client with only per-read timeouts (the TLS
  /// handshake): past it, the reaper shuts the socket down and the call fails.
  std::atomic<Clock::rep> hard_deadline{0};  ///< 0: not armed
  std::atomic<int> fd{-1};
  std::atomic<bool> reaped{false};
};

/// Who holds the session slots: the total, the count per client address, and the live sessions
/// (for the log line when a limit is reached). Counted in the accept thread (the filter), before a
/// thread is spent; released when the connection object goes.
class Slots {
 public:
  enum class Admit { kOk, kFull, kClientFull };

  Admit admit(int fd, const std::string& addr, bool exempt, std::size_t limit,
              std::size_t client_limit) {
    std::lock_guard<std::mutex> lock(m_);
    if (total_ >= limit) return Admit::kFull;
    std::size_t& mine = per_client_[addr];
    if (!exempt && mine >= client_limit) {
      if (mine == 0) per_client_.erase(addr);
      return Admit::kClientFull;
    }
    ++mine;
    ++total_;
    pending_[fd] = addr;
    return Admit::kOk;
  }
  /// The address admit() counted for this socket (the connection takes it over).
  std::string claim(int fd) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = pending_.find(fd);
    if (it == pending_.end()) return "";
    std::string addr = std::move(it->second);
    pending_.erase(it);
    return addr;
  }
  void attach(Slot* s) {
    std::lock_guard<std::mutex> lock(m_);
    live_.insert(s);
  }
  void release(Slot* s) {
    std::lock_guard<std::mutex> lock(m_);
    live_.erase(s);
    auto it = per_client_.find(s->addr);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    if (total_ > 0) --total_;
  }
  std::size_t total() const {
    std::lock_guard<std::mutex> lock(m_);
    return total_;
  }
  /// Shuts down the sockets of sessions blocked past their armed hard deadline.
  void reap(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(m_);
    for (Slot* s : live_) {
      Clock::rep d = s->hard_deadline.load();
      if (d != 0 && now.time_since_epoch().count() >= d && s->fd >= 0) {
        s->reaped = true;
        s->hard_deadline = 0;
        ::shutdown(s->fd, SHUT_RDWR);
      }
    }
  }
  /// "N of LIMIT slots in use by M clients: ADDR=n (oldest Ss, d in DATA) ..." for the ten
  /// clients holding most; null when such a line was written less than 10 s ago.
  std::optional<std::string> holders(std::size_t limit) {
    std::lock_guard<std::mutex> lock(m_);
    auto now = Clock::now();
    if (logged_ && now - *logged_ < std::chrono::seconds(10)) return std::nullopt;
    logged_ = now;
    struct Held {
      std::size_t n = 0, data = 0, transaction = 0;
      Clock::time_point oldest = Clock::time_point::max();
    };
    // The count per client is what admission counted (the sessions still waiting for a thread
    // included: counting only the live ones showed a client at its limit with fewer slots); the
    // phases and the oldest come from the live sessions.
    std::map<std::string, Held> by;
    for (const auto& [addr, n] : per_client_) by[addr].n = n;
    for (const Slot* s : live_) {
      Held& h = by[s->addr];
      int phase = s->phase.load();
      h.data += phase == 2;
      h.transaction += phase == 1;
      h.oldest = std::min(h.oldest, s->since);
    }
    std::vector<std::pair<std::string, Held>> rows(by.begin(), by.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.n > b.second.n; });
    std::string line = std::to_string(total_) + " of " + std::to_string(limit) +
                       " slots in use by " + std::to_string(rows.size()) + " clients:";
    for (std::size_t i = 0; i < rows.size() && i < 10; ++i) {
      const Held& h = rows[i].second;
      auto age = h.oldest == Clock::time_point::max()
                     ? 0
                     : std::chrono::duration_cast<std::chrono::seconds>(now - h.oldest).count();
      line += " " + logSafe(rows[i].first, 64) + "=" + std::to_string(h.n) + " (oldest " +
              std::to_string(age) + "s, " + std::to_string(h.transaction) + " in a transaction, " +
              std::to_string(h.data) + " in DATA)";
    }
    if (rows.size() > 10) line += " ...";
    std::size_t queued = total_ - std::min(total_, live_.size());
    if (queued) line += ", " + std::to_string(queued) + " accepted and waiting for a thread";
    return line;
  }

 private:
  mutable std::mutex m_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_client_;
  std::map<int, std::string> pending_;
  std::set<Slot*> live_;
  std::optional<Clock::time_point> logged_;
};

struct Shared {
  ServerOptions options;
  Deliverer& deliverer;
  Slots slots;
  std::atomic<bool> draining{false};
  /// Three quarters or more of the slots taken: the command wait is the stress timeout.
  bool stressed() const { return slots.total() * 4 >= options.connection_limit * 3; }
};

void sendQuietly(Poco::Net::StreamSocket& s, const std::string& text) {
  try {
    s.setSendTimeout(Poco::Timespan(2, 0));
    s.sendBytes(text.data(), static_cast<int>(text.size()));
  } catch (const Poco::Exception&) {
  }
}

Poco::Timespan timespan(std::chrono::milliseconds d) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(d.count()) * 1000);
}

class Connection : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& s, Shared& shared)
      : TCPServerConnection(s), shared_(shared) {
    slot_.addr = shared_.slots.claim(s.impl()->sockfd());
    shared_.slots.attach(&slot_);
  }
  ~Connection() override { shared_.slots.release(&slot_); }

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

  /// Sends the 421 for a passed deadline and logs it; the session ends.
  void expire(Poco::Net::StreamSocket& sock, Session& session, SessionDeadlines::Expired e) {
    std::string line = e == SessionDeadlines::Expired::kSession ? session.sessionDeadlineReply()
                                                                : session.timeoutReply();
    try {
      writeAll(sock, line);
    } catch (const Poco::Exception&) {
    }
    session.noteRefusal(Reply{421, line.substr(4, line.size() - 6)}, SessionDeadlines::why(e));
  }

  void serve() {
    Poco::Net::StreamSocket sock = socket();
    const TimeLimits& tl = shared_.options.time;
    sock.setNoDelay(true);
    sock.setSendTimeout(timespan(tl.command));
    std::string peer = sock.peerAddress().host().toString();
    SessionSettings st = shared_.options.settings();
    const auto& xf = shared_.options.xforward_hosts;
    st.xforward_allowed = std::find(xf.begin(), xf.end(), peer) != xf.end();
    st.tls_available = !shared_.options.tls_context.isNull();
    Session session(st, shared_.deliverer, peer);
    // The session deadline counts from the accept, the wait for a thread included.
    SessionDeadlines deadlines(tl, slot_.since);
    if (!writeAll(sock, session.greeting())) return;
    deadlines.requestStarted(Clock::now(), false);
    std::string buf(16384, '\0'), out;
    while (!session.closing()) {
      if (shared_.draining && session.idle()) {
        writeAll(sock, session.shutdownReply());
        return;
      }
      slot_.phase = session.inData() ? 2 : session.idle() ? 0 : 1;
      // Checked on every turn, not only after silence: a client that trickles bytes is never
      // silent for long, and still may not keep its slot.
      if (auto e = deadlines.expired(Clock::now(), shared_.stressed());
          e != SessionDeadlines::Expired::kNone) {
        return expire(sock, session, e);
      }
      if (sock.available() <= 0 && !sock.poll(Poco::Timespan(0, 250000), Poco::Net::Socket::SELECT_READ)) {
        continue;
      }
      int n = sock.receiveBytes(buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) return;
      deadlines.received(Clock::now(), static_cast<std::size_t>(n), session.inData());
      out.clear();
      session.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), out);
      if (!out.empty()) {
        if (!writeAll(sock, out)) return;
        deadlines.requestStarted(Clock::now(), session.inData());
      }
      if (session.startTlsPending()) {
        // Poco's handshake times each read, not the whole handshake: the reaper ends one that
        // is trickled in past the command wait (or the session deadline).
        sock.setReceiveTimeout(timespan(tl.command));
        auto now = Clock::now();
        auto limit = shared_.stressed() ? std::min(tl.command, tl.stress) : tl.command;
        slot_.fd = sock.impl()->sockfd();
        slot_.hard_deadline =
            std::min(now + limit, slot_.since + tl.session).time_since_epoch().count();
        try {
          Poco::Net::SecureStreamSocket tls =
              Poco::Net::SecureStreamSocket::attach(sock, shared_.options.tls_context);
          tls.completeHandshake();
          slot_.hard_deadline = 0;
          sock = tls;
        } catch (const Poco::Exception& e) {
          slot_.hard_deadline = 0;
          if (slot_.reaped) {
            session.noteRefusal(Reply{0, ""}, "starttls_timeout");
          } else {
            session.noteRefusal(Reply{0, ""}, "starttls_failed", logSafe(e.displayText()));
          }
          return;
        }
        if (slot_.reaped) return;  // cut just as the handshake ended
        session.tlsStarted();
        deadlines.requestStarted(Clock::now(), false);
      }
    }
  }

  Shared& shared_;
  Slot slot_;
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

/// Counts sessions before a thread is spent; over the cap, over the client's share, or draining:
/// 421 and close. Reaching a cap also logs who holds the slots.
class Filter : public Poco::Net::TCPServerConnectionFilter {
 public:
  explicit Filter(Shared& shared) : shared_(shared) {}
  bool accept(const Poco::Net::StreamSocket& s) override {
    Poco::Net::StreamSocket sock(s);
    std::string addr;
    try {
      addr = sock.peerAddress().host().toString();
    } catch (const Poco::Exception&) {
      return false;  // the client is gone already
    }
    if (shared_.draining) {
      refuse(sock, addr, Reply{421, "4.3.2 Service shutting down, try again later"}, "shutting_down");
      return false;
    }
    const ServerOptions& o = shared_.options;
    const auto& ex = o.client_limit_exceptions;
    bool exempt = std::find(ex.begin(), ex.end(), addr) != ex.end();
    switch (shared_.slots.admit(sock.impl()->sockfd(), addr, exempt, o.connection_limit,
                                o.client_connection_limit)) {
      case Slots::Admit::kOk:
        return true;
      case Slots::Admit::kFull:
        refuse(sock, addr, Reply{421, "4.3.2 Too many connections, try again later"},
               "connection_limit");
        break;
      case Slots::Admit::kClientFull:
        refuse(sock, addr, Reply{421, "4.7.0 Error: too many connections from " + addr},
               "client_connection_limit");
        break;
    }
    if (auto held = shared_.slots.holders(o.connection_limit)) {
      logLine("connection limit reached: " + *held);
    }
    return false;
  }

 private:
  void refuse(Poco::Net::StreamSocket& sock, const std::string& addr, const Reply& r,
              const char* why) {
    sendQuietly(sock, std::to_string(r.code) + " " + r.text + "\r\n");
    Transaction t;
    t.client_addr = addr;
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
  ~Impl() { stopReaper(); }
  void startReaper() {
    reaper = std::thread([this] {
      std::unique_lock<std::mutex> lock(reaper_m);
      while (!reaper_stop) {
        reaper_cv.wait_for(lock, std::chrono::milliseconds(250));
        shared.slots.reap(Clock::now());
      }
    });
  }
  void stopReaper() {
    {
      std::lock_guard<std::mutex> lock(reaper_m);
      reaper_stop = true;
    }
    reaper_cv.notify_all();
    if (reaper.joinable()) reaper.join();
  }
  Shared shared;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::TCPServer> server;
  std::thread reaper;
  std::mutex reaper_m;
  std::condition_variable reaper_cv;
  bool reaper_stop = false;
};

Server::Server(ServerOptions options, Deliverer& deliverer)
    : impl_(std::make_unique<Impl>(std::move(options), deliverer)) {}

Server::~Server() {
  if (impl_->server) {
    drain(5);
    impl_->server.reset();
  }
  if (impl_->pool) impl_->pool->joinAll();
  impl_->stopReaper();  // after the sessions: their slots are gone
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
  impl_->startReaper();
}

std::uint16_t Server::port() const { return impl_->server ? impl_->server->port() : 0; }

std::size_t Server::activeSessions() const { return impl_->shared.slots.total(); }

bool Server::drain(int max_wait_s) {
  impl_->shared.draining = true;
  if (impl_->server) impl_->server->stop();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(max_wait_s);
  while (impl_->shared.slots.total() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return impl_->shared.slots.total() == 0;
}

}  // namespace mugai::smtp
