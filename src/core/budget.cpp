#include "mugai/core/budget.h"

namespace mugai {

Budget::Budget(const Limits& limits, Clock::time_point start)
    : limits_(limits), deadline_(start + std::chrono::milliseconds(limits.sanitizer_deadline_ms)) {}

std::optional<Reason> Budget::chargeDecoded(std::uint64_t bytes) {
  if (exhausted_) return exhausted_;
  if (bytes > limits_.decoded_bytes_limit || decoded_ > limits_.decoded_bytes_limit - bytes) {
    exhausted_ = Reason::LimitDecodedBytes;
    return exhausted_;
  }
  decoded_ += bytes;
  return std::nullopt;
}

std::optional<Reason> Budget::chargePart() {
  if (exhausted_) return exhausted_;
  if (parts_ >= limits_.mime_part_count_limit) {
    exhausted_ = Reason::LimitParts;
    return exhausted_;
  }
  ++parts_;
  return std::nullopt;
}

std::optional<Reason> Budget::chargeArchiveMember() {
  if (archive_members_ >= limits_.archive_member_count_limit) return Reason::LimitArchiveMembers;
  ++archive_members_;
  return std::nullopt;
}

std::optional<Reason> Budget::chargeArchiveMembers(std::uint64_t n) {
  const std::uint64_t limit = limits_.archive_member_count_limit;
  if (archive_members_ > limit || n > limit - archive_members_) return Reason::LimitArchiveMembers;
  archive_members_ += n;
  return std::nullopt;
}

std::optional<Reason> Budget::checkDeadline() const {
  if (Clock::now() > deadline_) return Reason::LimitTime;
  return std::nullopt;
}

}  // namespace mugai
