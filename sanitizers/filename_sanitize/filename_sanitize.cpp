#include "sanitizers/filename_sanitize/filename_sanitize.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "mugai/text/charset.h"

namespace mugai::sanitizers::filename_sanitize {
namespace {

bool isBidiOrInvisible(std::string_view s, std::size_t i, std::size_t len) {
  if (len != 3 && len != 2) return false;
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (len == 2) return b(0) == 0xc2 && b(1) >= 0x80 && b(1) <= 0x9f;  // C1 controls
  if (b(0) == 0xe2 && b(1) == 0x80 && (b(2) >= 0x8b && b(2) <= 0x8f)) return true;  // ZW*, LRM, RLM
  if (b(0) == 0xe2 && b(1) == 0x80 && (b(2) >= 0xaa && b(2) <= 0xae)) return true;  // U+202A..E
  if (b(0) == 0xe2 && b(1) == 0x81 && (b(2) >= 0xa6 && b(2) <= 0xa9)) return true;  // U+2066..9
  if (b(0) == 0xef && b(1) == 0xbb && b(2) == 0xbf) return true;                    // BOM
  return false;
}

/// The code point of the valid 1-3 byte UTF-8 sequence at s[i].
char32_t codePoint(std::string_view s, std::size_t i, std::size_t len) {
  auto b = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]));
  };
  if (len == 1) return b(0);
  if (len == 2) return ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
  return ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
}

bool isReservedDevice(std::string_view stem) {
  std::string up;
  for (char c : stem) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  static const std::array<std::string_view, 4> fixed = {"CON", "PRN", "AUX", "NUL"};
  if (std::find(fixed.begin(), fixed.end(), up) != fixed.end()) return true;
  return up.size() == 4 && (up.rfind("COM", 0) == 0 || up.rfind("LPT", 0) == 0) && up[3] >= '0' &&
         up[3] <= '9';
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

std::string sanitizeFilename(std::string_view untrusted_name, const Options& options) {
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
    } else if (isBidiOrInvisible(valid, i, len)) {
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
  std::string valid = text::sanitizeUtf8(untrusted_name);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size();) {
    unsigned char c = static_cast<unsigned char>(valid[i]);
    std::size_t len = std::min(text::utf8SequenceLength(c), valid.size() - i);
    bool hide = len == 1 ? c < 0x20 || c == 0x7f : isBidiOrInvisible(valid, i, len);
    if (len == 2 || len == 3) {
      char32_t cp = codePoint(valid, i, len);
      hide = hide || cp == 0x061c || cp == 0x2028 || cp == 0x2029;  // ALM, line/para separators
    }
    if (hide) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(codePoint(valid, i, len)));
      out += buf;
    } else {
      out.append(valid, i, len);
    }
    i += len;
  }
  return out;
}

Outcome FilenameSanitizer::apply(const Part& part, MessageContext&) const {
  const std::string& raw = part.filename.unverifiedValue();
  if (raw.empty()) return Outcome::keep();
  std::string safe = sanitizeFilename(raw, options_);
  if (safe == raw) return Outcome::keep();
  Part next = part;
  next.filename = Untrusted<std::string>(safe);
  Outcome o = Outcome::replace(std::move(next), Reason::FilenameChanged);
  o.findings.push_back({"filename_safe", safe});
  return o;
}

}  // namespace mugai::sanitizers::filename_sanitize
