// What the vault backends share (src/vault/*.cpp only): the record columns in list order, the
// first audit row's prev_hash, line-joined lists and the clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace mugai::vault::internal
