#include "src/smtp/gateway.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <future>
#include <mutex>


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
/// vault and log use, and when.
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

/// The result for a message whose engine run passed twice sanitizer_deadline_ms (a step that
/// cannot be interrupted, run in serve's own threads: isolation = none): blocked for limit.time as
/// a worker killed at its deadline is, the original kept and the notice relayed in its place.
ProcessResult timedOut(const ItemProcessor& engine, const std::string& id, const Envelope& envelope,
                       std::uint64_t size) {
  return failedItemResult(engine.policy(), envelope, id, "", size, Reason::LimitTime,
                          "the engine did not return within twice sanitizer_deadline_ms",
                          "gateway");
}

/// XFORWARD attributes as received, for the vault record ("NAME=... ADDR=... HELO=...").
std::string xforwardText(const XForward& x) {
  std::string s;
  auto add = [&s](const char* key, const std::string& v) {
    if (!v.empty()) s += (s.empty() ? "" : " ") + std::string(key) + "=" + logSafe(v, 255);
  };
  add("NAME", x.name);
  add("ADDR", x.addr);
  add("PORT", x.port);
  add("PROTO", x.proto);
  add("HELO", x.helo);
  add("IDENT", x.ident);
  add("SOURCE", x.source);
  return s;
}

Reply toReply(const disposition::Answer& a) { return Reply{a.code, a.text}; }

/// Waits for the engine's result: queued, up to one budget; running, twice the budget (at least
/// the budget and 10 s: a tiny budget still leaves a step that cannot be interrupted time to
/// report limit.time itself) from when a worker took it. *running: a worker had taken it.
std::future_status waitForEngine(std::future<ProcessResult>& future, const std::atomic<bool>& started,
                                 std::chrono::milliseconds budget, bool& running) {
  auto until = std::chrono::steady_clock::now() + budget;
  running = false;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    std::future_status status = future.wait_until(std::min(until, now + std::chrono::milliseconds(100)));
    if (status == std::future_status::ready) return status;
    now = std::chrono::steady_clock::now();
    if (!running && started) {
      running = true;
      until = now + std::max<std::chrono::milliseconds>(2 * budget, budget + std::chrono::seconds(10));
    } else if (now >= until) {
      return status;
    }
  }
}

}  // namespace

Reply Gateway::deliver(Transaction& t) {
  auto job = std::make_shared<Job>();
  job->engine = processors_();
  job->raw = std::move(t.data);
  job->envelope =
      Envelope{t.sender, t.recipients, t.xforward.name.empty() ? t.client_name : t.xforward.name,
               t.xforward.addr.empty() ? t.client_addr : t.xforward.addr, t.helo};
  job->envelope.console_url = options_.console_url;
  job->id = newItemId();
  disposition::MailItem item;
  item.id = job->id;
  item.arrival.kind = "mail";
  item.arrival.envelope = job->envelope;
  item.arrival.xforward = xforwardText(t.xforward);
  item.arrival.facts = transactionFacts(t, job->raw.size());
  item.bytes_in = job->raw.size();
  // Authenticated on the original bytes before anything is changed; the client and HELO the
  // front MTA saw (XFORWARD) when it sent them.
  std::shared_ptr<const auth::Authenticator> authenticator = options_.authenticator;
  auth::Peer peer{t.sender, t.xforward.helo.empty() ? t.helo : t.xforward.helo, job->envelope.client_addr};
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
    return toReply(disposition_.busy(item, ""));
  }
  // While a worker runs the engine, this thread stages the original in the vault (compressed,
  // hashed, a large one's file written and synced): a message that must be kept then waits for
  // its record's commit only.
  disposition_.stage(item, job->raw);
  bool running = false;
  const std::future_status status = waitForEngine(
      future, job->started,
      std::chrono::milliseconds(job->engine->policy().limits.sanitizer_deadline_ms), running);
  if (status != std::future_status::ready && !running) {
    return toReply(disposition_.busy(item, "queued longer than sanitizer_deadline_ms"));
  }
  ProcessResult r;
  if (status != std::future_status::ready) {
    // The engine did not return (a step that cannot be interrupted): limit.time is a verdict,
    // like the engine's own deadline, never a 4xx the sender would retry and pay again.
    r = timedOut(*job->engine, job->id, item.arrival.envelope, item.bytes_in);  // this thread's copy
  } else {
    try {
      r = future.get();
    } catch (...) {
      r.verdict = Verdict::TempFail;
    }
  }
  if (status == std::future_status::ready && job->envelope.auth.checked) {
    const SenderAuth& a = job->envelope.auth;
    item.arrival.facts += " auth=spf:" + a.spf + ",dkim:" + a.dkim + ",dmarc:" + a.dmarc;
  }
  const policy::Policy& policy = job->engine->policy();
  if (auto answer = disposition_.decide(item, job->raw, r, policy)) return toReply(*answer);
  RelayResult rr = relayMessage(options_.relay, t.sender, t.recipients, t.xforward,
                                receivedHeader(t, options_.relay.helo_name, job->id) + r.output);
  disposition::HopResult hop;
  hop.code = rr.reply.code;
  hop.text = rr.reply.text;
  hop.detail = rr.detail;
  hop.hop = options_.relay.host + ":" + std::to_string(options_.relay.port);
  hop.maybe_delivered = rr.maybe_delivered;
  return toReply(disposition_.relayed(item, job->raw, r, policy, hop));
}

void Gateway::refused(const Transaction& t, const Refusal& r) {
  std::string what = "refused why=" + r.why;
  if (!r.detail.empty()) what += " detail=\"" + r.detail + "\"";
  if (r.has_sender)
    what += " from=<" + logSafe(t.sender, 128) + "> rcpts=" + std::to_string(t.recipients.size());
  disposition::Answer answer{r.reply.code, r.reply.text};
  logLine(disposition::Disposition::transactionLine(what, transactionFacts(t, r.size, r.has_sender),
                                                    &answer));
}

}  // namespace mugai::smtp
