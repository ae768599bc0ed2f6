/**
 * @file monitor.h
 * @brief The service's monitoring feeds: the metrics every finished item updates, the event sink
 *        it is sent to, and the /metrics HTTP endpoint (docs/monitoring.md lists every metric).
 *
 * One call per finished item, from the place that logs its verdict line (the disposition layer):
 * `obs::messageFinished(event)`. It counts the item (verdict, reasons, bytes, processing time,
 * SMTP reply, next-hop outcome) and, when an event sink is configured, queues one line.
 *
 * Trust: events carry hostile text (see event.h); only closed-set words (kind, verdict, reason
 *        names, reply class) become label values. A reason name that is not in reasons.def is
 *        counted as "other".
 * Limits: the HTTP endpoint answers GET /metrics only, on one thread with a queue of 8, 5 s
 *         timeouts, no keep-alive; loopback unless the config says `metrics_remote = yes`.
 * Errors: startMetricsServer() returns null with *why when it cannot listen.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mugai/obs/event.h"
#include "mugai/obs/metrics.h"

namespace mugai {
class Scanner;
}

namespace mugai::obs {

/// The registry of this process, with mugai's families registered.
Registry& registry();

/// Counts the item and sends its event (when a sink is set).
void messageFinished(const MessageEvent& event);

/// How events are written: RFC 5424 with structured data, or CEF inside an RFC 5424 frame.
enum class EventFormat { Rfc5424, Cef };
struct EventOptions {
  SinkTarget target;
  EventFormat format = EventFormat::Rfc5424;
  FormatOptions frame;  ///< facility, hostname
  std::string version;  ///< mugai's version (CEF header)
};
/// Sets (or, with nullopt, removes) the event sink. The previous sink sends what it queued.
void setEventSink(const std::optional<EventOptions>& options);
/// The line messageFinished() would send for `e` (tests, docs).
std::string formatEvent(const MessageEvent& e, const EventOptions& options);

/// Called at scrape time by the gauges below; each returns nullopt when it has no value now.
struct Gauges {
  std::function<std::optional<double>()> sessions_open, workers_busy, workers_total,
      queue_length, vault_records, vault_bytes;
};

/// Fills gauges.vault_records / vault_bytes from `usage` (records, bytes the originals take),
/// asked at most once per `period` (a count over a large vault is not free; scrapes in between
/// get the last answer). For serve's vault:
///   vaultGauges(g, [&v](std::uint64_t& r, std::uint64_t& b) { vault::Usage u;
///     if (!v.usage(u, nullptr)) return false; r = u.records; b = u.stored_bytes; return true; });
void vaultGauges(Gauges& gauges,
                 std::function<bool(std::uint64_t& records, std::uint64_t& bytes)> usage,
                 std::chrono::seconds period = std::chrono::seconds(60));

/// The /metrics endpoint. Destroying it stops the listener (after the answers in progress).
class MetricsServer {
 public:
  virtual ~MetricsServer() = default;
  virtual std::uint16_t port() const = 0;
};

/// True when `host` is a loopback address literal (127.0.0.0/8, ::1) or "localhost".
bool isLoopbackHost(const std::string& host);

/// Listens on host:port (port 0: any free one). Null with *why when it cannot.
std::unique_ptr<MetricsServer> startMetricsServer(const std::string& host, std::uint16_t port,
                                                  std::string* why);

/// Registers the scrape-time gauges; they stay until the returned handle is destroyed.
std::shared_ptr<void> registerGauges(Gauges gauges);

/// Records that an engine (rules and signatures) was loaded now (the start and every reload):
/// the load time, and from its scanner (null: none) the signature count and the newest
/// signature file's modification time.
void engineLoaded(const Scanner* scanner);

/// The newest modification time (unix seconds) among the signature files a scanner's
/// sourcesStamp() lists ("path|size|mtime.ns|inode" lines); nullopt when it lists none.
std::optional<double> newestSignatureTime(const std::string& stamp);
/// The signature count in a scanner's describe() text ("ClamAV 1.4.3, 8 signatures").
std::optional<double> signatureCount(const std::string& describe);

}  // namespace mugai::obs
