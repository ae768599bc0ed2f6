// mugai's metric families, messageFinished(), the event sink in use, scrape-time gauges.
#include "mugai/obs/monitor.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <sstream>
#include <vector>

#include "mugai/core/verdict.h"
#include "mugai/scan/scanner.h"

namespace mugai::obs {
namespace {

/// Seconds: 5 ms to 5 min (a rebuilt 10 MB Office file takes seconds; limit.time is minutes).
const std::vector<double> kDurationBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                             2.5,   5,    10,    30,   60,  120, 300};
/// Bytes: 1 KiB to 64 MiB.
const std::vector<double> kSizeBounds = {1024,    4096,     16384,    65536,    262144,
                                         1048576, 4194304,  16777216, 67108864};

struct Families {
  Registry reg;
  Family<Counter>& messages = reg.counter(
      "mugai_messages_total", "Items finished, by ingress (mail, file) and verdict word.",
      {"kind", "verdict"});
  Family<Counter>& reasons = reg.counter(
      "mugai_message_reasons_total",
      "Items finished, by each reason their report gives (an item with two reasons counts once "
      "under each).",
      {"kind", "reason"});
  Family<Counter>& objects = reg.counter(
      "mugai_objects_total", "Objects removed or rewritten (parts, members, attachments), by action.",
      {"kind", "action"});
  Family<Counter>& bytes_in =
      reg.counter("mugai_received_bytes_total", "Bytes of items received.", {"kind"});
  Family<Counter>& bytes_out = reg.counter(
      "mugai_delivered_bytes_total", "Bytes of what was delivered instead (sanitized or notice).",
      {"kind"});
  Family<Histogram>& duration = reg.histogram(
      "mugai_processing_duration_seconds",
      "Time from the end of DATA (or the claim) to the verdict line, relay included.", {"kind"},
      kDurationBounds);
  Family<Histogram>& size =
      reg.histogram("mugai_item_size_bytes", "Size of items received.", {"kind"}, kSizeBounds);
  Family<Counter>& replies = reg.counter(
      "mugai_smtp_replies_total", "SMTP replies to finished transactions, by class (2xx, 4xx, 5xx).",
      {"class"});
  Family<Counter>& next_hop_sent =
      reg.counter("mugai_next_hop_sent_total", "Messages the next hop accepted.");
  Family<Counter>& next_hop_errors = reg.counter(
      "mugai_next_hop_errors_total",
      "Messages the next hop did not accept: deferred (down, slow, 4xx) or bounced (5xx).",
      {"result"});
  Family<Gauge>& engine_loaded = reg.gauge(
      "mugai_engine_loaded_timestamp_seconds",
      "When the running rules and signatures were loaded (start, SIGHUP or new signature files).");
  Family<Gauge>& signatures =
      reg.gauge("mugai_signatures", "Signatures in the running scanner engine.");
  Family<Gauge>& signatures_newest = reg.gauge(
      "mugai_signatures_newest_file_timestamp_seconds",
      "Modification time of the newest signature file when the running engine was loaded "
      "(signature age: time() - this).");
  std::mutex sink_m;
  std::shared_ptr<EventSink> sink;           // guarded by sink_m
  std::optional<EventOptions> sink_options;  // guarded by sink_m
  CallbackHandle sink_sent, sink_dropped, sink_failed;

  Families() {
    // Every combination an operator alerts on exists from the start, at 0.
    for (const char* kind : {"mail", "file"}) {
      for (const char* v : {"clean", "sanitized", "blocked", "tempfail"}) messages.with({kind, v});
      bytes_in.with({kind});
      bytes_out.with({kind});
      duration.with({kind});
      size.with({kind});
    }
    for (const char* c : {"2xx", "4xx", "5xx"}) replies.with({c});
    next_hop_sent.get();
    for (const char* r : {"deferred", "bounced"}) next_hop_errors.with({r});
    engine_loaded.get();
    auto read = [this](std::uint64_t (EventSink::*what)() const) {
      return [this, what]() -> std::optional<double> {
        std::lock_guard<std::mutex> lock(sink_m);
        if (!sink) return std::nullopt;
        return static_cast<double>(((*sink).*what)());
      };
    };
    sink_sent = reg.callbackCounter("mugai_events_sent_total",
                                    "Events the sink handed to the syslog socket.",
                                    read(&EventSink::sent));
    sink_dropped = reg.callbackCounter(
        "mugai_events_dropped_total",
        "Events dropped because the sink's queue was full (the collector is too slow).",
        read(&EventSink::dropped));
    sink_failed = reg.callbackCounter("mugai_events_failed_total",
                                      "Events the syslog socket refused (collector down).",
                                      read(&EventSink::failed));
  }
};

Families& families() {
  static Families* f = new Families;  // never destroyed: threads may count until exit
  return *f;
}

/// A reason name from the table, else "other" (a label value never comes from elsewhere).
std::string knownReason(const std::string& name) {
  return reasonByName(name) ? name : "other";
}

std::string knownWord(const std::string& w, std::initializer_list<const char*> words) {
  for (const char* x : words) {
    if (w == x) return w;
  }
  return "other";
}

}  // namespace

Registry& registry() { return families().reg; }

std::string formatEvent(const MessageEvent& e, const EventOptions& o) {
  if (o.format == EventFormat::Cef) {
    return wrapRfc5424("", formatCef(e, o.version), severityFor(e), e.kind, e.time_us, o.frame);
  }
  return formatRfc5424(e, o.frame);
}

void messageFinished(const MessageEvent& e) {
  Families& f = families();
  const std::string kind = knownWord(e.kind, {"mail", "file"});
  f.messages.with({kind, knownWord(e.verdict, {"clean", "sanitized", "blocked", "tempfail"})}).inc();
  for (const auto& r : e.reasons) f.reasons.with({kind, knownReason(r)}).inc();
  for (const auto& x : e.objects) {
    f.objects.with({kind, knownWord(x.action, {"removed", "blocked", "rebuilt", "converted",
                                               "renamed"})})
        .inc();
  }
  f.bytes_in.with({kind}).inc(e.bytes_in);
  f.bytes_out.with({kind}).inc(e.bytes_out);
  f.duration.with({kind}).observe(e.processing_ms / 1000.0);
  f.size.with({kind}).observe(static_cast<double>(e.bytes_in));
  if (e.reply_code >= 200 && e.reply_code < 600) {
    f.replies.with({std::to_string(e.reply_code / 100) + "xx"}).inc();
  }
  if (e.relay_status == "sent") {
    f.next_hop_sent.get().inc();
  } else if (e.relay_status == "deferred" || e.relay_status == "bounced") {
    f.next_hop_errors.with({e.relay_status}).inc();
  }
  std::shared_ptr<EventSink> sink;
  std::optional<EventOptions> options;
  {
    std::lock_guard<std::mutex> lock(f.sink_m);
    sink = f.sink;
    if (sink) options = f.sink_options;
  }
  if (sink && options) sink->send(formatEvent(e, *options));
}

void setEventSink(const std::optional<EventOptions>& options) {
  Families& f = families();
  std::shared_ptr<EventSink> fresh = options ? std::make_shared<EventSink>(options->target) : nullptr;
  std::shared_ptr<EventSink> old;
  {
    std::lock_guard<std::mutex> lock(f.sink_m);
    old = std::move(f.sink);
    f.sink = std::move(fresh);
    f.sink_options = options;
  }
  // `old` goes out of scope here: it sends what it queued, then stops.
}

void engineLoaded(const Scanner* scanner) {
  Families& f = families();
  auto now = std::chrono::system_clock::now().time_since_epoch();
  f.engine_loaded.get().set(
      static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
  if (!scanner) return;
  if (auto n = signatureCount(scanner->describe())) f.signatures.get().set(*n);
  if (auto t = newestSignatureTime(scanner->sourcesStamp())) f.signatures_newest.get().set(*t);
}

std::shared_ptr<void> registerGauges(Gauges g) {
  auto handles = std::make_shared<std::vector<CallbackHandle>>();
  Registry& r = registry();
  auto add = [&](const char* name, const char* help, std::function<std::optional<double>()>& fn) {
    if (fn) handles->push_back(r.callbackGauge(name, help, fn));
  };
  add("mugai_smtp_sessions_open", "SMTP sessions open now.", g.sessions_open);
  add("mugai_workers_busy", "Workers processing an item now.", g.workers_busy);
  add("mugai_workers", "Workers (threads, each with its sandboxed worker process when isolated).",
      g.workers_total);
  add("mugai_worker_queue_length", "Items waiting for a worker.", g.queue_length);
  add("mugai_vault_records", "Records in the vault.", g.vault_records);
  add("mugai_vault_bytes", "Bytes the vault's originals take (compressed).", g.vault_bytes);
  return handles;
}

void vaultGauges(Gauges& g, std::function<bool(std::uint64_t&, std::uint64_t&)> usage,
                 std::chrono::seconds period) {
  struct Cache {
    std::mutex m;
    std::function<bool(std::uint64_t&, std::uint64_t&)> usage;
    std::chrono::seconds period;
    std::chrono::steady_clock::time_point asked{};
    bool ok = false, ever = false;
    std::uint64_t records = 0, bytes = 0;
    void refresh() {  // m held
      auto now = std::chrono::steady_clock::now();
      if (ever && now - asked < period) return;
      ever = true;
      asked = now;
      std::uint64_t r = 0, b = 0;
      ok = usage(r, b);
      if (ok) {
        records = r;
        bytes = b;
      }
    }
  };
  auto cache = std::make_shared<Cache>();
  cache->usage = std::move(usage);
  cache->period = period;
  auto read = [cache](bool want_bytes) -> std::optional<double> {
    std::lock_guard<std::mutex> lock(cache->m);
    cache->refresh();
    if (!cache->ok) return std::nullopt;  // the vault did not answer: left out of this scrape
    return static_cast<double>(want_bytes ? cache->bytes : cache->records);
  };
  g.vault_records = [read] { return read(false); };
  g.vault_bytes = [read] { return read(true); };
}

std::optional<double> newestSignatureTime(const std::string& stamp) {
  std::optional<double> newest;
  std::istringstream in(stamp);
  std::string line;
  while (std::getline(in, line)) {
    // path|size|mtime.ns|inode: the path may hold '|', so the fields are counted from the end.
    std::size_t c3 = line.rfind('|');
    if (c3 == std::string::npos || c3 == 0) continue;
    std::size_t c2 = line.rfind('|', c3 - 1);
    if (c2 == std::string::npos) continue;
    std::string mtime = line.substr(c2 + 1, c3 - c2 - 1);
    mtime = mtime.substr(0, mtime.find('.'));
    long long secs = 0;
    auto r = std::from_chars(mtime.data(), mtime.data() + mtime.size(), secs);
    if (mtime.empty() || r.ptr != mtime.data() + mtime.size()) continue;
    newest = std::max(newest.value_or(0.0), static_cast<double>(secs));
  }
  return newest;
}

std::optional<double> signatureCount(const std::string& describe) {
  // "ClamAV 1.4.3, 8 signatures": the number after the last ", ".
  std::size_t comma = describe.rfind(", ");
  if (comma == std::string::npos) return std::nullopt;
  const char* p = describe.data() + comma + 2;
  const char* end = describe.data() + describe.size();
  unsigned long long n = 0;
  auto r = std::from_chars(p, end, n);
  if (r.ptr == p || std::string_view(r.ptr, end - r.ptr).find(" signature") != 0) {
    return std::nullopt;
  }
  return static_cast<double>(n);
}

}  // namespace mugai::obs
