// UTF-8 validation and repair (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#include <cstdio>
#include <cstring>

#include "mugai/text/charset.h"
#include "src/text/text_internal.h"

namespace mugai::text {
namespace internal {

namespace {

constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

}  // namespace

/// Length of the well-formed sequence at p (1-4), or, when ill-formed, minus the length of its
/// maximal subpart (at least 1 byte), as the Unicode "U+FFFD substitution of maximal subparts"
/// practice (and WHATWG) require.
int sequenceAt(const unsigned char* p, std::size_t n) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (static_cast<std::size_t>(i) >= n) return -i;
    const unsigned char b = p[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return -i;
  }
  return need + 1;
}

bool isAscii(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t acc = 0;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
    p += 8;
    n -= 8;
  }
  if (acc & kHighBits) return false;
  while (n--) {
    if (static_cast<unsigned char>(*p++) >= 0x80) return false;
  }
  return true;
}

/// Number of leading ASCII bytes of [p, p+n), scanning 8 bytes at a time.
std::size_t asciiPrefix(const unsigned char* p, std::size_t n) {
  std::size_t i = 0;
  while (i + 8 <= n) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & kHighBits) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

}  // namespace internal

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool isValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    i += internal::asciiPrefix(p + i, n - i);
    if (i >= n) break;
    const int len = internal::sequenceAt(p + i, n - i);
    if (len < 0) return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

std::string sanitizeUtf8(std::string_view s, std::size_t* replaced) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::string out;
  out.reserve(n + 16);
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < n) {
    const std::size_t run = internal::asciiPrefix(p + i, n - i);
    if (run) {
      out.append(s.data() + i, run);
      i += run;
      if (i >= n) break;
    }
    const int len = internal::sequenceAt(p + i, n - i);
    if (len > 0) {
      out.append(s.data() + i, static_cast<std::size_t>(len));
      i += static_cast<std::size_t>(len);
    } else {
      internal::appendReplacement(out);
      ++count;
      i += static_cast<std::size_t>(-len);
    }
  }
  if (replaced) *replaced = count;
  return out;
}

bool isInvisible(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
         (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
         (cp >= 0xe0000 && cp <= 0xe007f);
}

std::string logEscape(std::string_view s, std::size_t max_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::string out;
  char buf[16];
  std::size_t i = 0;
  while (i < n) {
    int len = p[i] < 0x80 ? 1 : internal::sequenceAt(p + i, n - i);
    std::size_t step = len > 0 ? static_cast<std::size_t>(len) : 1;
    if (i + step > max_bytes) break;
    if (len <= 0) {
      std::snprintf(buf, sizeof buf, "<0x%02X>", p[i]);
      out += buf;
    } else {
      char32_t cp = p[i];
      if (len > 1) {
        cp &= 0xffu >> (len + 1);
        for (int k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3f);
      }
      // '"' and '<' too: the line's quoted values and <U+...> markers cannot be imitated.
      if (isInvisible(cp) || cp == '"' || cp == '<') {
        std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
        out += buf;
      } else {
        out.append(s.data() + i, step);
      }
    }
    i += step;
  }
  if (i < n) out += "...";
  return out;
}

}  // namespace mugai::text
