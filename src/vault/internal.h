// What the vault backends share (src/vault/*.cpp only): the record columns in list order, the
// first audit row's prev_hash, line-joined lists and the clock.
#pragma once

#include <chrono>
#include <ctime>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/vault/vault.h"

namespace mugai::vault::internal {

inline constexpr const char* kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::size_t kOriginalLimit = std::size_t{1} << 31;  ///< decompressed original
inline constexpr std::size_t kListLimit = 10000;                     ///< rows per list()

/// The columns every backend selects for a RecordInfo, in the order readRecord() reads them.
inline constexpr const char* kRecordColumns =
    "id, kind, created, expires, sender, recipients, client_addr, client_name, helo, xforward, "
    "source, subject, from_header, filename, verdict, reason, reasons, sha256, size, stored, "
    "delivered_id, tier, state, hold";

/// Code points in `text` when it is strictly valid UTF-8 (no overlong forms, no surrogates, no
/// NUL, <= U+10FFFF); std::string_view::npos otherwise.
std::size_t utf8Chars(std::string_view text);

/// The vault's clock: time(), the one the release runner, the CLI's --now drain and the console
/// read. system_clock::now() (CLOCK_REALTIME) runs up to a tick ahead of time() (glibc reads
/// the coarse clock for it), so a job queued with the one was, near a second's edge, not yet due
/// for a drain that read the other at once after (`vault ... --now`, and a flaky release test).
inline std::int64_t nowSeconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

/// Lists are stored one item a line (addresses and reason names never hold a line break).
inline std::string joinLines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "\n") + x;
  return s;
}

inline std::vector<std::string> splitLines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

/// Checks the audit chain row by row (rows in seq order), then against the head kept in meta.
class ChainCheck {
 public:
  /// False once a row does not verify (result() says which).
  bool add(const AuditRow& r) {
    if (!c_.ok) return false;
    ++c_.rows;
    if (r.seq != expect_) return bad(expect_, "row " + std::to_string(expect_) + " is missing");
    if (r.prev_hash != prev_) {
      return bad(r.seq, "row " + std::to_string(r.seq) + " does not follow row " +
                            std::to_string(r.seq - 1) + " (a row was removed or changed)");
    }
    if (auditHash(r) != r.hash) return bad(r.seq, "row " + std::to_string(r.seq) + " was changed");
    prev_ = r.hash;
    ++expect_;
    return true;
  }
  /// `head` is meta('audit_head'), "SEQ HASH" of the last row written (empty: none kept). Rows
  /// cut off at the end of the log show up here.
  AuditCheck finish(const std::string& head) {
    const std::string want = std::to_string(expect_ - 1) + " " + prev_;
    if (c_.ok && !head.empty() && head != want) {
      bad(expect_, "the log ends at row " + std::to_string(expect_ - 1) + " but row " +
                       head.substr(0, head.find(' ')) + " was written");
    }
    if (c_.ok) c_.head = prev_;
    return c_;
  }
  /// A check that could not read the log at all.
  static AuditCheck failed(std::string why) {
    AuditCheck c;
    c.ok = false;
    c.problem = std::move(why);
    return c;
  }

 private:
  bool bad(std::int64_t seq, std::string problem) {
    c_.ok = false;
    c_.first_bad = seq;
    c_.problem = std::move(problem);
    return false;
  }
  AuditCheck c_;
  std::string prev_ = kZeroHash;
  std::int64_t expect_ = 1;
};

/// One decision on a pending request: who approved so far, the state it leads to, the audit
/// detail. `error` is set (and nothing may change) when `actor` approved it already.
struct DecideStep {
  std::vector<std::string> approvals;
  std::string state;  ///< approved | denied | pending
  bool done = false;  ///< the request is decided (approved or denied)
  std::string detail, error;
};

inline DecideStep decideStep(std::int64_t request_id, std::vector<std::string> approvals,
                             bool approve, const std::string& actor, const std::string& reason,
                             std::size_t approvals_needed) {
  DecideStep d;
  const std::size_t needed = approvals_needed ? approvals_needed : 1;
  for (const auto& a : approvals) {
    if (approve && a == actor) {
      d.error = actor + " approved request " + std::to_string(request_id) + " already";
      return d;
    }
  }
  if (approve) approvals.push_back(actor);
  d.done = !approve || approvals.size() >= needed;
  d.state = !approve ? "denied" : d.done ? "approved" : "pending";
  d.detail = "request=" + std::to_string(request_id);
  if (approve) {
    d.detail += " approvals=" + std::to_string(approvals.size()) + "/" + std::to_string(needed);
  }
  if (!reason.empty()) d.detail += " reason=" + reason;
  d.approvals = std::move(approvals);
  return d;
}

/// The release queue's table (both backends; SQLite spells BIGINT/BYTEA its own way).
inline constexpr const char* kReleaseColumns =
    "id, record_id, kind, request_id, recipients, dedup, state, by_actor, by_role, worker, detail, "
    "created, due, lease_until, finished, attempts";

/// What is wrong with an order before anything is written (empty: nothing).
inline std::string checkOrder(const ReleaseOrder& o) {
  if (o.kind != "release" && o.kind != "unlock" && o.kind != "notice") {
    return "unknown release kind '" + o.kind + "' (release | unlock | notice)";
  }
  if (o.recipients.empty()) return "a " + o.kind + " needs at least one recipient";
  for (const auto& r : o.recipients) {
    if (r.empty() || r.find_first_of("\r\n<>, ") != std::string::npos || r.find('@') == std::string::npos) {
      return "'" + r + "' is not a mail address";
    }
  }
  if (o.kind == "release" && !o.payload.empty()) return "a release delivers the original, not a payload";
  if (o.kind != "release" && o.payload.empty()) return "a " + o.kind + " needs its message";
  return "";
}

/// The dedup key a job is stored with: a release of a request is one job per request.
inline std::string dedupKey(const ReleaseOrder& o) {
  if (!o.dedup.empty()) return o.dedup;
  if (o.kind == "release" && o.request_id) return "request:" + std::to_string(o.request_id);
  return "";
}

/// The job a backend just queued for `o` (both backends answer queueRelease with it).
inline ReleaseJob queuedJob(const ReleaseOrder& o, std::int64_t id, const std::string& actor,
                            const std::string& role, const std::string& dedup, std::int64_t now,
                            std::int64_t due) {
  ReleaseJob out;
  out.id = id;
  out.record_id = o.record_id;
  out.kind = o.kind;
  out.state = "queued";
  out.by = actor;
  out.role = role;
  out.request_id = o.request_id;
  out.recipients = o.recipients;
  out.dedup = dedup;
  out.created = now;
  out.due = due;
  return out;
}

inline std::string queueDetail(const ReleaseOrder& o, std::int64_t job) {
  std::string d = "job=" + std::to_string(job) + " to=" + joinLines(o.recipients);
  for (auto& c : d) {
    if (c == '\n') c = ',';
  }
  if (o.request_id) d += " request=" + std::to_string(o.request_id);
  if (!o.note.empty()) d += " " + o.note;
  return d;
}

/// What a finished attempt does to the job, the record and its request ("": unchanged).
struct FinishStates {
  std::string job, record, request;
};
inline FinishStates finishStates(const std::string& kind, ReleaseOutcome o) {
  FinishStates f;
  switch (o) {
    case ReleaseOutcome::Delivered: f.job = "delivered"; break;
    case ReleaseOutcome::Refused: f.job = "refused"; break;
    case ReleaseOutcome::Failed: f.job = "failed"; break;
    case ReleaseOutcome::Retry: f.job = "retry"; break;
  }
  // A notice changes nothing; an unlock delivered the sanitized content, not the original: the
  // record stays as it was (the audit rows and releases() say what happened).
  if (kind != "release") return f;
  if (o == ReleaseOutcome::Delivered) f.record = f.request = "released";
  if (o == ReleaseOutcome::Refused) f.record = f.request = "refused";
  return f;
}

/// The audit detail of a claim: the job, its attempt, and whether a stopped runner's lease ran out.
inline std::string claimDetail(const ReleaseJob& j, const std::string& was) {
  return "job=" + std::to_string(j.id) + " attempt=" + std::to_string(j.attempts) +
         (was == "running" ? " (lease of a stopped runner ran out)" : "");
}

/// The audit detail of a finished (or retried) job.
inline std::string finishDetail(std::int64_t job_id, bool final, std::int64_t retry_at,
                                const std::string& detail) {
  std::string d = "job=" + std::to_string(job_id);
  if (!final) d += " retry_at=" + std::to_string(retry_at);
  if (!detail.empty()) d += " " + detail;
  return d;
}

/// The "claimable" condition, with ?now / $now spelled by the backend.
inline std::string dueCondition(const std::string& now) {
  return "((state IN ('queued', 'retry') AND due <= " + now + ") OR (state = 'running' AND lease_until <= " +
         now + "))";
}

}  // namespace mugai::vault::internal
