// Checks on a leaf's bytes that take milliseconds and spare the scanner a minute: run before the
// scan chain, so that libclamav never spends its whole time budget on a file we refuse anyway.
#include "src/pipeline/walker.h"
#include "src/zip/zip.h"

namespace mugai::pipeline {

std::optional<Refusal> prescreen(const Part& part, const Limits& limits) {
  // A ZIP with 60,000-100,000 entries kept libclamav busy for its whole scan time (issue 10):
  // counted from the end record, the central directory and the local headers, whichever says
  // most, against zip_entry_count_limit.
  if (auto n = zip::countEntriesQuickly(part.data); n && *n > limits.zip_entry_count_limit) {
    return Refusal{Reason::LimitArchiveMembers,
                   "ZIP with " + std::to_string(*n) + " entries (zip_entry_count_limit " +
                       std::to_string(limits.zip_entry_count_limit) + "), refused before scanning"};
  }
  return std::nullopt;
}

}  // namespace mugai::pipeline
