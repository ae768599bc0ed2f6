/**
 * @file verdict.h
 * @brief The ordered verdict scale and the reason table.
 *
 * Trust: none needed; these are our own codes.
 * Limits: none.
 * Errors: reasonByName() returns std::nullopt for an unknown name.
 *
 * Verdicts combine by max(): the worst wins. The ordering is part of the contract and is tested:
 *   Pass < Modified < PartRemoved < TempFail < Quarantine < Reject
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mugai {

enum class Verdict : std::uint8_t { Pass = 0, Modified, PartRemoved, TempFail, Quarantine, Reject };

/// The worse of two verdicts.
constexpr Verdict worst(Verdict a, Verdict b) { return a < b ? b : a; }
std::string_view verdictName(Verdict v);  // "pass", "modified", "part_removed", ...
std::optional<Verdict> verdictByName(std::string_view name);

enum class Reason : std::uint16_t {
#define MUGAI_REASON(id, name, verdict, fail_closed, status, text) id,
#include "mugai/core/reasons.def"
#undef MUGAI_REASON
};

struct ReasonInfo {
  Reason id;
  std::string_view name;           ///< dotted, stable, e.g. "limit.mime_depth"
  Verdict default_verdict;
  bool fail_closed;                ///< may never be overridden to let the content pass as it is
  std::string_view enhanced_status;  ///< RFC 3463, e.g. "5.6.0"
  std::string_view public_text;    ///< English, generic; Japanese lives in the rules' notice texts
};

const ReasonInfo& reasonInfo(Reason r);
std::optional<Reason> reasonByName(std::string_view name);
/// Every row, in table order (most serious first).
const ReasonInfo* reasonTable(std::size_t* count);

}  // namespace mugai
