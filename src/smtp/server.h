/**
 * @file server.h
 * @brief The SMTP listener: Poco TCPServer with explicit params, a connection filter that answers
 *        421 when the connection cap is reached, one Session per connection, and draining.
 *
 * Trust: every connection is hostile; XFORWARD is allowed only from the configured addresses.
 * Limits: smtp_connection_limit sessions (TCPServerParams maxThreads = maxQueued = the cap, so Poco
 *         never drops silently), smtp_client_connection_limit of them per client address (except
 *         client_limit_exceptions), each refused with 421 before a thread is spent and with a log
 *         line naming who holds the slots (at most one every 10 s); per-request, data-rate and
 *         whole-session deadlines (deadlines.h; a reaper thread ends a TLS handshake trickled in
 *         past them, as Poco times each read only), the command wait shortened to
 *         smtp_stress_timeout_s while three quarters of the slots are taken; session limits from
 *         the current engine.
 * Errors: socket and TLS errors end that session only.
 */
#pragma once

#include <Poco/Net/Context.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/smtp/deadlines.h"
#include "src/smtp/session.h"

namespace mugai::smtp {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 10025;  ///< 0: any free port (tests)
  std::size_t connection_limit = 100;
  std::size_t client_connection_limit = 20;  ///< per client address
  std::vector<std::string> client_limit_exceptions;  ///< addresses not counted per client
  TimeLimits time;
  std::vector<std::string> xforward_hosts;
  Poco::Net::Context::Ptr tls_context;  ///< server context; null: no STARTTLS
  /// Settings for a new session (hostname, limits of the current engine).
  std::function<SessionSettings()> settings;
};

/// File descriptors `mugai serve` may need at once: 2 per session (client, next hop), per worker
/// one per nesting level the scanner may open plus a few, one per queued message (reserve), and
/// 64 for the process (listener, logs, signature databases, stdio).
std::size_t descriptorBudget(std::size_t connection_limit, std::size_t workers, std::size_t nesting,
                             std::size_t queue_limit);
/// Raises the soft RLIMIT_NOFILE towards the hard one when `needed` is above it; false (with
/// `why`) when even the hard limit is too small.
bool ensureDescriptors(std::size_t needed, std::string& why);

class Server {
 public:
  Server(ServerOptions options, Deliverer& deliverer);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds (SO_REUSEADDR, not SO_REUSEPORT: a port in use is an error) and starts accepting.
  /// Throws Poco::Exception when the address cannot be bound (code() is the errno).
  void start();
  std::uint16_t port() const;
  /// Stops accepting, asks idle sessions to close (421), waits for transactions in flight.
  /// Returns false when sessions were still open after `max_wait_s`.
  bool drain(int max_wait_s);
  std::size_t activeSessions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mugai::smtp
