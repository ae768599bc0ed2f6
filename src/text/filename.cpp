// Safe and visible file names (include/mugai/text/filename.h): used by the engine (attachment and
// .eml names, notices), the file drop (outbox names, notes, log lines) and sanitizer.filename_sanitize.
#include "mugai/text/filename.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "mugai/text/charset.h"

namespace mugai::text {
namespace {

/// The code point of the valid UTF-8 sequence of `len` bytes at s[i].
char32_t codePoint(std::string_view s, std::size_t i, std::size_t len) {
  auto b = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]));
  };
  if (len == 1) return b(0);
  char32_t cp = b(0) & (0xffu >> (len + 1));
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (b(k) & 0x3f);
  return cp;
}

/// Windows device names, whatever follows: "CON", "con.txt", "CON .txt" (spaces and dots before
/// the extension are dropped by Win32), "CONIN$", "COM1"-"COM9", "COM0", "COM¹²³", "LPT..." alike.
bool isReservedDevice(std::string_view stem) {
  while (!stem.empty() && (stem.back() == ' ' || stem.back() == '.')) stem.remove_suffix(1);
  std::string up;
  for (char c : stem) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  static const std::array<std::string_view, 6> fixed = {"CON", "PRN",    "AUX",
                                                        "NUL", "CONIN$", "CONOUT$"};
  if (std::find(fixed.begin(), fixed.end(), up) != fixed.end()) return true;
  if (up.size() < 4 || (up.rfind("COM", 0) != 0 && up.rfind("LPT", 0) != 0)) return false;
  std::string_view digit = std::string_view(up).substr(3);
  return (digit.size() == 1 && digit[0] >= '0' && digit[0] <= '9') ||
         digit == "\xC2\xB9" || digit == "\xC2\xB2" || digit == "\xC2\xB3";  // ¹ ² ³
}

/// Cuts `s` to at most `max` bytes on a UTF-8 character boundary.
std::string cutUtf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return std::string(s.substr(0, end));
}

}  // namespace

std::string lastExtension(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  while (!name.empty() && (name.back() == '.' || name.back() == ' ')) name.remove_suffix(1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

std::string sanitizeFilename(std::string_view untrusted_name, const FilenameOptions& options) {
  std::string valid = text::sanitizeUtf8(untrusted_name);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size();) {
    unsigned char c = static_cast<unsigned char>(valid[i]);
    std::size_t len = std::min(text::utf8SequenceLength(c), valid.size() - i);
    if (len == 1) {
      if (c < 0x20 || c == 0x7f) {
        i += 1;
        continue;
      }
      if (std::string_view("<>:\"/\\|?*").find(static_cast<char>(c)) != std::string_view::npos) {
        out.push_back('_');
        i += 1;
        continue;
      }
    } else if (text::isInvisible(codePoint(valid, i, len))) {
      i += len;
      continue;
    }
    out.append(valid, i, len);
    i += len;
  }
  // No leading dots/spaces (hidden files, "..") and no trailing dots/spaces (Windows strips them).
  std::size_t start = out.find_first_not_of(". ");
  out = start == std::string::npos ? "" : out.substr(start);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.empty()) out = options.fallback;

  std::string ext = lastExtension(out);
  std::string stem = ext.empty() ? out : out.substr(0, out.size() - ext.size() - 1);
  auto first_dot = stem.find('.');
  if (isReservedDevice(first_dot == std::string::npos ? stem : stem.substr(0, first_dot))) {
    stem = "_" + stem;
  }
  std::string suffix = ext.empty() ? "" : "." + out.substr(out.size() - ext.size());
  if (suffix.size() > options.max_bytes / 2) suffix = cutUtf8(suffix, options.max_bytes / 2);
  stem = cutUtf8(stem, options.max_bytes - suffix.size());
  if (stem.empty()) stem = options.fallback;
  return stem + suffix;
}

std::string visibleName(std::string_view untrusted_name) {
  return text::logEscape(text::sanitizeUtf8(untrusted_name), untrusted_name.size() * 3 + 16);
}

}  // namespace mugai::text
