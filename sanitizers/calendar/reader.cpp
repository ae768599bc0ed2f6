// The bounded iCalendar/vCard reader: physical lines -> unfolded content lines -> components.
#include <algorithm>
#include <cctype>

#include "sanitizers/calendar/calendar.h"

namespace mugai::sanitizers::calendar {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool nameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

/// The text before the first ':' that is not inside a quoted parameter value.
std::size_t valueColon(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == ':' && !quoted) return i;
  }
  return std::string_view::npos;
}

/// vCard 2.1: a quoted-printable value ending in '=' continues on the next physical line.
bool qpSoftBreak(std::string_view logical) {
  if (logical.empty() || logical.back() != '=') return false;
  std::size_t colon = valueColon(logical);
  if (colon == std::string_view::npos) return false;
  return upper(logical.substr(0, colon)).find("QUOTED-PRINTABLE") != std::string::npos;
}

/// Splits at CRLF, LF or CR.
std::vector<std::string_view> physicalLines(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\r' && s[i] != '\n') continue;
    out.push_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) out.push_back(s.substr(start));
  return out;
}

struct Logical {
  std::string text, raw;
};

/// Unfolds; fails on a line over the limit, too many lines, or control characters.
std::optional<std::string> unfold(std::string_view in, const Options& o, std::vector<Logical>& out) {
  for (std::string_view line : physicalLines(in)) {
    for (unsigned char c : line) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in a content line";
    }
    bool folded = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!out.empty() && (folded || qpSoftBreak(out.back().text))) {
      Logical& l = out.back();
      if (l.text.size() + line.size() > o.line_limit) return "a content line is too long";
      l.text.append(folded ? line.substr(1) : line);
      l.raw.append("\r\n").append(line);
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    if (out.size() >= o.property_limit) return "too many content lines";
    if (line.size() > o.line_limit) return "a content line is too long";
    out.push_back({std::string(line), std::string(line)});
  }
  return std::nullopt;
}

/// Parses one unfolded line; false when it is not "[group.]NAME *(;param) : value".
bool parseLine(const Logical& l, ContentLine& out) {
  std::string_view s = l.text;
  std::size_t colon = valueColon(s);
  if (colon == std::string_view::npos) return false;
  std::string_view head = s.substr(0, colon);
  out.value = std::string(s.substr(colon + 1));
  out.raw = l.raw;
  std::size_t semi = std::min(head.find(';'), head.size());
  std::string_view name = head.substr(0, semi);
  if (std::size_t dot = name.find('.'); dot != std::string_view::npos) {
    out.group = std::string(name.substr(0, dot));
    name = name.substr(dot + 1);
    if (out.group.empty() || !std::all_of(out.group.begin(), out.group.end(), nameChar)) return false;
  }
  if (name.empty() || !std::all_of(name.begin(), name.end(), nameChar)) return false;
  out.name = upper(name);
  std::string_view rest = semi < head.size() ? head.substr(semi + 1) : std::string_view();
  while (semi < head.size()) {
    // One parameter up to the next ';' outside quotes.
    bool quoted = false;
    std::size_t end = 0;
    while (end < rest.size() && (quoted || rest[end] != ';')) {
      if (rest[end] == '"') quoted = !quoted;
      ++end;
    }
    if (quoted) return false;
    std::string_view p = rest.substr(0, end);
    std::size_t eq = p.find('=');
    ContentLine::Param param;
    std::string_view pname = eq == std::string_view::npos ? std::string_view() : p.substr(0, eq);
    param.value = std::string(eq == std::string_view::npos ? p : p.substr(eq + 1));
    if (!std::all_of(pname.begin(), pname.end(), nameChar)) return false;
    param.name = upper(pname);
    out.params.push_back(std::move(param));
    if (end >= rest.size()) break;
    rest = rest.substr(end + 1);
  }
  return true;
}

}  // namespace

const ContentLine::Param* ContentLine::param(std::string_view upper_name) const {
  for (const auto& p : params) {
    if (p.name == upper_name) return &p;
  }
  return nullptr;
}

ParseResult parse(std::string_view utf8, const Options& o) {
  ParseResult r;
  auto fail = [&](Reason reason, std::string detail) {
    r.top.clear();
    r.failure = reason;
    r.detail = std::move(detail);
    return std::move(r);
  };
  std::vector<Logical> lines;
  if (auto err = unfold(utf8, o, lines)) {
    bool limit = err->find("too") != std::string::npos;
    return fail(limit ? Reason::LimitDocumentObjects : Reason::ParseMalformed, *err);
  }
  if (lines.empty()) return fail(Reason::ParseMalformed, "no content lines");
  std::vector<Component*> stack;  // iterative: the path from a top-level component down
  for (const Logical& l : lines) {
    ContentLine cl;
    if (!parseLine(l, cl)) return fail(Reason::ParseMalformed, "a line is not NAME:value");
    if (cl.name == "BEGIN") {
      std::string comp = upper(cl.value);
      if (comp.empty() || !std::all_of(comp.begin(), comp.end(), nameChar))
        return fail(Reason::ParseMalformed, "a BEGIN without a component name");
      if (stack.size() >= o.depth_limit) return fail(Reason::LimitDocumentObjects, "components nested too deeply");
      if (stack.empty() && comp != "VCALENDAR" && comp != "VCARD")
        return fail(Reason::ParseMalformed, "not a calendar or a card");
      if (stack.empty() && !r.top.empty() && r.top.front().name != comp)
        return fail(Reason::ParseMalformed, "calendar and card mixed in one file");
      Component c;
      c.name = comp;
      c.begin = std::move(cl);
      if (stack.empty()) {
        r.top.push_back(std::move(c));
        stack.push_back(&r.top.back());
      } else {
        Component& parent = *stack.back();
        parent.items.push_back({true, {}, parent.children.size()});
        parent.children.push_back(std::move(c));
        stack.push_back(&parent.children.back());
      }
      continue;
    }
    if (stack.empty()) return fail(Reason::ParseMalformed, "content outside BEGIN/END");
    if (cl.name == "END") {
      if (upper(cl.value) != stack.back()->name) return fail(Reason::ParseMalformed, "END does not match BEGIN");
      stack.back()->end = std::move(cl);
      stack.pop_back();
      continue;
    }
    stack.back()->items.push_back({false, std::move(cl), 0});
  }
  if (!stack.empty()) return fail(Reason::ParseMalformed, "a component is not closed");
  return r;
}

}  // namespace mugai::sanitizers::calendar
