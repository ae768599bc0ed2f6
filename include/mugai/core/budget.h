/**
 * @file budget.h
 * @brief Budget: the per-message account of limits (ClamAV cli_checklimits idea).
 *
 * Trust: amounts passed in are derived from input; the budget is what bounds them.
 * Limits: decoded bytes, part count and the wall-clock deadline of one message.
 * Errors: charge*() and checkDeadline() return the Reason of the first limit reached, or nullopt.
 *         Once a limit is reached the budget stays exhausted (`exhausted()`).
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "mugai/core/limits.h"
#include "mugai/core/verdict.h"

namespace mugai {

class Budget {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Budget(const Limits& limits, Clock::time_point start = Clock::now());

  /// Account `bytes` more decoded bytes; refuses (limit.decoded_bytes) before the caller allocates.
  std::optional<Reason> chargeDecoded(std::uint64_t bytes);
  /// Account one more MIME entity (limit.parts).
  std::optional<Reason> chargePart();
  /// Account one more archive member, over every archive of the item and every nesting level
  /// (limit.archive_members). Not sticky: the archive is removed, the rest of the item goes on.
  std::optional<Reason> chargeArchiveMember();
  /// `n` members at once (a container's files), all or none: a refused container leaves the
  /// budget as it was for the rest of the item.
  std::optional<Reason> chargeArchiveMembers(std::uint64_t n);
  /// limit.time once the message deadline has passed.
  std::optional<Reason> checkDeadline() const;

  std::uint64_t decodedBytes() const { return decoded_; }
  std::uint64_t parts() const { return parts_; }
  std::optional<Reason> exhausted() const { return exhausted_; }
  const Limits& limits() const { return limits_; }

 private:
  const Limits& limits_;
  Clock::time_point deadline_;
  std::uint64_t decoded_ = 0;
  std::uint64_t parts_ = 0;
  std::uint64_t archive_members_ = 0;
  std::optional<Reason> exhausted_;
};

}  // namespace mugai
