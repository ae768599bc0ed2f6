#include "sanitizers/pdf/prescan.h"

#include <algorithm>
#include <string>

namespace mugai::sanitizers::pdf {
namespace {

bool isWhite(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}
bool isDelim(char c) {
  return isWhite(c) || std::string_view("()<>[]{}/%").find(c) != std::string_view::npos;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void skipWhite(std::string_view s, std::size_t& i) {
  while (i < s.size()) {
    if (isWhite(s[i])) {
      ++i;
    } else if (s[i] == '%') {  // comment to end of line
      while (i < s.size() && s[i] != '\n' && s[i] != '\r') ++i;
    } else {
      break;
    }
  }
}

/// A non-negative integer at s[i] (saturating); false when there is none.
bool readCount(std::string_view s, std::size_t& i, std::uint64_t& out) {
  skipWhite(s, i);
  if (i < s.size() && s[i] == '+') ++i;
  std::size_t start = i;
  out = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    out = std::min<std::uint64_t>(out * 10 + static_cast<std::uint64_t>(s[i] - '0'), UINT64_C(1)
                                                                                         << 40);
    ++i;
  }
  return i > start;
}

}  // namespace

std::uint64_t declaredObjectCount(std::string_view s) {
  std::uint64_t most = 0;
  for (std::size_t at = s.find('/'); at != std::string_view::npos; at = s.find('/', at)) {
    // Decode the name (at most 8 characters are of interest: "Size", "Index").
    std::size_t i = at + 1;
    std::string name;
    while (i < s.size() && !isDelim(s[i]) && name.size() <= 8) {
      if (s[i] == '#' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
        name.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
        i += 3;
      } else {
        name.push_back(s[i++]);
      }
    }
    at = i;
    if (i < s.size() && !isDelim(s[i])) continue;  // a longer name
    if (name == "Size") {
      std::uint64_t n = 0;
      if (readCount(s, i, n)) most = std::max(most, n);
    } else if (name == "Index") {
      skipWhite(s, i);
      if (i >= s.size() || s[i] != '[') continue;
      ++i;
      std::uint64_t total = 0, first = 0, count = 0;
      // Pairs "first count" up to the closing bracket; at most 100000 pairs looked at.
      for (int pairs = 0; pairs < 100000 && readCount(s, i, first) && readCount(s, i, count);
           ++pairs)
        total = std::min<std::uint64_t>(total + count, UINT64_C(1) << 40);
      most = std::max(most, total);
    }
  }
  return most;
}

}  // namespace mugai::sanitizers::pdf
