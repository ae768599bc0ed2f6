/**
 * @file relay_client.h
 * @brief Delivers one sanitized message to the next hop: one SMTP transaction, recipients as given.
 *
 * Trust: the next hop's replies are never relayed to our client (Postfix smtpd_proxy.c): only the
 *        class of the answer (2xx, 4xx, 5xx) and a well-formed 5.x.x enhanced code cross over; the
 *        text goes to the log, escaped and cut.
 * Limits: relay_timeout_s for the connect and for each reply; reply lines are length-capped.
 * Errors: never throws. Unreachable, slow, 4xx, protocol errors, or some recipients refused -> a
 *         4xx result (the client keeps the message and retries); 5xx for MAIL, for every
 *         recipient, or for the data -> a 5xx result.
 */
#pragma once

#include <Poco/Net/Context.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/smtp/session.h"

namespace mugai::smtp {

enum class RelayTls { kNone, kMay, kEncrypt };

struct RelayTarget {
  std::string host = "127.0.0.1";
  std::uint16_t port = 10026;
  std::string helo_name = "localhost";
  int timeout_s = 120;
  RelayTls tls = RelayTls::kNone;
  Poco::Net::Context::Ptr tls_context;  ///< client context when tls != kNone
  /// Why tls_context could not be made (relay_tls_ca_file unreadable, ...): nothing is relayed
  /// (4xx) until it is fixed; serve refuses to start with it.
  std::string tls_error;
};

struct ServiceConfig;

/// The next hop as the admin's config names it (next_hop, myhostname, relay_tls and its CA file),
/// with `timeout_s` (the rules' relay_timeout_s): one place for the relay, the release runner in
/// serve and `mugai vault ... --now`.
RelayTarget relayTarget(const ServiceConfig& config, int timeout_s);

struct RelayResult {
  Reply reply;         ///< what our client gets
  std::string detail;  ///< for the log only: the step and the next hop's (escaped) answer
  /// The whole message was sent but no valid answer came (timeout, connection lost): the next hop
  /// may have it although the reply is 4xx.
  bool maybe_delivered = false;
  bool delivered() const { return reply.code >= 200 && reply.code < 300; }
};

RelayResult relayMessage(const RelayTarget& target, const std::string& sender,
                         const std::vector<std::string>& recipients, const XForward& xforward,
                         std::string_view message);

/// Dot-stuffs `message` for DATA with CRLF line ends, ending with "<CRLF>.<CRLF>". Bare CR and LF
/// in the input become CRLF (the engine's output is ours, but the wire form must be exact).
std::string dotStuff(std::string_view message);

/// Untrusted text for a log line (text::logEscape: controls, CR/LF and bidi characters shown as
/// "<U+202E>", invalid bytes as "<0xFF>"), cut at `max` bytes.
std::string logSafe(std::string_view s, std::size_t max = 200);

}  // namespace mugai::smtp
