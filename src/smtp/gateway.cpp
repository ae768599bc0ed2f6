#include "src/smtp/gateway.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <future>
#include <mutex>

#include "mugai/io/store.h"
#include "mugai/obs/monitor.h"
#include "src/smtp/inflight.h"

namespace mugai::smtp {
namespace {

/// A name the client chose, fit for a Received: comment: printable ASCII without parentheses,
/// at most 64 characters ('?' for anything else).
std::string traceText(const std::string& s) {
  std::string o;
  for (char c : s.substr(0, 64)) o += (c > 0x20 && c < 0x7f && c != '(' && c != ')') ? c : '?';
  return o.empty() ? "unknown" : o;
}

/// mugai's own trace field (RFC 5321 4.4), on top of what it relays: from whom (HELO, the
/// client's name and address, XFORWARD's when Postfix sent it), by which host, the id the
/// quarantine and log use, and when.
std::string receivedHeader(const Transaction& t, const std::string& by, const std::string& id) {
  const std::string& name = t.xforward.name.empty() ? t.client_name : t.xforward.name;
  const std::string& addr = t.xforward.addr.empty() ? t.client_addr : t.xforward.addr;
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm {};
  localtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return "Received: from " + traceText(t.helo) + " (" + traceText(name) + " [" + traceText(addr) +
         "])\r\n\tby " + traceText(by) + " (mugai) with ESMTP id " + id + ";\r\n\t" + date + "\r\n";
}

struct Job {
  ItemProcessorConstSharedPtr engine;
  std::string raw;
  Envelope envelope;
  std::string id;
  std::promise<ProcessResult> promise;
  std::atomic<bool> started{false};  ///< a worker took it (it is no longer queued)
};

std::string clientText(const Transaction& t) {
  std::string s = "client=" + logSafe(t.client_name.empty() ? "unknown" : t.client_name, 64) + "[" +
                  logSafe(t.client_addr, 64) + "]";
  if (t.xforward.any()) {
    s += " orig_client=" + logSafe(t.xforward.name, 64) + "[" + logSafe(t.xforward.addr, 64) + "]";
    if (!t.xforward.helo.empty()) s += " orig_helo=" + logSafe(t.xforward.helo, 64);
  }
  s += " helo=" + logSafe(t.helo, 64) + (t.tls ? " tls=yes" : " tls=no");
  return s;
}

std::string recipientsText(const std::vector<std::string>& rcpts) {
  std::string s = " to=";
  for (std::size_t i = 0; i < rcpts.size() && i < 5; ++i)
    s += (i ? ",<" : "<") + logSafe(rcpts[i], 64) + ">";
  if (rcpts.size() > 5) s += ",...";
  return s;
}

/// The part every transaction line shares: who (client, helo, tls), to whom, how big.
std::string transactionFacts(const Transaction& t, std::uint64_t size, bool envelope = true) {
  std::string s = clientText(t);
  if (envelope) s += recipientsText(t.recipients) + " size=" + std::to_string(size);
  return s;
}

/// The one formatter of transaction lines, delivered or refused: WHAT FACTS reply="..." [TAIL].
void logTransaction(const std::string& what, const std::string& facts, const Reply& reply,
                    const std::string& tail = "") {
  std::string r =
      reply.code == 0 ? "none" : "\"" + std::to_string(reply.code) + " " + reply.text + "\"";
  logLine(what + " " + facts + " reply=" + r + tail);
}

/// Reply for an item that may not be delivered at all (blocked without a notice).
Reply refusal(const ProcessResult& r) {
  const ReasonInfo& info = reasonInfo(r.report.reason);
  std::string status(info.enhanced_status);
  if (status.empty() || status[0] != '5') status = "5.7.1";
  return Reply{554, status + " Error: message refused: " + std::string(info.public_text)};
}

/// The result for a message whose engine run passed twice sanitizer_deadline_ms: blocked for
/// limit.time, the original kept; no notice can be built without the engine's output, so the
/// client gets 554 with the reason (the sender learns of it; staff find it in the quarantine).
ProcessResult timedOut(const ItemProcessor& engine, const std::string& id, const Transaction& t) {
  ProcessResult r;
  r.verdict = r.report.final_verdict = Verdict::Quarantine;
  r.report.reason = Reason::LimitTime;
  r.report.id = id;
  r.report.sender = t.sender;
  r.report.recipients = t.recipients;
  r.report.rules = engine.policy().source;
  ActionRecord rec;
  rec.action = "blocked";
  rec.reason = std::string(reasonInfo(Reason::LimitTime).name);
  rec.sanitizer = "gateway";
  rec.detail = "the engine did not return within twice sanitizer_deadline_ms";
  r.report.actions.push_back(std::move(rec));
  return r;
}

/// The monitoring event for a finished transaction (obs::messageFinished): the report's verdict,
/// reasons and objects, with the envelope as this session saw it. `r` is null when the message
/// was never judged (busy).
obs::MessageEvent finishedEvent(const Transaction& t, const std::string& id, const ProcessResult* r,
                                const Reply& reply, const std::string& relay_status,
                                std::uint64_t size, double ms) {
  obs::MessageEvent e = r ? obs::eventFromReport(r->report) : obs::MessageEvent{};
  e.id = id;
  e.kind = "mail";
  if (!r || r->verdict == Verdict::TempFail) e.verdict = "tempfail";
  e.sender = t.sender;
  e.recipients = t.recipients;
  e.client_addr = t.xforward.addr.empty() ? t.client_addr : t.xforward.addr;
  e.client_name = t.xforward.name.empty() ? t.client_name : t.xforward.name;
  e.helo = t.xforward.helo.empty() ? t.helo : t.xforward.helo;
  e.bytes_in = size;
  e.bytes_out = r && relay_status == "sent" ? r->output.size() : 0;
  e.processing_ms = ms;
  e.reply_code = reply.code;
  e.relay_status = relay_status;
  return e;
}

}  // namespace

void logLine(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::fputs(("mugai: " + line + "\n").c_str(), stderr);
  std::fflush(stderr);
}

Reply Gateway::deliver(Transaction& t) {
  auto started = std::chrono::steady_clock::now();
  auto job = std::make_shared<Job>();
  job->engine = processors_();
  job->raw = std::move(t.data);
  job->envelope =
      Envelope{t.sender, t.recipients, t.xforward.name.empty() ? t.client_name : t.xforward.name,
               t.xforward.addr.empty() ? t.client_addr : t.xforward.addr, t.helo};
  job->id = newItemId();
  // Authenticated on the original bytes before anything is changed; the client and HELO the
  // front MTA saw (XFORWARD) when it sent them.
  std::shared_ptr<const auth::Authenticator> authenticator = options_.authenticator;
  auth::Peer peer{t.sender, t.xforward.helo.empty() ? t.helo : t.xforward.helo, job->envelope.client_addr};
  const std::string facts = transactionFacts(t, job->raw.size());
  ProcessResult r;
  bool judged = false;       // r holds the engine's verdict (not so when busy)
  std::string relay_status;  // sent | deferred | bounced, once relayed
  auto finish = [&](const Reply& reply, const std::string& what) {
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    char buf[32];
    std::snprintf(buf, sizeof buf, " delay=%.0fms", ms);
    logTransaction(what, facts, reply, buf);
    obs::messageFinished(finishedEvent(t, job->id, judged ? &r : nullptr, reply, relay_status,
                                       job->raw.size(), ms));
    return reply;
  };
  std::future<ProcessResult> future = job->promise.get_future();
  if (!pool_.trySubmit([job, authenticator, peer] {
        job->started = true;
        try {
          if (authenticator) job->envelope.auth = authenticator->check(job->raw, peer);
          job->promise.set_value(job->engine->processMessage(job->raw, job->envelope, job->id));
        } catch (...) {
          job->promise.set_exception(std::current_exception());
        }
      })) {
    return finish(Reply{451, "4.3.2 Error: server busy, try again later"},
                  "id=" + job->id + " busy");
  }
  const auto budget = std::chrono::milliseconds(job->engine->policy().limits.sanitizer_deadline_ms);
  // Queued: up to one budget; running: twice the budget (at least the budget and 10 s: a tiny
  // budget still leaves a step that cannot be interrupted time to report limit.time itself) from
  // when a worker took it.
  auto until = std::chrono::steady_clock::now() + budget;
  bool running = false;
  std::future_status status;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    status = future.wait_until(std::min(until, now + std::chrono::milliseconds(100)));
    if (status == std::future_status::ready) break;
    now = std::chrono::steady_clock::now();
    if (!running && job->started) {
      running = true;
      until = now + std::max<std::chrono::milliseconds>(2 * budget, budget + std::chrono::seconds(10));
    } else if (now >= until) {
      break;
    }
  }
  if (status != std::future_status::ready && !running) {
    return finish(Reply{451, "4.3.2 Error: server busy, try again later"},
                  "id=" + job->id + " busy (queued longer than sanitizer_deadline_ms)");
  }
  if (status != std::future_status::ready) {
    // The engine did not return (a step that cannot be interrupted): limit.time is a verdict,
    // like the engine's own deadline, never a 4xx the sender would retry and pay again.
    r = timedOut(*job->engine, job->id, t);
  } else {
    try {
      r = future.get();
    } catch (...) {
      r.verdict = Verdict::TempFail;
    }
  }
  judged = true;
  std::string what = r.report.logLine();
  if (status == std::future_status::ready && job->envelope.auth.checked) {
    const SenderAuth& a = job->envelope.auth;
    what += " auth=spf:" + a.spf + ",dkim:" + a.dkim + ",dmarc:" + a.dmarc;
  }
  Inflight journal(options_.quarantine_dir, job->id);  // for the next start after a kill
  if (r.verdict == Verdict::TempFail) {
    return finish(Reply{451, "4.3.0 Error: temporary failure, try again later"}, what);
  }
  if (r.keepOriginal()) {
    journal.stored();
    std::string err;
    if (!io::quarantineStore(options_.quarantine_dir, job->id, job->raw, r.report.toJson(), &err)) {
      return finish(Reply{451, "4.3.0 Error: temporary failure, try again later"},
                    what + " quarantine_error=\"" + logSafe(err) + "\"");
    }
    what += " quarantined=" + job->id;
  }
  if (r.output.empty()) return finish(refusal(r), what);
  if (r.notice_only) what += " notice_only=yes";
    if (r.keepOriginal()) journal.relaying();
    RelayResult rr = relayMessage(options_.relay, t.sender, t.recipients, t.xforward,
                                  receivedHeader(t, options_.relay.helo_name, job->id) + r.output);
  relay_status = rr.delivered() ? "sent" : rr.reply.code >= 500 ? "bounced" : "deferred";
  what += " relay=" + options_.relay.host + ":" + std::to_string(options_.relay.port) +
          " relay_status=" + relay_status + " (" + rr.detail + ")";
  if (rr.delivered()) return finish(Reply{250, "2.0.0 Ok: queued as " + job->id}, what);
  if (rr.reply.code >= 500 && !r.keepOriginal()) {
    // Refused for good by the next hop (too big after conversion, a policy there): the client
    // bounces it and drops its copy, so the original is kept here, or the client keeps it.
    std::string err;
    if (!io::quarantineStore(options_.quarantine_dir, job->id, job->raw, r.report.toJson(), &err)) {
      return finish(Reply{451, "4.3.0 Error: temporary failure, try again later"},
                    what + " quarantine_error=\"" + logSafe(err) + "\"");
    }
    what += " quarantined=" + job->id + " (refused by the next hop: the original is kept)";
  }
  if (r.keepOriginal() && rr.reply.code < 500 && !rr.maybe_delivered) {
    // Deferred: the client keeps the original in its queue and retries (a new record each time),
    // so this record would only pile up. Kept when the next hop may have the message after all.
    std::string err;
    what += io::quarantineRemove(options_.quarantine_dir, job->id, &err)
                ? " quarantine_removed=" + job->id + " (deferred: the client keeps the original)"
                : " quarantine_remove_error=\"" + logSafe(err) + "\"";
  }
  return finish(rr.reply, what);
}

void Gateway::refused(const Transaction& t, const Refusal& r) {
  std::string what = "refused why=" + r.why;
  if (!r.detail.empty()) what += " detail=\"" + r.detail + "\"";
  if (r.has_sender)
    what += " from=<" + logSafe(t.sender, 128) + "> rcpts=" + std::to_string(t.recipients.size());
  logTransaction(what, transactionFacts(t, r.size, r.has_sender), r.reply);
}

}  // namespace mugai::smtp
