/**
 * @file report.h
 * @brief The per-item report: what was found, what was done, and why — for people and machines.
 *
 * Trust: filenames, subjects, addresses and declared types in it are sender-controlled; toJson()
 *        repairs invalid UTF-8, escapes control characters and truncates each such value.
 * Limits: strings from input are cut at 512 bytes in the JSON.
 * Errors: none.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mugai/core/verdict.h"
#include "mugai/sanitizer/sanitizer.h"

namespace mugai {

/// One decision about one part.
struct ActionRecord {
  std::string part;      ///< tree path ("1.2"); "" for the whole item
  std::string filename;  ///< decoded file name as declared (UTF-8), "" for bodies
  std::string declared_type, detected_type;
  std::string action;     ///< kept | converted | rebuilt | renamed | removed | blocked
  std::string reason;     ///< reason name, e.g. "type.removed"
  std::string sanitizer;  ///< the step that decided ("router" for policy decisions)
  std::string detail;     ///< operator detail
  bool body = false;      ///< a message body rather than an attachment
  std::uint64_t bytes_in = 0, bytes_out = 0;
  /// SHA-256 (hex) of the part's bytes as received, for a part removed, blocked, rebuilt or
  /// converted (the vault lists it as an object); "" for a kept part.
  std::string sha256;
  std::vector<Finding> findings;
};

struct DetectionRecord {
  std::string part, filename, signature, stage;
};

struct Report {
  std::string id;
  std::string kind = "mail";  ///< "mail" or "file"
  Verdict final_verdict = Verdict::Pass;
  Reason reason = Reason::Kept;  ///< the most serious reason behind final_verdict
  std::string sender;
  std::vector<std::string> recipients;
  std::string subject, from, message_id, filename;
  std::string rules;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  double elapsed_ms = 0;
  std::vector<ActionRecord> actions;
  std::vector<DetectionRecord> detections;
  std::vector<std::string> defects;

  /// "clean" (nothing changed), "sanitized" (changed or parts removed), "blocked" (quarantined or
  /// rejected: not delivered as it is), "tempfail" (not decided: the sender's MTA retries).
  std::string verdictWord() const;
  /// One JSON object. `timings` false leaves elapsed_ms out (deterministic golden files).
  std::string toJson(bool timings = true) const;
  /// One log line: id, sender, recipients, verdict, actions, time.
  std::string logLine() const;
};

/// JSON string escaping with UTF-8 repair and truncation (for untrusted values).
std::string jsonString(const std::string& s, std::size_t max_bytes = 512);

}  // namespace mugai
