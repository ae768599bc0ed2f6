/**
 * @file deadlines.h
 * @brief When an SMTP session has waited long enough for its client: per-request deadlines, a
 *        minimum data rate in DATA and a whole-session deadline. No clock and no socket of its
 *        own: the caller says what happened and when (Postfix smtpd_per_request_deadline,
 *        smtpd_min_data_rate, and a cap on the whole session).
 *
 * Trust: the client decides when bytes arrive; nothing it sends can extend the session deadline,
 *        and a request deadline grows with data only at the minimum rate, never past the timeout.
 * Limits: command: a complete request (command line, or the TLS handshake) within
 *         smtp_command_timeout_s of the previous reply — bytes that trickle in do not extend it;
 *         under stress (most slots taken) the shorter smtp_stress_timeout_s applies. DATA: the
 *         deadline starts at smtp_data_timeout_s after the 354 and each N bytes read add
 *         N / smtp_min_data_rate seconds, capped at smtp_data_timeout_s from now (0: a silence
 *         timeout, as before). Session: smtp_session_deadline_s after the connection was accepted.
 * Errors: none; expired() says which limit passed.
 */
#pragma once

#include <chrono>
#include <cstdint>

namespace mugai::smtp {

struct TimeLimits {
  std::chrono::milliseconds command{std::chrono::seconds(300)};   ///< smtp_command_timeout_s
  std::chrono::milliseconds data{std::chrono::seconds(300)};      ///< smtp_data_timeout_s
  std::chrono::milliseconds stress{std::chrono::seconds(10)};     ///< smtp_stress_timeout_s
  std::chrono::milliseconds session{std::chrono::seconds(1800)};  ///< smtp_session_deadline_s
  std::uint64_t min_data_rate = 500;  ///< smtp_min_data_rate, bytes/s; 0: silence timeout only
};

class SessionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Expired {
    kNone,
    kCommand,      ///< no complete request in time, nothing arrived lately (command_timeout)
    kCommandSlow,  ///< bytes arrived, but no complete request in time (command_too_slow)
    kData,         ///< DATA: silent for the data timeout (data_timeout)
    kDataSlow,     ///< DATA: bytes arrive, slower than the minimum rate (data_too_slow)
    kSession,      ///< the whole session took too long (session_deadline)
  };

  SessionDeadlines(TimeLimits limits, Clock::time_point accepted);

  /// A reply was sent and the next request starts: the full time limit again. `data`: the reply
  /// was the 354 and message data follows.
  void requestStarted(Clock::time_point now, bool data);
  /// `n` bytes arrived from the client at `now`; `in_data`: they are message data.
  void received(Clock::time_point now, std::size_t n, bool in_data);
  /// Which limit has passed at `now` (the session deadline first); `stressed`: most slots are
  /// taken, the command wait is the stress timeout.
  Expired expired(Clock::time_point now, bool stressed) const;

  /// The one-word reason for the log.
  static const char* why(Expired e);

 private:
  TimeLimits limits_;
  Clock::time_point session_end_, request_start_, request_end_, last_byte_;
  bool data_ = false;
  bool bytes_in_request_ = false;
};

}  // namespace mugai::smtp
