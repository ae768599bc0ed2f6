// PowerPoint VBA cut out in place: see ppt.h.
#include "sanitizers/ole2/ppt.h"

#include <cstdint>
#include <map>
#include <set>

#include "mugai/core/digest.h"

namespace mugai::sanitizers::ole2 {
namespace {

constexpr std::uint16_t kVbaInfoAtom = 0x0400, kExOleObjStg = 0x1011, kUserEditAtom = 0x0FF5,
                        kPersistDirectoryAtom = 0x1772, kCryptSession = 0x2F14;
constexpr std::uint32_t kEncryptedToken = 0xF3D1C4DFu;

std::uint32_t le32(std::string_view s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24);
}
std::uint16_t le16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) | (static_cast<unsigned char>(s[at + 1]) << 8));
}

struct Header {
  std::uint16_t ver_inst = 0, type = 0;
  std::uint32_t len = 0;
};
/// The record header at `at` whose body fits in the stream.
std::optional<Header> headerAt(std::string_view s, std::size_t at) {
  if (at > s.size() || s.size() - at < 8) return std::nullopt;
  Header h{le16(s, at), le16(s, at + 2), le32(s, at + 4)};
  if (h.len > s.size() - at - 8) return std::nullopt;
  return h;
}

struct Walk {
  std::vector<std::size_t> vba_atoms;  // stream offsets of VBAInfoAtoms naming a project
  bool encrypted = false;
  std::uint64_t records = 0;
};

void walk(std::string_view s, std::size_t begin, std::size_t end, int depth, Walk& w) {
  for (std::size_t pos = begin; pos + 8 <= end && w.records < 2000000;) {
    ++w.records;
    std::uint16_t ver_inst = le16(s, pos), type = le16(s, pos + 2);
    std::size_t len = std::min<std::size_t>(le32(s, pos + 4), end - pos - 8);
    if (type == kCryptSession) w.encrypted = true;
    if (type == kVbaInfoAtom && len >= 8 && (le32(s, pos + 8) != 0 || le32(s, pos + 12) != 0))
      w.vba_atoms.push_back(pos);
    if ((ver_inst & 0x0F) == 0x0F && depth < 16) walk(s, pos + 8, pos + 8 + len, depth + 1, w);
    pos += 8 + len;
  }
}

/// persist id -> stream offset, newest edit first ([MS-PPT] 2.3.2-2.3.4). Nothing when the
/// chain cannot be followed.
std::optional<std::map<std::uint32_t, std::uint32_t>> persistDirectory(std::string_view s, std::string_view cu) {
  if (cu.size() < 20 || le32(cu, 12) == kEncryptedToken) return std::nullopt;
  std::map<std::uint32_t, std::uint32_t> map;
  std::set<std::uint32_t> seen;
  for (std::uint32_t edit = le32(cu, 16); edit != 0 && seen.size() < 4096; ) {
    if (!seen.insert(edit).second) return std::nullopt;  // a cycle
    auto ue = headerAt(s, edit);
    if (!ue || ue->type != kUserEditAtom || ue->len < 28) return std::nullopt;
    std::uint32_t last = le32(s, edit + 8 + 8), dir = le32(s, edit + 8 + 12);
    auto pd = headerAt(s, dir);
    if (!pd || pd->type != kPersistDirectoryAtom) return std::nullopt;
    for (std::size_t p = dir + 8, e = dir + 8 + pd->len; p + 4 <= e;) {
      std::uint32_t info = le32(s, p);
      std::uint32_t first = info & 0xFFFFF, count = info >> 20;
      p += 4;
      if (count > (e - p) / 4) return std::nullopt;
      for (std::uint32_t k = 0; k < count; ++k, p += 4) map.emplace(first + k, le32(s, p));  // newest kept
    }
    edit = last;
  }
  return map;
}

}  // namespace

bool pptEmptiedStorage(const unsigned char* body, std::size_t n) {
  if (n == 0) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (body[i] != 0) return false;
  return true;
}

PptVbaEdit stripPptVba(std::string_view document, std::string_view current_user) {
  PptVbaEdit out;
  // Encrypted presentations are refused as such by the caller (content.encrypted).
  if (current_user.size() >= 16 && le32(current_user, 12) == kEncryptedToken) return out;
  Walk w;
  walk(document, 0, document.size(), 0, w);
  if (w.vba_atoms.empty() || w.encrypted) return out;  // nothing named; encryption refused elsewhere
  out.unchanged = false;
  auto map = persistDirectory(document, current_user);
  if (!map) {
    out.refused = "a PowerPoint VBA project whose persist directory cannot be followed";
    return out;
  }
  std::string s(document);
  for (std::size_t atom : w.vba_atoms) {
    std::uint32_t id = le32(s, atom + 8);
    if (id != 0) {
      auto it = map->find(id);
      auto h = it == map->end() ? std::nullopt : headerAt(s, it->second);
      if (!h || h->type != kExOleObjStg) {
        out.refused = "a PowerPoint VBA project that is not where the persist directory says";
        return out;
      }
      // Hashed as stored: the record's data (its 4-byte size and the compressed project).
      std::string sha = sha256Hex(std::string_view(s).substr(it->second + 8, h->len));
      std::fill(s.begin() + it->second + 8, s.begin() + it->second + 8 + h->len, '\0');
      out.findings.push_back({"removed", "PowerPoint VBA project (ExOleObjStg, persist id " +
                                             std::to_string(id) + ", " + std::to_string(h->len) + " bytes)",
                              std::move(sha)});
    } else {
      out.findings.push_back({"removed", "PowerPoint VBA flag (fHasMacros)"});
    }
    std::fill(s.begin() + atom + 8, s.begin() + atom + 16, '\0');  // persistIdRef, fHasMacros
  }
  out.stream = std::move(s);
  return out;
}

}  // namespace mugai::sanitizers::ole2
