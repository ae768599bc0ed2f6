// Checks on a leaf's bytes that take milliseconds and spare the scanner a minute: run before the
// scan chain, so that libclamav never spends its whole time budget on a file we refuse anyway.
#include "src/pipeline/walker.h"
#include "src/zip/zip.h"

namespace mugai::pipeline {
namespace {

constexpr int kNestedDepth = 3;

/// Entries a scanner walks in `data`: the ZIP's own and, kNestedDepth levels down, those of the
/// ZIPs stored inside it (a ZIP holding one ZIP of 60,000 entries cost libclamav its minute as
/// well). A member counts as a ZIP by its first bytes, read without expanding it; only such
/// members are expanded, within `budget` (the decoded-bytes limit).
std::uint64_t entriesToScan(std::string_view data, const Limits& limits, Budget& budget, int depth) {
  auto n = zip::countEntriesQuickly(data);
  if (!n) return 0;
  std::uint64_t total = *n;
  if (depth >= kNestedDepth || total > limits.zip_entry_count_limit) return total;
  zip::Failure failure;
  auto archive = zip::Archive::open(data, zip::ReadLimits::fromLimits(limits), &failure);
  if (!archive) return total;  // the scanner and the archive chain judge a broken one
  for (const zip::Entry& e : archive->entries()) {
    if (e.directory() || e.uncompressed_size < 22) continue;
    std::string head = archive->head(e, 4);
    if (head != std::string_view("PK\x03\x04", 4) && head != std::string_view("PK\x05\x06", 4)) continue;
    std::string inner;
    if (archive->extract(e, budget, &inner)) continue;
    total += entriesToScan(inner, limits, budget, depth + 1);
    if (total > limits.zip_entry_count_limit) break;
  }
  return total;
}

}  // namespace

std::optional<Refusal> prescreen(const Part& part, const Limits& limits) {
  // A ZIP with 60,000-100,000 entries kept libclamav busy for its whole scan time (issue 10):
  // counted from the end record, the central directory and the local headers, whichever says
  // most, with the entries of the ZIPs nested in it, against zip_entry_count_limit.
  Budget budget(limits);
  if (std::uint64_t n = entriesToScan(part.data, limits, budget, 0); n > limits.zip_entry_count_limit) {
    return Refusal{Reason::LimitArchiveMembers,
                   "ZIP with " + std::to_string(n) + " entries, nested ZIPs included (zip_entry_count_limit " +
                       std::to_string(limits.zip_entry_count_limit) + "), refused before scanning"};
  }
  return std::nullopt;
}

}  // namespace mugai::pipeline
