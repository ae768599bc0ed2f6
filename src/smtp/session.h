/**
 * @file session.h
 * @brief The ESMTP server state machine, without sockets: feed bytes in, get reply bytes out.
 *
 * Trust: every byte fed in is hostile. The XFORWARD values are trusted only when the settings say
 *        the client is a configured host (and then only for logging and the next hop).
 * Limits: command line length, recipients per transaction, message size (552 after reading to
 *         the end of data, never more memory than the limit), protocol errors per session.
 * Errors: protocol errors become SMTP replies; nothing throws to the caller.
 *
 * Smuggling: DATA ends only at <CRLF>.<CRLF> (a "." line whose previous line ended in CRLF). A bare
 * LF or a bare CR anywhere in DATA taints the transaction: the data is read on to the real end,
 * nothing is delivered, the reply is "521 5.5.2 ... bare <LF> or <CR> received" and the session is
 * closed (Postfix smtpd_forbid_bare_newline). A command line ending in a bare LF is answered the
 * same way. So no byte sequence can make one DATA yield a second message.
 *
 * Pipelining: feed() handles every complete command in its input in order; the caller writes the
 * replies out before it reads again (RFC 2920). After STARTTLS, unread plaintext is discarded.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::smtp {

struct SessionLimits {
  std::uint64_t message_size = 10240000;  ///< message_size_limit
  std::uint64_t line_length = 2048;       ///< smtp_line_length_limit (commands, with CRLF)
  std::uint64_t recipients = 1000;        ///< smtp_recipient_limit
  std::uint64_t errors = 20;              ///< smtp_error_limit
};

struct SessionSettings {
  std::string hostname = "localhost";  ///< our name in the greeting and EHLO reply
  SessionLimits limits;
  bool tls_available = false;     ///< offer STARTTLS (a certificate is configured)
  bool xforward_allowed = false;  ///< the client is a configured XFORWARD host
};

/// Postfix XFORWARD attributes (XFORWARD_README); "[UNAVAILABLE]" values are kept as given.
struct XForward {
  std::string name, addr, port, proto, helo, ident, source;
  bool any() const { return !(name + addr + port + proto + helo + ident + source).empty(); }
};

/// One complete transaction handed to the Deliverer at the end of DATA.
struct Transaction {
  std::string sender;
  std::vector<std::string> recipients;
  std::string data;  ///< the message: CRLF lines, dot-unstuffed, without the final "."
  std::string helo, client_name, client_addr;
  XForward xforward;
  bool tls = false;
};

/// An SMTP reply: code and text (text starts with the enhanced status code, e.g. "2.0.0 Ok").
struct Reply {
  int code = 451;
  std::string text = "4.3.0 Error: temporary failure";
};

/// A transaction or connection refused before a message reached the Deliverer: bare LF or CR in
/// DATA (521), too big (552), too many recipients (452), too many errors (421), a timeout (421),
/// the connection cap (421), a failed STARTTLS handshake (no reply: code 0).
struct Refusal {
  Reply reply;
  std::string why;          ///< one word for the log: bare_newline, message_too_big, ...
  bool has_sender = false;  ///< MAIL was given: sender and recipients mean something
  std::uint64_t size = 0;   ///< bytes of DATA read (or the declared SIZE), 0 when none
  std::string detail;       ///< more for the log (a TLS error), already escaped; may be empty
};

/// Receives each accepted message; returns the reply to the end of DATA. Runs on the session
/// thread and may block (sanitizing, relaying).
class Deliverer {
 public:
  virtual ~Deliverer() = default;
  virtual Reply deliver(Transaction& transaction) = 0;
  /// Told of each refusal (for the log); `transaction` has the session facts (client, helo, tls)
  /// and, when `refusal.has_sender`, the envelope; never the data.
  virtual void refused(const Transaction& /*transaction*/, const Refusal& /*refusal*/) {}
};

class Session {
 public:
  Session(SessionSettings settings, Deliverer& deliverer, std::string client_addr,
          std::string client_name = "");

  /// The 220 banner to send first.
  std::string greeting() const;
  /// Handles `bytes` from the client; appends the replies to `out` (CRLF-terminated lines).
  void feed(std::string_view bytes, std::string& out);

  bool inData() const { return state_ == State::kData; }
  /// No transaction started (MAIL not given): a draining server may close here.
  bool idle() const { return state_ == State::kIdle || state_ == State::kGreeted; }
  /// The session is over: send `out`, then close.
  bool closing() const { return closing_; }
  /// STARTTLS was accepted: send `out`, do the TLS handshake, then call tlsStarted().
  bool startTlsPending() const { return tls_pending_; }
  void tlsStarted();

  std::string timeoutReply() const;   ///< 421 for a command or data timeout (or too slow)
  std::string sessionDeadlineReply() const;  ///< 421 when the whole session took too long
  /// Tells the Deliverer of a refusal decided outside the session (a timeout, a failed TLS
  /// handshake), with the session's client, helo and envelope so far.
  void noteRefusal(const Reply& reply, std::string why, std::string detail = "");
  std::string shutdownReply() const;  ///< 421 when the server stops
  std::uint64_t messagesDelivered() const { return delivered_; }

 private:
  enum class State { kIdle, kGreeted, kMail, kRcpt, kData };
  enum class DataFault { kNone, kBareNewline, kTooBig };

  void processCommands(std::string& out);
  void processLine(std::string_view line, std::string& out);
  void consumeData(std::string& out);
  void dataLine(std::string_view content, bool crlf, std::string& out);
  void appendData(std::string_view piece);
  void endData(std::string& out);
  void resetTransaction();

  void cmdEhlo(std::string_view arg, bool extended, std::string& out);
  void cmdMail(std::string_view arg, std::string& out);
  void cmdRcpt(std::string_view arg, std::string& out);
  void cmdData(std::string_view arg, std::string& out);
  void cmdStartTls(std::string_view arg, std::string& out);
  void cmdXforward(std::string_view arg, std::string& out);

  void reply(std::string& out, int code, std::string_view text);
  void error(std::string& out, int code, std::string_view text);
  bool inTransaction() const;  ///< MAIL was given
  /// Tells the Deliverer of a refusal (one log line per refused transaction or connection).
  void tellRefused(const Reply& r, std::string why, bool has_sender, std::uint64_t size,
                   std::string detail = "");
  /// Sends `r` and tells the Deliverer why.
  void refuse(std::string& out, const Reply& r, std::string why, bool has_sender,
              std::uint64_t size = 0);

  SessionSettings settings_;
  Deliverer& deliverer_;
  State state_ = State::kIdle;
  std::string in_;        ///< unprocessed input
  std::size_t pos_ = 0;   ///< first unprocessed byte of in_
  bool discard_line_ = false;  ///< skipping the rest of an over-long command line
  bool discard_cr_ = false;    ///< the last byte skipped was a CR (the LF after it is no bare LF)
  bool closing_ = false, tls_pending_ = false, tls_active_ = false;
  std::uint64_t errors_ = 0, delivered_ = 0;
  bool recipients_refused_ = false;  ///< the 452 for too many recipients was logged

  std::string helo_, client_addr_, client_name_;
  XForward xforward_;
  Transaction txn_;
  DataFault fault_ = DataFault::kNone;
  bool prev_crlf_ = true;   ///< the previous DATA line ended in CRLF
  bool mid_line_ = false;   ///< part of the current DATA line was already consumed
  std::uint64_t data_bytes_ = 0;
};

/// Parses "<addr> PARAM=V ..." after "FROM:"/"TO:". Returns false on syntax errors.
bool parsePath(std::string_view arg, std::string& address, std::vector<std::string>& params);

}  // namespace mugai::smtp
