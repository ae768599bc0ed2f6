/**
 * @file event.h
 * @brief One event per finished message or file, for a SIEM: syslog RFC 5424 with structured
 *        data, or ArcSight CEF (carried as the MSG of an RFC 5424 frame), and the sink that sends
 *        the lines to a Unix datagram socket, UDP (RFC 5426) or TCP (RFC 6587 octet counting).
 *
 * Trust: sender, recipients, client name, HELO and object names are sender-controlled. Every
 *        such value goes through text::logEscape (valid UTF-8; CR, LF, other controls and bidi
 *        marks shown as <U+...>), is cut to kMaxValueBytes, and is then escaped by the format's
 *        own rule (RFC 5424 §6.3.3: \" \\ \]; CEF: header \| \\, extension \\ \=). No value can
 *        end the line, close the SD-ELEMENT or add a CEF key.
 * Limits: at most kMaxListed recipients and objects per event (the rest are counted, not listed),
 *         so one line stays a few KB whatever the message; the sink queues at most kQueueLimit
 *         lines and drops (and counts) beyond that: a slow collector never stalls mail.
 * Errors: format functions never fail; the sink reports send failures through its counters.
 */
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mugai {
struct Report;
}

namespace mugai::obs {

/// A removed or rewritten object (a part, an archive member, an attachment rebuilt).
struct EventObject {
  std::string part;    ///< tree path ("2", "2/3")
  std::string name;    ///< file name as declared (hostile), "" for bodies
  std::string action;  ///< removed | blocked | rebuilt | converted | renamed
  std::string reason;  ///< reason name
  std::string sha256;  ///< of the object's original bytes (hex), "" when not known
};

struct MessageEvent {
  std::string id;
  std::string kind = "mail";  ///< mail | file
  std::int64_t time_us = 0;   ///< unix microseconds; 0: now, when formatted
  // envelope (hostile text)
  std::string sender;
  std::vector<std::string> recipients;
  std::string client_addr, client_name, helo;
  std::string filename;  ///< file drop: the file's name as found
  // outcome
  std::string verdict;               ///< clean | sanitized | blocked | tempfail
  std::string reason;                ///< the main reason name
  std::vector<std::string> reasons;  ///< every reason in the report (no "kept")
  std::vector<EventObject> objects;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  double processing_ms = 0;
  int reply_code = 0;        ///< SMTP reply sent (mail), 0: none
  std::string relay_status;  ///< sent | deferred | bounced | "" (not relayed)
};

/// Verdict, reasons, objects (with their SHA-256 finding) and sizes from a report; the envelope
/// and the reply are the ingress's to fill in.
MessageEvent eventFromReport(const Report& report);

inline constexpr std::size_t kMaxValueBytes = 256;
inline constexpr std::size_t kMaxListed = 32;

/// RFC 5424 facility numbers (mail = 2, local0..7 = 16..23, ...); -1 when unknown.
int facilityCode(const std::string& name);

struct FormatOptions {
  int facility = 2;          ///< mail
  std::string hostname;      ///< this host (our own text; still checked: PRINTUSASCII, max 255)
  std::string app_name = "mugai";
  long procid = 0;           ///< 0: getpid()
};

/// PRI severity for an event: clean 6 (info), sanitized 5 (notice), blocked 4 (warning),
/// tempfail 4, anything else 3.
int severityFor(const MessageEvent& e);

/// `<PRI>1 TIMESTAMP HOST mugai PID KIND [mugai@32473 ...][rcpt@32473 ...][obj@32473 ...] MSG`
/// (no trailing newline). 32473 is the example enterprise number of RFC 5612.
std::string formatRfc5424(const MessageEvent& e, const FormatOptions& o);
/// `CEF:0|mugai|mugai|VERSION|mail.sanitized|mail sanitized|3|rt=... externalId=... ...`
/// Severity: 9 when a virus was found (av.infected), else blocked 7, tempfail 5, sanitized 3,
/// clean 1.
std::string formatCef(const MessageEvent& e, const std::string& version);
/// The RFC 5424 frame around `sd` (structured data; "" is written "-") and `msg`.
std::string wrapRfc5424(const std::string& sd, const std::string& msg, int severity,
                        const std::string& kind, std::int64_t time_us, const FormatOptions& o);

/// Escapes used above (exposed for the tests).
std::string sdParamValue(const std::string& hostile);
std::string cefHeaderValue(const std::string& hostile);
std::string cefExtensionValue(const std::string& hostile, std::size_t max = kMaxValueBytes);

/// Where events go: "unix:/dev/log", "udp:HOST:PORT", "tcp:HOST:PORT".
struct SinkTarget {
  enum class Kind { Unix, Udp, Tcp } kind = Kind::Unix;
  std::string path;  ///< Unix
  std::string host;  ///< Udp, Tcp
  std::uint16_t port = 0;
};
/// False with *why when `text` is not one of the three forms.
bool parseSinkTarget(const std::string& text, SinkTarget& out, std::string* why);

/// Sends lines on its own thread. send() never blocks on the network.
class EventSink {
 public:
  static constexpr std::size_t kQueueLimit = 10000;
  explicit EventSink(SinkTarget target);
  ~EventSink();  ///< sends what is queued (at most a few seconds), then stops
  EventSink(const EventSink&) = delete;
  EventSink& operator=(const EventSink&) = delete;

  void send(std::string line);
  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }  ///< queue full
  std::uint64_t failed() const { return failed_.load(); }    ///< the socket refused it

 private:
  void run();
  bool deliver(const std::string& line);
  void closeSocket();

  SinkTarget target_;
  int fd_ = -1;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by m_
  bool stopping_ = false;          // guarded by m_
  std::atomic<std::uint64_t> sent_{0}, dropped_{0}, failed_{0};
  std::thread thread_;
};

}  // namespace mugai::obs
