// The event sink: one thread, a bounded queue, one socket (reopened after an error).
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "mugai/obs/event.h"

namespace mugai::obs {

bool parseSinkTarget(const std::string& text, SinkTarget& out, std::string* why) {
  auto fail = [&](const std::string& s) {
    if (why) *why = s;
    return false;
  };
  SinkTarget t;
  if (text.rfind("unix:", 0) == 0) {
    t.kind = SinkTarget::Kind::Unix;
    t.path = text.substr(5);
    if (t.path.empty() || t.path[0] != '/') return fail("unix: needs an absolute socket path");
    if (t.path.size() >= sizeof(sockaddr_un{}.sun_path)) return fail("the socket path is too long");
    out = t;
    return true;
  }
  bool udp = text.rfind("udp:", 0) == 0, tcp = text.rfind("tcp:", 0) == 0;
  if (!udp && !tcp) return fail("expected unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT");
  t.kind = udp ? SinkTarget::Kind::Udp : SinkTarget::Kind::Tcp;
  std::string rest = text.substr(4);
  std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return fail("expected HOST:PORT after udp: or tcp:");
  t.host = rest.substr(0, colon);
  if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']') {
    t.host = t.host.substr(1, t.host.size() - 2);
  }
  std::string p = rest.substr(colon + 1);
  unsigned v = 0;
  auto r = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || r.ptr != p.data() + p.size() || v == 0 || v > 65535) {
    return fail("the port '" + p + "' is not a number from 1 to 65535");
  }
  t.port = static_cast<std::uint16_t>(v);
  out = t;
  return true;
}

EventSink::EventSink(SinkTarget target) : target_(std::move(target)) {
  thread_ = std::thread([this] { run(); });
}

EventSink::~EventSink() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  closeSocket();
}

void EventSink::send(std::string line) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (queue_.size() >= kQueueLimit) {
      dropped_.fetch_add(1);
      return;
    }
    queue_.push_back(std::move(line));
  }
  cv_.notify_one();
}

void EventSink::run() {
  auto stop_by = std::chrono::steady_clock::time_point::max();
  for (;;) {
    std::string line;
    {
      std::unique_lock<std::mutex> lock(m_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (stopping_ && stop_by == std::chrono::steady_clock::time_point::max()) {
        stop_by = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      }
      if (std::chrono::steady_clock::now() > stop_by) {
        dropped_.fetch_add(queue_.size());
        queue_.clear();
        return;
      }
      line = std::move(queue_.front());
      queue_.pop_front();
    }
    if (deliver(line)) {
      sent_.fetch_add(1);
    } else {
      failed_.fetch_add(1);
    }
  }
}

void EventSink::closeSocket() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

namespace {

/// A connected socket for the target, with a 2 s send timeout; -1 on failure.
int openSocket(const SinkTarget& t) {
  if (t.kind == SinkTarget::Kind::Unix) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{2, 0};  // a reader that stopped reading must not hold the sender (and stop) forever
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, t.path.c_str(), t.path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_socktype = t.kind == SinkTarget::Kind::Udp ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(t.host.c_str(), std::to_string(t.port).c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

bool sendAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

bool EventSink::deliver(const std::string& line) {
  // TCP: RFC 6587 octet counting ("LEN SP MSG"); datagrams carry the message alone.
  const std::string data =
      target_.kind == SinkTarget::Kind::Tcp ? std::to_string(line.size()) + " " + line : line;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0) fd_ = openSocket(target_);
    if (fd_ < 0) return false;
    bool ok = target_.kind == SinkTarget::Kind::Tcp
                  ? sendAll(fd_, data)
                  : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
                        static_cast<ssize_t>(data.size());
    if (ok) return true;
    closeSocket();  // the collector restarted, or the socket was replaced: once more, afresh
  }
  return false;
}

}  // namespace mugai::obs
