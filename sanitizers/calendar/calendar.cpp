// sanitizer.calendar: the keep/remove policy over parsed components, and the writer.
#include "sanitizers/calendar/calendar.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "mugai/text/charset.h"
#include "sanitizers/html_to_text/html_to_text.h"

namespace mugai::sanitizers::calendar {
namespace {

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// What an invitation or a task needs (RFC 5545 sections 3.7, 3.8), and nothing that refers
// to content elsewhere. URL, ORGANIZER and ATTENDEE are checked for their target below.
constexpr std::array<std::string_view, 52> kCalendarProps = {
    "VERSION", "PRODID", "CALSCALE", "METHOD", "UID", "DTSTAMP", "DTSTART", "DTEND", "DUE",
    "DURATION", "COMPLETED", "SUMMARY", "DESCRIPTION", "LOCATION", "ORGANIZER", "ATTENDEE",
    "SEQUENCE", "STATUS", "TRANSP", "CLASS", "PRIORITY", "PERCENT-COMPLETE", "CREATED",
    "LAST-MODIFIED", "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "TZID", "TZNAME",
    "TZOFFSETFROM", "TZOFFSETTO", "CATEGORIES", "COMMENT", "CONTACT", "GEO", "RELATED-TO",
    "RESOURCES", "REQUEST-STATUS", "FREEBUSY", "ACTION", "TRIGGER", "REPEAT", "NAME", "COLOR",
    "URL", "X-WR-CALNAME", "X-WR-TIMEZONE", "X-LIC-LOCATION", "X-MICROSOFT-DISALLOW-COUNTER",
    "X-MICROSOFT-DONOTFORWARDMEETING"};
constexpr std::array<std::string_view, 11> kCalendarComponents = {
    "VCALENDAR", "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "STANDARD",
    "DAYLIGHT", "VALARM", "VAVAILABILITY", "AVAILABLE"};
// A contact (RFC 6350 section 6, vCard 3.0 and 2.1 names) without pictures, sounds or keys.
constexpr std::array<std::string_view, 33> kCardProps = {
    "VERSION", "FN", "N", "NICKNAME", "BDAY", "ANNIVERSARY", "GENDER", "ADR", "LABEL", "TEL",
    "EMAIL", "MAILER", "TZ", "GEO", "TITLE", "ROLE", "ORG", "CATEGORIES", "NOTE", "PRODID",
    "REV", "SORT-STRING", "UID", "CLASS", "KIND", "LANG", "NAME", "URL", "X-PHONETIC-FIRST-NAME",
    "X-PHONETIC-MIDDLE-NAME", "X-PHONETIC-LAST-NAME", "X-PHONETIC-ORG", "SOUND"};
// Parameters that point at other content (an HTML or remote representation, a directory).
constexpr std::array<std::string_view, 3> kLinkParams = {"ALTREP", "DIR", "SENT-BY"};

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool webLink(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return startsWithNoCase(v, "https://") || startsWithNoCase(v, "http://");
}

/// RFC 5545 TEXT escapes undone, and done again.
std::string unescapeText(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char n = v[++i];
      out += (n == 'n' || n == 'N') ? '\n' : n;
    } else {
      out += v[i];
    }
  }
  return out;
}
std::string escapeText(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\n') out += "\\n";
    else if (c == '\\' || c == ';' || c == ',') out += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
  }
  return out;
}

/// A changed line written again, folded at 75 octets on UTF-8 character boundaries.
std::string writeLine(const ContentLine& l) {
  if (!l.changed) return l.raw + "\r\n";
  std::string s = l.group.empty() ? l.name : l.group + "." + l.name;
  for (const auto& p : l.params) s += ";" + (p.name.empty() ? p.value : p.name + "=" + p.value);
  s += ":" + l.value;
  std::string out;
  std::size_t col = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = std::min(text::utf8SequenceLength(static_cast<unsigned char>(s[i])), s.size() - i);
    if (col + len > 75) {
      out += "\r\n ";
      col = 1;
    }
    out.append(s, i, len);
    col += len;
    i += len;
  }
  return out + "\r\n";
}

class Filter {
 public:
  Filter(const Options& o, Removed& removed, const Budget* budget)
      : o_(o), removed_(removed), budget_(budget) {}

  /// Writes `c` filtered; depth is bounded by the reader's depth_limit.
  void write(Component& c, bool card, std::string& out) {
    if (!card && c.name == "VALARM" && !displayAlarm(c)) {
      ++removed_.alarms;  // an alarm that plays a sound, runs a program or sends mail
      return;
    }
    out += writeLine(c.begin);
    bool has_description = false;
    for (const auto& it : c.items) has_description |= !it.is_component && it.line.name == "DESCRIPTION";
    std::string html_text;
    for (auto& it : c.items) {
      if (it.is_component) {
        Component& child = c.children[it.child];
        bool known = !card && listed(kCalendarComponents, child.name) && child.name != "VCALENDAR";
        if (known) write(child, card, out);
        else ++removed_.components;
        continue;
      }
      ContentLine& l = it.line;
      if (!card && l.name == "X-ALT-DESC") {
        ++removed_.html;  // HTML description: its text is kept when there is no DESCRIPTION
        if (!has_description && html_text.empty()) html_text = renderHtml(l);
        continue;
      }
      if (keep(l, card)) out += writeLine(l);
    }
    if (!html_text.empty()) {
      ContentLine d;
      d.name = "DESCRIPTION";
      d.value = escapeText(html_text);
      d.changed = true;
      out += writeLine(d);
    }
    out += writeLine(c.end);
  }

 private:
  bool displayAlarm(const Component& alarm) const {
    for (const auto& it : alarm.items) {
      if (!it.is_component && it.line.name == "ACTION") return unquote(it.line.value) == "DISPLAY";
    }
    return false;
  }

  bool keep(ContentLine& l, bool card) {
    if (l.name == "ATTACH") return ++removed_.attachments, false;
    if (card && (l.name == "PHOTO" || l.name == "LOGO" || l.name == "AGENT" ||
                 (l.name == "SOUND" && !readingSound(l))))
      return ++removed_.binaries, false;
    if (card && l.name == "KEY") return ++removed_.keys, false;
    bool known = card ? listed(kCardProps, l.name)
                      : listed(kCalendarProps, l.name) || l.name.rfind("X-MICROSOFT-CDO-", 0) == 0;
    if (!known) return ++removed_.properties, false;
    if (l.name == "URL" && !(o_.keep_web_links && webLink(l.value))) return ++removed_.links, false;
    if ((l.name == "ORGANIZER" || l.name == "ATTENDEE") && !startsWithNoCase(l.value, "mailto:"))
      return ++removed_.links, false;
    stripParams(l);
    return true;
  }

  /// Japanese phones put the reading of a name in SOUND;X-IRMC-N: text, not a recording.
  static bool readingSound(const ContentLine& l) {
    if (!l.param("X-IRMC-N")) {
      bool bare = false;
      for (const auto& p : l.params) bare |= p.name.empty() && unquote(p.value) == "X-IRMC-N";
      if (!bare) return false;
    }
    const auto* enc = l.param("ENCODING");
    const auto* val = l.param("VALUE");
    return !(enc && (unquote(enc->value) == "B" || unquote(enc->value) == "BASE64")) &&
           !(val && unquote(val->value) != "TEXT");
  }

  void stripParams(ContentLine& l) {
    auto gone = std::remove_if(l.params.begin(), l.params.end(), [](const ContentLine::Param& p) {
      return listed(kLinkParams, p.name);
    });
    if (gone == l.params.end()) return;
    removed_.params += static_cast<std::size_t>(l.params.end() - gone);
    l.params.erase(gone, l.params.end());
    l.changed = true;
  }

  std::string renderHtml(const ContentLine& l) const {
    html_to_text::Options ho;
    ho.budget = budget_;
    ho.line_length_limit = 100000;
    html_to_text::Result r = html_to_text::htmlToText(unescapeText(l.value), ho);
    if (r.failure) return {};
    std::string t = text::sanitizeUtf8(r.text);
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
  }

  const Options& o_;
  Removed& removed_;
  const Budget* budget_;
};

/// Raw 8-bit text was converted to UTF-8: its CHARSET label goes (a quoted-printable value keeps
/// it, as its bytes were not converted).
void dropCharsetParam(ContentLine& l) {
  if (l.param("ENCODING") || !l.param("CHARSET")) return;
  auto& ps = l.params;
  ps.erase(std::remove_if(ps.begin(), ps.end(), [](const ContentLine::Param& p) { return p.name == "CHARSET"; }),
           ps.end());
  l.changed = true;
}

/// The bytes with folding (line break + space or TAB) taken out: Outlook folds at 75 octets even
/// inside a UTF-8 character, which is valid UTF-8 again once unfolded.
std::string withoutFolds(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t n = s.compare(i, 3, "\r\n ") == 0 || s.compare(i, 3, "\r\n\t") == 0 ? 3
                    : (s[i] == '\n' && i + 1 < s.size() && (s[i + 1] == ' ' || s[i + 1] == '\t')) ? 2
                                                                                                : 0;
    if (n) {
      i += n - 1;
      continue;
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::string rebuild(std::vector<Component>& top, const Options& options, Removed& removed,
                    const Budget* budget) {
  Filter f(options, removed, budget);
  std::string out;
  for (Component& c : top) f.write(c, c.name == "VCARD", out);
  return out;
}

Outcome CalendarSanitizer::apply(const Part& part, MessageContext& ctx) const {
  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  std::string utf8;
  std::string charset = "utf-8";
  if (text::isValidUtf8(part.data) || text::isValidUtf8(withoutFolds(part.data))) {
    utf8 = part.data;
  } else {  // vCard 2.1 from Japanese phones: Shift_JIS; declared or detected
    text::DecodeResult d = text::toUtf8(part.data, part.charset.unverifiedValue());
    utf8 = std::move(d.utf8);
    charset = d.charset;
  }
  if (utf8.rfind("\xEF\xBB\xBF", 0) == 0) utf8.erase(0, 3);  // a byte order mark
  ParseResult parsed = parse(utf8, options_);
  if (parsed.failure) return Outcome::fail(*parsed.failure, parsed.detail);
  bool card = parsed.top.front().name == "VCARD";
  if (charset != "utf-8") {  // the text is UTF-8 now: a CHARSET parameter would lie
    std::vector<Component*> todo;
    for (Component& c : parsed.top) todo.push_back(&c);
    while (!todo.empty()) {  // iterative; the depth is bounded by the reader anyway
      Component* c = todo.back();
      todo.pop_back();
      for (Component& child : c->children) todo.push_back(&child);
      for (auto& it : c->items) dropCharsetParam(it.line);
    }
  }
  Removed rm;
  std::string out = rebuild(parsed.top, options_, rm, &ctx.budget);
  Outcome o;
  auto add = [&](const char* key, std::size_t n) {
    if (n) o.findings.push_back({key, std::to_string(n)});
  };
  add("removed_attachments", rm.attachments);
  add("removed_alarms", rm.alarms);
  add("removed_html_descriptions", rm.html);
  add("removed_pictures_sounds", rm.binaries);
  add("removed_keys", rm.keys);
  add("removed_links", rm.links);
  add("removed_components", rm.components);
  add("omitted_properties", rm.properties);
  add("omitted_link_parameters", rm.params);
  if (charset != "utf-8") o.findings.push_back({"charset", charset});
  std::string type = card ? "text/vcard" : "text/calendar";
  std::string label = part.charset.unverifiedValue();
  for (char& c : label) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool utf8_label = label.empty() || label == "utf-8" || label == "utf8" || label == "us-ascii";
  if (out == part.data && part.detected.mime == type && utf8_label) return o;  // nothing to change: Pass
  Part next = replacedPart(part, std::move(out));
  next.output_type = type;
  next.charset = Untrusted<std::string>("utf-8");
  Outcome replaced = Outcome::replace(std::move(next), Reason::CdrRebuilt);
  replaced.findings = std::move(o.findings);
  return replaced;
}

}  // namespace mugai::sanitizers::calendar
