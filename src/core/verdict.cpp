#include "mugai/core/verdict.h"

#include <array>

namespace mugai {
namespace {

constexpr ReasonInfo kReasons[] = {
#define MUGAI_REASON(id, name, verdict, fail_closed, status, text) \
  {Reason::id, name, Verdict::verdict, fail_closed, status, text},
#include "mugai/core/reasons.def"
#undef MUGAI_REASON
};
constexpr std::size_t kReasonCount = sizeof(kReasons) / sizeof(kReasons[0]);

constexpr std::array<std::string_view, 6> kVerdictNames = {
    "pass", "modified", "part_removed", "tempfail", "quarantine", "reject"};

}  // namespace

std::string_view verdictName(Verdict v) {
  auto i = static_cast<std::size_t>(v);
  return i < kVerdictNames.size() ? kVerdictNames[i] : "reject";
}

std::optional<Verdict> verdictByName(std::string_view name) {
  for (std::size_t i = 0; i < kVerdictNames.size(); ++i) {
    if (kVerdictNames[i] == name) return static_cast<Verdict>(i);
  }
  return std::nullopt;
}

const ReasonInfo& reasonInfo(Reason r) {
  auto i = static_cast<std::size_t>(r);
  // Reason values index the table by construction; anything else is an invariant violation,
  // answered with the most restrictive row (the first).
  return i < kReasonCount ? kReasons[i] : kReasons[0];
}

std::optional<Reason> reasonByName(std::string_view name) {
  for (const auto& row : kReasons) {
    if (row.name == name) return row.id;
  }
  return std::nullopt;
}

const ReasonInfo* reasonTable(std::size_t* count) {
  *count = kReasonCount;
  return kReasons;
}

}  // namespace mugai
