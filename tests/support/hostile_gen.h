// Hostile fixtures generated in memory (never copied from elsewhere): shared by the tests and
// bench/dos_bench.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace mugai::test {

namespace gen_detail {
inline void le16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
inline void le32(std::string& s, std::uint32_t v) {
  le16(s, static_cast<std::uint16_t>(v & 0xffff));
  le16(s, static_cast<std::uint16_t>(v >> 16));
}
inline void le64(std::string& s, std::uint64_t v) {
  le32(s, static_cast<std::uint32_t>(v & 0xffffffffu));
  le32(s, static_cast<std::uint32_t>(v >> 32));
}
}  // namespace gen_detail

/// A ZIP of `n` empty stored members ("f0.txt", ...); ZIP64 end records when n > 65535.
/// `declared` (when not 0) is what the end record claims instead of n (a lying count).
inline std::string zipWithEntries(std::uint64_t n, std::uint64_t declared = 0) {
  using namespace gen_detail;
  std::string out, central;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name = "f" + std::to_string(i) + ".txt";
    std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    le32(out, 0x04034b50); le16(out, 10); le16(out, 0); le16(out, 0); le16(out, 0); le16(out, 0x21);
    le32(out, 0); le32(out, 0); le32(out, 0);
    le16(out, static_cast<std::uint16_t>(name.size())); le16(out, 0);
    out += name;
    le32(central, 0x02014b50); le16(central, 20); le16(central, 10); le16(central, 0); le16(central, 0);
    le16(central, 0); le16(central, 0x21); le32(central, 0); le32(central, 0); le32(central, 0);
    le16(central, static_cast<std::uint16_t>(name.size())); le16(central, 0); le16(central, 0);
    le16(central, 0); le16(central, 0); le32(central, 0); le32(central, offset);
    central += name;
  }
  std::uint64_t count = declared ? declared : n;
  std::uint64_t cd_offset = out.size();
  out += central;
  bool zip64 = count > 0xfffe;
  if (zip64) {
    std::uint64_t z = out.size();
    le32(out, 0x06064b50); le64(out, 44); le16(out, 45); le16(out, 45); le32(out, 0); le32(out, 0);
    le64(out, count); le64(out, count); le64(out, central.size()); le64(out, cd_offset);
    le32(out, 0x07064b50); le32(out, 0); le64(out, z); le32(out, 1);
  }
  le32(out, 0x06054b50); le16(out, 0); le16(out, 0);
  le16(out, zip64 ? 0xffff : static_cast<std::uint16_t>(count));
  le16(out, zip64 ? 0xffff : static_cast<std::uint16_t>(count));
  le32(out, static_cast<std::uint32_t>(central.size()));
  le32(out, zip64 ? 0xffffffffu : static_cast<std::uint32_t>(cd_offset));
  le16(out, 0);
  return out;
}

/// An HTML document whose one element carries `n` distinct attributes. `quoted_gt` puts a '>'
/// inside the first attribute's quoted value (a scanner that ends the tag there sees none).
inline std::string htmlWithAttributes(std::size_t n, bool quoted_gt = false) {
  std::string s = "<html><body><div";
  if (quoted_gt) s += " title=\"a>b\"";
  for (std::size_t i = 0; i < n; ++i) s += " a" + std::to_string(i) + "=x";
  s += ">hello</div></body></html>";
  return s;
}

}  // namespace mugai::test
