// Hidden text detection (see hidden.h). A favourite of prompt injection and filter evasion:
// text in font-size 0, white on white, opacity 0, off-screen, hidden by a class rule or by
// Outlook's mso-hide. Bounded: at most kMaxRules selectors are kept from <style>.
#include "sanitizers/html_to_text/hidden.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace mugai::sanitizers::html_to_text {
namespace {

constexpr std::size_t kMaxRules = 10000;
constexpr std::size_t kMaxDeclarations = 4096;  // bytes kept per selector

std::string lowerNoSpace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string stripComments(std::string_view css) {
  std::string out;
  for (std::size_t i = 0; i < css.size();) {
    if (css.compare(i, 2, "/*") == 0) {
      std::size_t end = css.find("*/", i + 2);
      if (end == std::string_view::npos) break;
      i = end + 2;
      continue;
    }
    out.push_back(css[i++]);
  }
  return out;
}

/// prop -> value (lower case, no white space, "!important" dropped); the last one wins.
std::map<std::string, std::string> parseDeclarations(std::string_view decls) {
  std::map<std::string, std::string> out;
  std::string d = lowerNoSpace(decls);
  std::size_t pos = 0;
  while (pos < d.size()) {
    std::size_t semi = d.find(';', pos);
    std::string one = d.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    pos = semi == std::string::npos ? d.size() : semi + 1;
    std::size_t colon = one.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    std::string value = one.substr(colon + 1);
    if (std::size_t imp = value.find("!important"); imp != std::string::npos) value.erase(imp);
    out[one.substr(0, colon)] = value;
  }
  return out;
}

/// A CSS length in px (pt, em and % are scaled roughly; unknown units: nullopt-like NaN).
double lengthPx(const std::string& v) {
  if (v.empty()) return NAN;
  char* end = nullptr;
  double n = std::strtod(v.c_str(), &end);
  if (end == v.c_str()) return NAN;
  std::string unit(end);
  if (unit.empty() || unit == "px") return n;
  if (unit == "pt") return n * 4.0 / 3.0;
  if (unit == "em" || unit == "rem") return n * 16.0;
  if (unit == "%") return n * 0.16;
  if (unit == "vw" || unit == "vh") return n * 10.0;
  if (unit == "cm") return n * 37.8;
  if (unit == "mm") return n * 3.78;
  if (unit == "in") return n * 96.0;
  return NAN;
}

bool hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

/// Parses a CSS/HTML colour; false when not understood. `alpha0` for transparent/rgba(..,0).
bool parseColor(std::string v, Rgb& out, bool* alpha0 = nullptr) {
  v = lowerNoSpace(v);
  if (alpha0) *alpha0 = false;
  if (v == "transparent") {
    if (alpha0) *alpha0 = true;
    return true;
  }
  static const std::map<std::string, Rgb> kNamed = {
      {"white", {255, 255, 255}}, {"black", {0, 0, 0}}, {"red", {255, 0, 0}}, {"lime", {0, 255, 0}},
      {"green", {0, 128, 0}}, {"blue", {0, 0, 255}}, {"yellow", {255, 255, 0}}, {"gray", {128, 128, 128}},
      {"grey", {128, 128, 128}}, {"silver", {192, 192, 192}}, {"whitesmoke", {245, 245, 245}},
      {"snow", {255, 250, 250}}, {"ivory", {255, 255, 240}}, {"navy", {0, 0, 128}},
      {"ghostwhite", {248, 248, 255}}, {"floralwhite", {255, 250, 240}}, {"mintcream", {245, 255, 250}},
      {"azure", {240, 255, 255}}, {"aliceblue", {240, 248, 255}}, {"seashell", {255, 245, 238}}};
  if (auto it = kNamed.find(v); it != kNamed.end()) {
    out = it->second;
    return true;
  }
  std::string h = v[0] == '#' ? v.substr(1) : v;
  if ((h.size() == 3 || h.size() == 4 || h.size() == 6 || h.size() == 8) &&
      std::all_of(h.begin(), h.end(), hex)) {
    auto nib = [&](std::size_t i) { return static_cast<int>(std::strtol(h.substr(i, 1).c_str(), nullptr, 16)); };
    auto byte = [&](std::size_t i) { return static_cast<int>(std::strtol(h.substr(i, 2).c_str(), nullptr, 16)); };
    if (h.size() <= 4) {
      out = {nib(0) * 17, nib(1) * 17, nib(2) * 17};
      if (h.size() == 4 && alpha0) *alpha0 = nib(3) == 0;
    } else {
      out = {byte(0), byte(2), byte(4)};
      if (h.size() == 8 && alpha0) *alpha0 = byte(6) == 0;
    }
    return true;
  }
  if (v.rfind("rgb", 0) == 0) {
    std::size_t open = v.find('(');
    if (open == std::string::npos) return false;
    std::vector<double> n;
    std::size_t p = open + 1;
    while (p < v.size() && n.size() < 4) {
      char* end = nullptr;
      double x = std::strtod(v.c_str() + p, &end);
      if (end == v.c_str() + p) break;
      p = static_cast<std::size_t>(end - v.c_str());
      if (p < v.size() && v[p] == '%') {
        x = n.size() < 3 ? x * 2.55 : x / 100.0;
        ++p;
      }
      n.push_back(x);
      while (p < v.size() && (v[p] == ',' || v[p] == '/')) ++p;
    }
    if (n.size() < 3) return false;
    out = {static_cast<int>(n[0]), static_cast<int>(n[1]), static_cast<int>(n[2])};
    if (n.size() == 4 && alpha0) *alpha0 = n[3] <= 0.05;
    return true;
  }
  return false;
}

bool sameColour(const Rgb& a, const Rgb& b) {
  return std::abs(a.r - b.r) <= 24 && std::abs(a.g - b.g) <= 24 && std::abs(a.b - b.b) <= 24;
}

/// The first colour among the words of a `background:` shorthand.
bool backgroundColour(const std::string& v, Rgb& out, bool& transparent) {
  std::string s = v;
  // Split on spaces removed by lowerNoSpace: try the whole value, then known prefixes.
  if (parseColor(s, out, &transparent)) return true;
  for (std::size_t p = 0; p < s.size(); ++p) {
    if (s[p] == '#') {
      std::size_t e = p + 1;
      while (e < s.size() && hex(s[e])) ++e;
      return parseColor(s.substr(p, e - p), out, &transparent);
    }
    if (s.compare(p, 3, "rgb") == 0) {
      std::size_t e = s.find(')', p);
      if (e == std::string::npos) return false;
      return parseColor(s.substr(p, e - p + 1), out, &transparent);
    }
  }
  return false;
}

}  // namespace

void StyleSheet::add(std::string_view css) { addBlock(stripComments(css), 0); }

void StyleSheet::addBlock(std::string_view css, int depth) {
  std::size_t pos = 0;
  while (pos < css.size() && rules_ < kMaxRules) {
    std::size_t open = css.find('{', pos);
    if (open == std::string_view::npos) return;
    std::string_view selectors = trim(css.substr(pos, open - pos));
    // The matching close brace (blocks nest inside @media).
    std::size_t level = 1, close = open + 1;
    for (; close < css.size() && level > 0; ++close) {
      if (css[close] == '{') ++level;
      if (css[close] == '}') --level;
    }
    std::string_view body = css.substr(open + 1, close - open - 2 < css.size() ? close - open - 2 : 0);
    pos = close;
    if (!selectors.empty() && selectors.front() == '@') {
      std::string q = lowerNoSpace(selectors);
      bool conditional = q.find("width") != std::string::npos || q.find("height") != std::string::npos ||
                         q.find("orientation") != std::string::npos || q.find("print") != std::string::npos ||
                         q.find("prefers") != std::string::npos;
      if (q.rfind("@media", 0) == 0 && !conditional && depth < 4) addBlock(body, depth + 1);
      continue;
    }
    std::string decls(body.substr(0, kMaxDeclarations));
    std::size_t start = 0;
    while (start <= selectors.size()) {
      std::size_t comma = selectors.find(',', start);
      std::string_view one = trim(selectors.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      start = comma == std::string_view::npos ? selectors.size() + 1 : comma + 1;
      std::size_t last = one.find_last_of(" >+~");
      std::string_view compound = last == std::string_view::npos ? one : one.substr(last + 1);
      if (compound.empty() || compound.find(':') != std::string_view::npos || compound.find('[') != std::string_view::npos) continue;
      ++rules_;
      std::size_t dot = compound.find('.'), hash = compound.find('#');
      std::string key;
      if (hash != std::string_view::npos) {
        std::string_view id = compound.substr(hash + 1);
        id = id.substr(0, id.find('.'));
        by_id_[std::string(id)] += ";" + decls;
      } else if (dot != std::string_view::npos) {
        std::string_view cls = compound.substr(dot + 1);
        cls = cls.substr(0, cls.find('.'));
        by_class_[std::string(cls)] += ";" + decls;
      } else {
        std::string tag;
        for (char c : compound) tag.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        by_tag_[tag] += ";" + decls;
      }
    }
  }
}

std::string StyleSheet::declarationsFor(std::string_view tag, std::string_view class_attr, std::string_view id) const {
  std::string out;
  if (auto it = by_tag_.find(std::string(tag)); it != by_tag_.end()) out += it->second;
  if (auto it = by_tag_.find("*"); it != by_tag_.end()) out += it->second;
  std::size_t p = 0;
  while (p < class_attr.size()) {
    while (p < class_attr.size() && std::isspace(static_cast<unsigned char>(class_attr[p]))) ++p;
    std::size_t e = p;
    while (e < class_attr.size() && !std::isspace(static_cast<unsigned char>(class_attr[e]))) ++e;
    if (e > p) {
      if (auto it = by_class_.find(std::string(class_attr.substr(p, e - p))); it != by_class_.end()) out += it->second;
    }
    p = e;
  }
  if (!id.empty()) {
    if (auto it = by_id_.find(std::string(id)); it != by_id_.end()) out += it->second;
  }
  return out;
}

const char* applyStyle(std::string_view declarations, std::string_view font_color_attr,
                       std::string_view bgcolor_attr, Visual& v) {
  Rgb c;
  bool alpha0 = false;
  if (!font_color_attr.empty() && parseColor(std::string(font_color_attr), c, &alpha0)) {
    v.color = c;
    v.transparent = alpha0;
  }
  if (!bgcolor_attr.empty() && parseColor(std::string(bgcolor_attr), c, &alpha0) && !alpha0) v.background = c;
  if (declarations.empty()) return nullptr;
  auto d = parseDeclarations(declarations);
  auto get = [&](const char* k) -> const std::string* {
    auto it = d.find(k);
    return it == d.end() ? nullptr : &it->second;
  };
  const char* drop = nullptr;
  if (auto* x = get("display"); x && *x == "none") drop = "display:none";
  if (auto* x = get("mso-hide"); x && *x == "all") drop = "mso-hide:all";
  if (auto* x = get("opacity")) {
    double o = std::strtod(x->c_str(), nullptr);
    if (x->find('%') != std::string::npos) o /= 100.0;
    if (!x->empty() && o <= 0.05) drop = "opacity:0";
  }
  bool overflow_hidden = false;
  if (auto* x = get("overflow"); x && (*x == "hidden" || *x == "clip")) overflow_hidden = true;
  for (const char* k : {"height", "max-height", "width", "max-width", "line-height"}) {
    if (auto* x = get(k); x && overflow_hidden && lengthPx(*x) <= 1.0) drop = "zero size with overflow hidden";
  }
  if (auto* pos = get("position"); pos && (*pos == "absolute" || *pos == "fixed")) {
    for (const char* k : {"left", "top", "right", "bottom"}) {
      if (auto* x = get(k); x && lengthPx(*x) <= -200.0) drop = "positioned off-screen";
    }
  }
  for (const char* k : {"text-indent", "margin-left", "margin-top"}) {
    if (auto* x = get(k); x && lengthPx(*x) <= -500.0) drop = "moved off-screen";
  }
  if (auto* x = get("clip"); x && x->rfind("rect(0", 0) == 0) {
    std::string digits;
    for (char ch : *x) if (std::isdigit(static_cast<unsigned char>(ch)) && ch != '0') digits.push_back(ch);
    if (digits.empty()) drop = "clipped";
  }
  if (auto* x = get("clip-path"); x && (x->find("inset(50%") == 0 || x->find("inset(100%") == 0 || x->find("circle(0") == 0)) drop = "clipped";
  if (auto* x = get("transform"); x && (x->find("scale(0)") != std::string::npos || x->find("scale(0,") != std::string::npos)) drop = "scaled to nothing";
  // Inherited properties: a child may set them again.
  if (auto* x = get("font-size")) {
    double px = lengthPx(*x);
    if (!std::isnan(px)) v.tiny_font = px < 2.0;
  }
  if (auto* x = get("visibility")) {
    if (*x == "hidden" || *x == "collapse") v.invisible = true;
    if (*x == "visible") v.invisible = false;
  }
  if (auto* x = get("color"); x && parseColor(*x, c, &alpha0)) {
    v.color = c;
    v.transparent = alpha0;
  }
  bool bg_transparent = false;
  for (const char* k : {"background-color", "background"}) {
    if (auto* x = get(k); x && backgroundColour(*x, c, bg_transparent) && !bg_transparent) v.background = c;
  }
  return drop;
}

const char* textHidden(const Visual& v) {
  if (v.tiny_font) return "font-size:0";
  if (v.invisible) return "visibility:hidden";
  if (v.transparent) return "transparent text";
  if (sameColour(v.color, v.background)) return "text in the background colour";
  return nullptr;
}

}  // namespace mugai::sanitizers::html_to_text
