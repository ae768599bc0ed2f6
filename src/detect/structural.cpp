// See structural.h. Sources of the structures: the public reverse-engineering notes of OpenJTD
// and ezpzfile-jtd (一太郎: per-storage "\x04JSRV_SegmentInformation", .jttc "JSCompDocument")
// and ezpzfile-xdw (DocuWorks: TLV header 0x60, segments 0x61, trailer 0x68/0x65 found from
// the file's last four bytes). Neither format has a printable magic number.
#include "src/detect/structural.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace mugai::detect {
namespace {

constexpr std::size_t kMaxSlots = 1u << 20;  // 128 MiB of directory slots: more than any input

std::uint16_t le16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) |
                                    (static_cast<unsigned char>(s[at + 1]) << 8));
}

/// A compound-file directory entry at `at` ([MS-CFB] 2.6: UTF-16LE name of up to 31 units,
/// name length in bytes with the terminator at 0x40, object type at 0x42) whose name, after one
/// leading control character (JustSystems writes \x04), is `want`.
bool entryNamed(std::string_view d, std::size_t at, std::string_view want) {
  std::uint16_t bytes = le16(d, at + 0x40);
  std::uint8_t type = static_cast<std::uint8_t>(d[at + 0x42]);
  if ((type != 1 && type != 2) || bytes < 4 || bytes > 64 || bytes % 2) return false;
  std::size_t units = bytes / 2 - 1;
  std::size_t first = le16(d, at) < 0x20 ? 1 : 0;
  if (units != want.size() + first) return false;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (le16(d, at + 2 * (first + i)) != static_cast<unsigned char>(want[i])) return false;
  return true;
}

struct Tlv {
  std::uint8_t tag = 0;
  std::size_t value = 0, len = 0;
  std::size_t end() const { return value + len; }
};

/// One DocuWorks element at `at`: tag, then a length below 0x80, or 0x80|k and k big-endian
/// bytes (k = 1..4). Nothing when it runs past `limit`.
std::optional<Tlv> tlvAt(std::string_view d, std::size_t at, std::size_t limit) {
  if (at + 2 > limit) return std::nullopt;
  Tlv t;
  t.tag = static_cast<std::uint8_t>(d[at]);
  unsigned char l = static_cast<unsigned char>(d[at + 1]);
  std::size_t pos = at + 2;
  if (l < 0x80) {
    t.len = l;
  } else {
    std::size_t k = l & 0x7F;
    if (k < 1 || k > 4 || pos + k > limit) return std::nullopt;
    for (std::size_t i = 0; i < k; ++i) t.len = (t.len << 8) | static_cast<unsigned char>(d[pos + i]);
    pos += k;
  }
  t.value = pos;
  if (t.len > limit - pos) return std::nullopt;
  return t;
}

}  // namespace

std::optional<TypeInfo> ichitaroCompound(std::string_view d) {
  if (d.size() < 1024 || std::memcmp(d.data(), "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) != 0)
    return std::nullopt;
  std::size_t slots = 0;
  for (std::size_t at = 512; at + 128 <= d.size() && slots < kMaxSlots; at += 128, ++slots) {
    if (entryNamed(d, at, "JSRV_SegmentInformation") || entryNamed(d, at, "JSRV_SummaryInformation"))
      return TypeInfo{"application/x-ichitaro", "一太郎 (Ichitaro) document, compound file"};
    if (entryNamed(d, at, "JSCompDocument"))
      return TypeInfo{"application/x-ichitaro", "一太郎 (Ichitaro) document, compressed (.jttc)"};
  }
  return std::nullopt;
}

std::optional<TypeInfo> docuworks(std::string_view d) {
  const std::size_t n = d.size();
  if (n < 24 || static_cast<unsigned char>(d[0]) != 0x60) return std::nullopt;
  auto header = tlvAt(d, 0, n);
  if (!header) return std::nullopt;
  bool generation = false;
  for (std::size_t at = header->value; at < header->end();) {
    auto f = tlvAt(d, at, header->end());
    if (!f) return std::nullopt;
    if (f->tag == 0x82 && f->len >= 1 && f->len <= 2) generation = true;
    at = f->end();
  }
  if (!generation || header->end() >= n || static_cast<unsigned char>(d[header->end()]) != 0x61)
    return std::nullopt;
  // The trailer: its value's length is the last four bytes, and it ends the file.
  std::size_t self_len = static_cast<unsigned char>(d[n - 4]) | (static_cast<unsigned char>(d[n - 3]) << 8) |
                         (static_cast<std::size_t>(static_cast<unsigned char>(d[n - 2])) << 16) |
                         (static_cast<std::size_t>(static_cast<unsigned char>(d[n - 1])) << 24);
  if (self_len < 4 || self_len >= n) return std::nullopt;
  std::size_t value = n - self_len;
  for (std::size_t hdr = 2; hdr <= 6 && hdr <= value; ++hdr) {
    std::size_t at = value - hdr;
    unsigned char tag = static_cast<unsigned char>(d[at]);
    if (tag != 0x68 && tag != 0x65) continue;
    auto t = tlvAt(d, at, n);
    if (t && t->value == value && t->end() == n)
      return TypeInfo{"application/vnd.fujixerox.docuworks", "DocuWorks document or binder"};
  }
  return std::nullopt;
}

}  // namespace mugai::detect
