// Minimal XML tag scanner and edit list (see xml_lite.h for Trust / Limits / Errors).
#include "src/zip/xml_lite.h"

#include "mugai/text/charset.h"

#include <algorithm>

namespace mugai::zip::xml {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isNameEnd(char c) { return isSpace(c) || c == '>' || c == '/' || c == '='; }

}  // namespace

const Attr* Tag::attr(std::string_view qname) const {
  for (const Attr& a : attrs) {
    if (a.name == qname) return &a;
  }
  return nullptr;
}

Scanner::Markup Scanner::skipNonElement(std::size_t lt) {
  std::string_view rest = xml_.substr(lt);
  std::string_view end = rest.starts_with("<!--")        ? "-->"
                         : rest.starts_with("<![CDATA[") ? "]]>"
                         : rest.starts_with("<?")        ? "?>"
                                                         : "";
  if (end.empty()) {
    if (!rest.starts_with("<!")) return Markup::Element;
    fail();  // DOCTYPE or other declarations: never in our packages
    return Markup::Malformed;
  }
  std::size_t e = xml_.find(end, lt + 2);
  if (e == std::string_view::npos) {
    fail();
    return Markup::Malformed;
  }
  pos_ = e + end.size();
  return Markup::Skipped;
}

bool Scanner::readAttr(std::size_t& p, Attr& a) const {
  std::size_t an = p;
  while (p < xml_.size() && !isNameEnd(xml_[p])) ++p;
  a.name = xml_.substr(an, p - an);
  while (p < xml_.size() && isSpace(xml_[p])) ++p;
  if (a.name.empty() || p >= xml_.size() || xml_[p] != '=') return false;
  ++p;
  while (p < xml_.size() && isSpace(xml_[p])) ++p;
  if (p >= xml_.size() || (xml_[p] != '"' && xml_[p] != '\'')) return false;
  char q = xml_[p];
  std::size_t close = xml_.find(q, p + 1);
  if (close == std::string_view::npos) return false;
  a.value = xml_.substr(p + 1, close - p - 1);
  if (a.value.find('<') != std::string_view::npos) return false;
  p = close + 1;
  return true;
}

bool Scanner::readTag(std::size_t lt, Tag& tag) {
  tag = Tag{};
  tag.begin = lt;
  std::size_t p = lt + 1;
  if (p < xml_.size() && xml_[p] == '/') {
    tag.kind = Tag::Kind::Close;
    ++p;
  }
  std::size_t name_start = p;
  while (p < xml_.size() && !isNameEnd(xml_[p])) ++p;
  tag.name = xml_.substr(name_start, p - name_start);
  if (tag.name.empty()) return fail();
  while (true) {  // attributes, each after white space, until '>' or '/>'
    std::size_t attr_begin = p;
    while (p < xml_.size() && isSpace(xml_[p])) ++p;
    if (p >= xml_.size()) return fail();
    if (xml_[p] == '>') {
      tag.end = p + 1;
      return true;
    }
    if (xml_[p] == '/' && p + 1 < xml_.size() && xml_[p + 1] == '>') {
      if (tag.kind == Tag::Kind::Close) return fail();
      tag.kind = Tag::Kind::Empty;
      tag.end = p + 2;
      return true;
    }
    // A close tag has no attributes; an attribute needs a space before it.
    if (tag.kind == Tag::Kind::Close || p == attr_begin) return fail();
    Attr a;
    if (!readAttr(p, a)) return fail();
    a.begin = attr_begin;
    a.end = p;
    tag.attrs.push_back(a);
  }
}

bool Scanner::next(Tag& tag) {
  if (malformed_) return false;
  while (true) {
    std::size_t lt = xml_.find('<', pos_);
    if (lt == std::string_view::npos) {
      pos_ = xml_.size();
      return false;
    }
    switch (skipNonElement(lt)) {
      case Markup::Skipped: continue;
      case Markup::Malformed: return false;
      case Markup::Element: break;
    }
    if (!readTag(lt, tag)) return false;
    pos_ = tag.end;
    return true;
  }
}

std::size_t Scanner::skipElement(const Tag& open) {
  if (open.kind != Tag::Kind::Open) return open.end;
  std::size_t depth = 1;
  Tag t;
  while (next(t)) {
    if (t.name != open.name) continue;
    if (t.kind == Tag::Kind::Open) ++depth;
    if (t.kind == Tag::Kind::Close && --depth == 0) return t.end;
  }
  malformed_ = true;
  return std::string_view::npos;
}

std::pair<std::size_t, std::size_t> plainDoctype(std::string_view xml) {
  constexpr std::pair<std::size_t, std::size_t> kNone{std::string_view::npos,
                                                      std::string_view::npos};
  std::size_t p = 0;
  auto skipSpace = [&] {
    while (p < xml.size() && isSpace(xml[p])) ++p;
  };
  // Prolog: BOM, XML declaration, comments and PIs, white space.
  if (xml.starts_with("\xEF\xBB\xBF")) p = 3;
  while (true) {
    skipSpace();
    std::string_view rest = xml.substr(p);
    std::string_view end = rest.starts_with("<?") ? "?>" : rest.starts_with("<!--") ? "-->" : "";
    if (end.empty()) break;
    std::size_t e = xml.find(end, p + 2);
    if (e == std::string_view::npos) return kNone;
    p = e + end.size();
  }
  if (!xml.substr(p).starts_with("<!DOCTYPE")) return kNone;
  std::size_t begin = p;
  p += 9;
  // Name, then optional PUBLIC "id" "system" or SYSTEM "system"; quoted literals may hold '>'.
  std::vector<std::string_view> literals;
  while (p < xml.size() && xml[p] != '>') {
    char c = xml[p];
    if (c == '[' || c == '<') return kNone;  // internal subset or markup: not plain
    if (c == '"' || c == '\'') {
      std::size_t e = xml.find(c, p + 1);
      if (e == std::string_view::npos) return kNone;
      literals.push_back(xml.substr(p + 1, e - p - 1));
      p = e + 1;
      continue;
    }
    ++p;
  }
  if (p >= xml.size() || literals.size() > 2) return kNone;
  if (!literals.empty()) {  // the system identifier (last literal) stays inside the package
    std::string_view sys = literals.back();
    bool absolute = sys.find(':') != std::string_view::npos || sys.starts_with('/') ||
                    sys.starts_with('\\') || sys.find("..") != std::string_view::npos ||
                    sys.find('%') != std::string_view::npos ||
                    sys.find('&') != std::string_view::npos;
    if (absolute) return kNone;
  }
  return {begin, p + 1};
}

std::size_t reference(std::string_view raw, std::size_t i, unsigned long* cp) {
  if (i >= raw.size() || raw[i] != '&') return 0;
  std::size_t p = i + 1;
  if (p < raw.size() && raw[p] == '#') {
    ++p;
    bool hex = p < raw.size() && (raw[p] == 'x' || raw[p] == 'X');
    if (hex) ++p;
    std::size_t digits = p;
    unsigned long v = 0;
    for (; p < raw.size(); ++p) {
      char d = raw[p];
      int digit = d >= '0' && d <= '9'          ? d - '0'
                  : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                  : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                : -1;
      if (digit < 0) break;
      v = v * (hex ? 16 : 10) + static_cast<unsigned long>(digit);
      if (v > 0x10ffff) v = 0x110000;  // saturate: leading zeros never overflow
    }
    if (p == digits || p >= raw.size() || raw[p] != ';' || v == 0 || v > 0x10ffff) return 0;
    *cp = v;
    return p + 1 - i;
  }
  // Named: the five predefined entities only (no DTD, no others), at most "quot;" long.
  std::size_t semi = raw.substr(p, 5).find(';');
  if (semi == std::string_view::npos) return 0;
  std::string_view ent = raw.substr(p, semi);
  unsigned long v = ent == "amp"    ? '&'
                    : ent == "lt"   ? '<'
                    : ent == "gt"   ? '>'
                    : ent == "quot" ? '"'
                    : ent == "apos" ? '\''
                                    : 0;
  if (v == 0) return 0;
  *cp = v;
  return semi + 2;
}

std::string decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    unsigned long cp = 0;
    std::size_t len = raw[i] == '&' ? reference(raw, i, &cp) : 0;
    if (len == 0) {
      out.push_back(raw[i]);
      continue;
    }
    // UTF-8, as the raw text around it is: a field code's separators include U+00A0 and U+3000
    // (src/office/field_code.h), so "DDEAUTO&#xA0;cmd" must read as DDEAUTO, NBSP, cmd.
    text::appendUtf8(out, static_cast<char32_t>(cp));
    i += len - 1;
  }
  return out;
}

std::string textContent(std::string_view raw) {
  std::string out;
  std::size_t i = 0;
  while (i < raw.size()) {
    std::size_t lt = raw.find('<', i);
    out += decode(raw.substr(i, lt == std::string_view::npos ? std::string_view::npos : lt - i));
    if (lt == std::string_view::npos) break;
    std::string_view rest = raw.substr(lt);
    std::size_t end;
    if (rest.starts_with("<![CDATA[")) {
      end = raw.find("]]>", lt + 9);
      out +=
          raw.substr(lt + 9, end == std::string_view::npos ? std::string_view::npos : end - lt - 9);
      end = end == std::string_view::npos ? end : end + 3;
    } else if (rest.starts_with("<!--")) {
      end = raw.find("-->", lt + 4);
      end = end == std::string_view::npos ? end : end + 3;
    } else if (rest.starts_with("<?")) {
      end = raw.find("?>", lt + 2);
      end = end == std::string_view::npos ? end : end + 2;
    } else {  // a child tag: skipped up to its '>', quoted attribute values may hold '>'
      char quote = 0;
      for (end = lt + 1; end < raw.size(); ++end) {
        char c = raw[end];
        if (quote) {
          if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '>') {
          break;
        }
      }
      end = end < raw.size() ? end + 1 : std::string_view::npos;
    }
    if (end == std::string_view::npos) break;
    i = end;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Edits::apply(std::string_view xml) {
  std::stable_sort(edits_.begin(), edits_.end(),
                   [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(xml.size());
  std::size_t at = 0;
  for (const Edit& e : edits_) {
    if (e.begin < at || e.end > xml.size() || e.end < e.begin) continue;  // inside an earlier edit
    out.append(xml.substr(at, e.begin - at));
    out.append(e.text);
    at = e.end;
  }
  out.append(xml.substr(at));
  edits_.clear();
  return out;
}

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace mugai::zip::xml
