// The METHOD of a calendar (include/mugai/text/icalendar.h); moved here from sanitizer.calendar
// so that the engine labels invitations without including a sanitizer.
#include "mugai/text/icalendar.h"

#include <algorithm>
#include <cctype>

namespace mugai::text {
namespace {

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string calendarMethod(std::string_view ics) {
  std::size_t depth = 0;
  std::size_t start = 0;
  while (start < ics.size()) {
    std::size_t end = ics.find('\n', start);
    std::string_view line = ics.substr(start, end == std::string_view::npos ? ics.size() - start : end - start);
    start = end == std::string_view::npos ? ics.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (startsWithNoCase(line, "begin:")) ++depth;
    else if (startsWithNoCase(line, "end:") && depth > 0) --depth;
    else if (depth == 1 && startsWithNoCase(line, "method:")) {
      std::string_view v = line.substr(7);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      std::string m(v);
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      bool token = !m.empty() && m.size() <= 32 &&
                   std::all_of(m.begin(), m.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)) || c == '-'; });
      return token ? m : std::string();
    }
  }
  return {};
}

}  // namespace mugai::text
