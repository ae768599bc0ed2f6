// What the vault backends share (src/vault/*.cpp only): the record columns in list order, the
// first audit row's prev_hash, line-joined lists and the clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
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

inline std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

}  // namespace mugai::vault::internal
