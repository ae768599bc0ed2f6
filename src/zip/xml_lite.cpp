// Minimal XML tag scanner and edit list (see xml_lite.h for Trust / Limits / Errors).
#include "src/zip/xml_lite.h"

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

bool Scanner::next(Tag& tag) {
  if (malformed_) return false;
  while (true) {
    std::size_t lt = xml_.find('<', pos_);
    if (lt == std::string_view::npos) {
      pos_ = xml_.size();
      return false;
    }
    std::string_view rest = xml_.substr(lt);
    auto skipTo = [&](std::string_view end) {
      std::size_t e = xml_.find(end, lt + 2);
      if (e == std::string_view::npos) {
        malformed_ = true;
        return false;
      }
      pos_ = e + end.size();
      return true;
    };
    if (rest.starts_with("<!--")) {
      if (!skipTo("-->")) return false;
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      if (!skipTo("]]>")) return false;
      continue;
    }
    if (rest.starts_with("<?")) {
      if (!skipTo("?>")) return false;
      continue;
    }
    if (rest.starts_with("<!")) {  // DOCTYPE or other declarations: never in our packages
      malformed_ = true;
      return false;
    }
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
    if (tag.name.empty()) {
      malformed_ = true;
      return false;
    }
    // Attributes.
    while (true) {
      std::size_t attr_begin = p;
      while (p < xml_.size() && isSpace(xml_[p])) ++p;
      if (p >= xml_.size()) {
        malformed_ = true;
        return false;
      }
      if (xml_[p] == '>') {
        tag.end = p + 1;
        break;
      }
      if (xml_[p] == '/' && p + 1 < xml_.size() && xml_[p + 1] == '>') {
        if (tag.kind == Tag::Kind::Close) {
          malformed_ = true;
          return false;
        }
        tag.kind = Tag::Kind::Empty;
        tag.end = p + 2;
        break;
      }
      if (tag.kind == Tag::Kind::Close || p == attr_begin) {  // attributes need a space before
        malformed_ = true;
        return false;
      }
      std::size_t an = p;
      while (p < xml_.size() && !isNameEnd(xml_[p])) ++p;
      Attr a;
      a.name = xml_.substr(an, p - an);
      while (p < xml_.size() && isSpace(xml_[p])) ++p;
      if (a.name.empty() || p >= xml_.size() || xml_[p] != '=') {
        malformed_ = true;
        return false;
      }
      ++p;
      while (p < xml_.size() && isSpace(xml_[p])) ++p;
      if (p >= xml_.size() || (xml_[p] != '"' && xml_[p] != '\'')) {
        malformed_ = true;
        return false;
      }
      char q = xml_[p];
      std::size_t close = xml_.find(q, p + 1);
      if (close == std::string_view::npos) {
        malformed_ = true;
        return false;
      }
      a.value = xml_.substr(p + 1, close - p - 1);
      if (a.value.find('<') != std::string_view::npos) {
        malformed_ = true;
        return false;
      }
      p = close + 1;
      a.begin = attr_begin;
      a.end = p;
      tag.attrs.push_back(a);
    }
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

std::string decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    std::size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view ent = raw.substr(i + 1, semi - i - 1);
    char c = 0;
    if (ent == "amp")
      c = '&';
    else if (ent == "lt")
      c = '<';
    else if (ent == "gt")
      c = '>';
    else if (ent == "quot")
      c = '"';
    else if (ent == "apos")
      c = '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      unsigned long v = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      bool ok = ent.size() > (hex ? 2u : 1u);
      for (std::size_t k = hex ? 2 : 1; k < ent.size() && ok; ++k) {
        char d = ent[k];
        int digit = d >= '0' && d <= '9'          ? d - '0'
                    : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                    : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                  : -1;
        if (digit < 0)
          ok = false;
        else
          v = v * (hex ? 16 : 10) + static_cast<unsigned long>(digit);
        if (v > 0x10ffff) ok = false;
      }
      if (ok && v > 0 && v < 0x80)
        c = static_cast<char>(v);
      else if (ok)
        c = '?';  // non-ASCII: a placeholder is enough for comparisons
    }
    if (c == 0) {
      out.push_back('&');
      continue;
    }
    out.push_back(c);
    i = semi;
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
