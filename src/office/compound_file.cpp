// The directory check before libgsf (compound_file.h); moved here from sanitizer.ole2 so that
// the engine's .msg reader and the sanitizer share it without the core including a sanitizer.
#include "src/office/compound_file.h"

#include <gsf/gsf-utils.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

namespace mugai::office {
namespace {

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

/// libgsf (gsf-infile-msole.c, ole_dirent_new) follows the directory's left/right/child links by
/// plain recursion, one C stack frame per link. A hostile file can chain tens of thousands of
/// entries (or make them a cycle) and overflow the worker's stack before libgsf returns. So we
/// read the header, the FAT and the directory chain ourselves first and measure that recursion
/// with an explicit stack: a cycle is malformed, a depth over kMaxDirectoryDepth is refused.
/// Anything we cannot follow here is left for libgsf to reject.
constexpr std::uint32_t kMaxDirectoryDepth = 4096;

std::optional<std::pair<Reason, std::string>> precheckDirectory(std::string_view f, const Limits& limits) {
  auto* b = reinterpret_cast<const unsigned char*>(f.data());
  if (f.size() < 512 || std::memcmp(b, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) != 0)
    return std::make_pair(Reason::ParseMalformed, std::string("no OLE2 signature"));
  std::uint32_t shift = le16(b + 0x1E);
  if (shift != 9 && shift != 12) return std::nullopt;  // libgsf decides
  std::uint64_t ss = 1ull << shift;
  std::uint64_t sectors = f.size() > ss ? (f.size() - ss) / ss : 0;
  auto sector = [&](std::uint32_t n) -> const unsigned char* {
    if (n >= sectors) return nullptr;
    return b + (static_cast<std::uint64_t>(n) + 1) * ss;
  };
  // FAT sector numbers: 109 in the header, the rest in the DIFAT chain.
  std::vector<std::uint32_t> fat;
  std::uint32_t nfat = le32(b + 0x2C);
  for (int i = 0; i < 109 && fat.size() < nfat; ++i) fat.push_back(le32(b + 0x4C + 4 * i));
  std::uint32_t difat = le32(b + 0x44);
  for (std::uint64_t hops = 0; fat.size() < nfat && hops <= sectors; ++hops) {
    const unsigned char* d = sector(difat);
    if (!d) break;
    for (std::uint64_t i = 0; i + 1 < ss / 4 && fat.size() < nfat; ++i) fat.push_back(le32(d + 4 * i));
    difat = le32(d + ss - 4);
  }
  auto next = [&](std::uint32_t n) -> std::uint32_t {
    std::uint64_t per = ss / 4;
    if (n / per >= fat.size()) return 0xFFFFFFFEu;
    const unsigned char* s = sector(fat[n / per]);
    return s ? le32(s + 4 * (n % per)) : 0xFFFFFFFEu;
  };
  // The directory stream: its sectors in chain order.
  std::vector<const unsigned char*> dir;
  for (std::uint32_t n = le32(b + 0x30); dir.size() <= sectors; n = next(n)) {
    const unsigned char* s = sector(n);
    if (!s) break;
    dir.push_back(s);
  }
  std::uint64_t per_sector = ss / 128;
  std::uint64_t count = dir.size() * per_sector;
  if (count == 0) return std::nullopt;
  auto entry = [&](std::uint32_t i) { return dir[i / per_sector] + 128 * (i % per_sector); };
  std::vector<bool> seen(count, false);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> todo{{0, 1}};  // (entry, recursion depth)
  std::uint64_t live = 0;
  while (!todo.empty()) {
    auto [i, depth] = todo.back();
    todo.pop_back();
    if (i >= count) continue;  // NOSTREAM and out-of-range links end a branch (libgsf too)
    if (seen[i]) return std::make_pair(Reason::ParseMalformed, std::string("the OLE2 directory has a cycle"));
    seen[i] = true;
    if (depth > kMaxDirectoryDepth) return std::make_pair(Reason::LimitDocumentObjects, std::string("the OLE2 directory tree is too deep"));
    if (++live > limits.document_object_limit + 1)
      return std::make_pair(Reason::LimitDocumentObjects, std::string("more directory entries than document_object_limit"));
    const unsigned char* e = entry(i);
    std::uint8_t type = e[0x42];
    if (type != 1 && type != 2 && type != 5) continue;  // libgsf stops at unknown types
    todo.push_back({le32(e + 0x44), depth + 1});
    todo.push_back({le32(e + 0x48), depth + 1});
    if (type != 2) todo.push_back({le32(e + 0x4C), depth + 1});
  }
  return std::nullopt;
}

}  // namespace

void initGsf() {
  static std::once_flag once;
  std::call_once(once, [] {
    gsf_init();
    // libgsf reports hostile input with g_critical()/g_warning() on stderr; the outcome (and its
    // reason) is what counts, and a sender must not be able to fill the service's log.
    for (const char* domain : {"libgsf", "libgsf:msole", "libgsf:zip", "libgsf:utils"}) {
      g_log_set_handler(domain, static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL),
                        [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
    }
  });
}

std::optional<std::pair<Reason, std::string>> precheckCompoundFile(std::string_view data,
                                                                  const Limits& limits) {
  initGsf();
  return precheckDirectory(data, limits);
}

}  // namespace mugai::office
