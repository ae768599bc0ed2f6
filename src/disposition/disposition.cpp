#include "mugai/disposition/disposition.h"
#include "mugai/obs/monitor.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "mugai/text/charset.h"
#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"

namespace mugai::disposition {
namespace {

/// Below this a message is not staged: small mail is mostly clean plain text, which is never
/// written, and an original this small stays inside the SQLite database (no file to write ahead).
constexpr std::size_t kStageMin = 64 * 1024;

/// Reply for an item that may not be delivered at all (blocked without a notice).
Answer refusal(const ProcessResult& r) {
  const ReasonInfo& info = reasonInfo(r.report.reason);
  std::string status(info.enhanced_status);
  if (status.empty() || status[0] != '5') status = "5.7.1";
  return Answer{554, status + " Error: message refused: " + std::string(info.public_text)};
}

Answer temporaryFailure() { return Answer{}; }

std::string logSafe(std::string_view s) { return text::logEscape(s, 200); }

/// Every reason in the report (the main one first), once each, "kept" left out.
std::vector<std::string> allReasons(const Report& report) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& name) {
    if (!name.empty() && name != "kept" && std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
  };
  add(std::string(reasonInfo(report.reason).name));
  for (const auto& a : report.actions) add(a.reason);
  return out;
}

/// Actions that took something out of the original or rewrote it (the vault's objects).
bool changedSomething(const ActionRecord& a) {
  return a.action == "removed" || a.action == "blocked" || a.action == "rebuilt" ||
         a.action == "converted" || a.action == "unsigned";
}

std::int64_t unixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

void logLine(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::fputs(("mugai: " + line + "\n").c_str(), stderr);
  std::fflush(stderr);
}

vault::NewRecord makeRecord(const std::string& id, std::string_view original,
                            const Arrival& arrival, const ProcessResult& result,
                            const policy::Policy& policy, const std::string& delivered_id,
                            std::int64_t now) {
  const Report& rep = result.report;
  vault::NewRecord r;
  r.id = id;
  r.kind = arrival.kind;
  r.created = now;
  r.envelope.sender = arrival.envelope.sender;
  r.envelope.recipients = arrival.envelope.recipients;
  r.envelope.client_addr = arrival.envelope.client_addr;
  r.envelope.client_name = arrival.envelope.client_name;
  r.envelope.helo = arrival.envelope.helo;
  r.envelope.xforward = arrival.xforward;
  r.envelope.source = arrival.source;
  r.subject = rep.subject;
  r.from = rep.from;
  r.filename = rep.filename;
  r.verdict = rep.verdictWord();
  r.reason = std::string(reasonInfo(rep.reason).name);
  r.reasons = allReasons(rep);
  r.report_json = rep.toJson();
  r.body_text = result.body_text;
  r.original.assign(original.data(), original.size());
  r.staged = arrival.staged;
  r.delivered_id = delivered_id;
  for (const auto& a : rep.actions) {
    if (!changedSomething(a)) continue;
    std::string what = !a.filename.empty() ? a.filename
                       : a.body            ? "body " + a.declared_type
                                           : a.declared_type;
    r.objects.push_back({a.part, what, a.action, a.reason, a.sha256});
    // What a rebuilder cut out of the part (a VBA project, a script): named by its findings,
    // with the SHA-256 of its own bytes when it has some (Finding::sha256); the bytes themselves
    // stay inside the original, which the record keeps.
    for (const auto& f : a.findings) {
      if (f.key == "removed" || f.key == "removed_member" || f.key == "removed_object")
        r.objects.push_back({a.part, f.value, "removed", a.reason, f.sha256});
    }
  }
  r.tier = vault::tierFor(policy.vault, r.reasons);
  r.expires = vault::expiresFor(policy.vault, r.verdict, r.reasons, now);
  return r;
}

Disposition::Disposition(Options options) : options_(std::move(options)) {
  if (!options_.log) options_.log = logLine;
}

Disposition::~Disposition() = default;

std::string Disposition::transactionLine(const std::string& what, const std::string& facts,
                                         const Answer* answer, double delay_ms) {
  std::string r = !answer || answer->code == 0
                      ? "none"
                      : "\"" + std::to_string(answer->code) + " " + answer->text + "\"";
  std::string line = what + (facts.empty() ? "" : " " + facts) + " reply=" + r;
  if (delay_ms >= 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " delay=%.0fms", delay_ms);
    line += buf;
  }
  return line;
}

void Disposition::stage(MailItem& item, std::string_view original) {
  if (original.size() < kStageMin) return;
  std::string ignored;  // a failed stage is done again by put(), which reports it
  item.arrival.staged = options_.vault->stage(original, &ignored);
}

Stored Disposition::record(const std::string& id, std::string_view original,
                           const Arrival& arrival, const ProcessResult& result,
                           const policy::Policy& policy, const std::string& delivered_id,
                           std::string* error) {
  vault::NewRecord rec =
      makeRecord(id, original, arrival, result, policy, delivered_id, unixNow());
  if (options_.vault->put(rec, error)) return Stored::Written;
  // The same id again: a retry of an item whose record the last attempt wrote (the file drop's
  // claim id is stable across a crash). It is the same original: stored.
  std::string ignored;
  if (options_.vault->get(id, &ignored)) return Stored::Present;
  return Stored::Failed;
}

namespace {

/// The monitoring event of a finished item (metrics, syslog / CEF: docs/monitoring.md): the
/// report's verdict, reasons and objects, with the envelope as the ingress saw it.
obs::MessageEvent eventOf(const ItemOutcome& o) {
  obs::MessageEvent e = o.report ? obs::eventFromReport(*o.report) : obs::MessageEvent{};
  e.id = o.id;
  e.kind = o.kind;
  const std::string& v = o.verdict;
  e.verdict = v == "renamed"  ? "sanitized"
              : v == "refused" ? "blocked"
              : v == "busy"    ? "tempfail"
              : v.empty()      ? (e.verdict.empty() ? "tempfail" : e.verdict)
                               : v;
  if (!o.reason.empty()) e.reason = o.reason;
  if (e.reasons.empty()) e.reasons = o.reasons;
  e.sender = o.envelope.sender;
  e.recipients = o.envelope.recipients;
  e.client_addr = o.envelope.client_addr;
  e.client_name = o.envelope.client_name;
  e.helo = o.envelope.helo;
  e.filename = o.filename;
  e.bytes_in = o.bytes_in;
  e.bytes_out = o.bytes_out;
  e.processing_ms = o.elapsed_ms;
  e.reply_code = o.reply_code;
  e.relay_status = o.relay_status;
  return e;
}

}  // namespace

void Disposition::finished(const ItemOutcome& outcome) {
  if (!outcome.line.empty()) options_.log(outcome.line);
  obs::messageFinished(eventOf(outcome));  // the one place a finished item is counted and sent
  if (options_.observer) options_.observer(outcome);
}

Answer Disposition::finish(MailItem& item, const Answer& answer, const ProcessResult* result) {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                              item.started)
                        .count();
  ItemOutcome o;
  o.id = item.id;
  o.kind = item.arrival.kind;
  o.recorded = item.recorded;
  o.reply_code = answer.code;
  o.relay_status = item.relay_status;
  o.bytes_in = item.bytes_in;
  o.elapsed_ms = ms;
  o.envelope = item.arrival.envelope;
  o.report = result ? &result->report : nullptr;
  if (result) {
    o.verdict = result->report.verdictWord();
    o.reason = std::string(reasonInfo(result->report.reason).name);
    o.reasons = allReasons(result->report);
    o.bytes_out = item.relay_status == "sent" ? result->output.size() : 0;
  } else {
    o.verdict = "busy";
  }
  o.line = transactionLine(item.what, item.arrival.facts, &answer, ms);
  finished(o);
  return answer;
}

Answer Disposition::busy(MailItem& item, const std::string& why) {
  item.what = "id=" + item.id + " busy" + (why.empty() ? "" : " (" + why + ")");
  return finish(item, Answer{451, "4.3.2 Error: server busy, try again later"}, nullptr);
}

std::optional<Answer> Disposition::decide(MailItem& item, std::string_view original,
                                          const ProcessResult& r, const policy::Policy& policy) {
  item.bytes_in = original.size();
  item.what = r.report.logLine();
  if (r.verdict == Verdict::TempFail) return finish(item, temporaryFailure(), &r);
  if (r.keepOriginal()) {
    // Before anything is relayed, so before any 250: a sender never drops a message whose
    // original is not stored.
    std::string err;
    const std::string delivered = r.output.empty() ? "" : "X-Mugai-Id: " + item.id;
    if (record(item.id, original, item.arrival, r, policy, delivered, &err) == Stored::Failed) {
      item.what += " vault_error=\"" + logSafe(err) + "\"";
      return finish(item, temporaryFailure(), &r);
    }
    item.recorded = true;
    item.what += " recorded=" + item.id;
  }
  if (r.output.empty()) return finish(item, refusal(r), &r);
  if (r.notice_only) item.what += " notice_only=yes";
  return std::nullopt;
}

Answer Disposition::relayed(MailItem& item, std::string_view original, const ProcessResult& r,
                            const policy::Policy& policy, const HopResult& hop) {
  item.relay_status = hop.delivered() ? "sent" : hop.code >= 500 ? "bounced" : "deferred";
  item.what += " relay=" + hop.hop + " relay_status=" + item.relay_status + " (" + hop.detail + ")";
  if (hop.delivered()) return finish(item, Answer{250, "2.0.0 Ok: queued as " + item.id}, &r);
  if (hop.code >= 500 && !item.recorded) {
    // Refused for good by the next hop (too big after conversion, a policy there): the client
    // bounces it and drops its copy, so the original is kept here, or the client keeps it.
    std::string err;
    if (record(item.id, original, item.arrival, r, policy, "", &err) == Stored::Failed) {
      item.what += " vault_error=\"" + logSafe(err) + "\"";
      return finish(item, temporaryFailure(), &r);
    }
    item.recorded = true;
    item.what += " recorded=" + item.id + " (refused by the next hop: the original is kept)";
  }
  if (item.recorded && hop.code < 500 && !hop.maybe_delivered) {
    // Deferred: the client keeps the original in its queue and retries (a new record each time),
    // so this record would only pile up. Kept when the next hop may have the message after all.
    std::string err;
    if (options_.vault->discard(item.id, "deferred by the next hop: the client keeps the original",
                                &err)) {
      item.recorded = false;
      item.what += " discarded=" + item.id + " (deferred: the client keeps the original)";
    } else {
      item.what += " discard_error=\"" + logSafe(err) + "\"";
    }
  }
  return finish(item, Answer{hop.code, hop.text}, &r);
}

}  // namespace mugai::disposition
