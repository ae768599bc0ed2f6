#include "src/console/html.h"

#include <cstdint>
#include <cstdio>

namespace mugai::console {
namespace {

/// Decodes one UTF-8 sequence at s[i]; returns the code point or 0xFFFD (and advances i).
char32_t nextCodePoint(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

/// Characters that are not shown as themselves: controls, bidi controls, invisible formatting.
bool shownAsMarker(char32_t cp, bool multiline) {
  if (cp == '\n' || cp == '\t') return !multiline;
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;
  if (cp == 0x061C || cp == 0x200E || cp == 0x200F) return true;           // ALM, LRM, RLM
  if (cp >= 0x200B && cp <= 0x200D) return true;                            // zero width
  if (cp >= 0x202A && cp <= 0x202E) return true;                            // LRE..RLO
  if (cp >= 0x2060 && cp <= 0x206F) return true;                            // LRI..PDI, invisible ops
  if (cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB)) return true;          // BOM, annotations
  if (cp >= 0xE0000 && cp <= 0xE007F) return true;                          // tags
  return false;
}

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

namespace {

std::string escape(std::string_view s, bool multiline, std::size_t max_bytes, bool attribute) {
  std::string out;
  out.reserve(s.size() + 16);
  const bool cut = s.size() > max_bytes;
  if (cut) s = s.substr(0, max_bytes);
  std::size_t i = 0;
  while (i < s.size()) {
    const char32_t cp = nextCodePoint(s, i);
    if (shownAsMarker(cp, multiline)) {
      char buf[48];
      std::snprintf(buf, sizeof buf,
                    attribute ? "&lt;U+%04X&gt;" : "<span class=\"cp\">&lt;U+%04X&gt;</span>",
                    static_cast<unsigned>(cp));
      out += buf;
      continue;
    }
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: appendUtf8(out, cp);
    }
  }
  if (cut) out += "…";
  return out;
}

}  // namespace

std::string escapeHtml(std::string_view s, bool multiline, std::size_t max_bytes) {
  return escape(s, multiline, max_bytes, false);
}

std::string escapeAttr(std::string_view s, std::size_t max_bytes) {
  return escape(s, false, max_bytes, true);
}

std::string urlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace mugai::console
