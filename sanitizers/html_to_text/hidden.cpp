// Hidden text detection (see hidden.h). A favourite of prompt injection and filter evasion:
// text in font-size 0, white on white, opacity 0, off-screen, hidden by a class rule or by
// Outlook's mso-hide. Bounded: at most kMaxRules selectors are kept from <style>.
#include "sanitizers/html_to_text/hidden.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <vector>

namespace mugai::sanitizers::html_to_text {
namespace {

constexpr std::size_t kMaxRules = 200000;  // selectors (each key keeps a few hiding properties)
constexpr std::size_t kMaxDeclarations = 4096;  // bytes kept per selector

bool hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

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

/// CSS as a browser reads it before matching values: comments gone, escapes decoded ("\\6e one"
/// and "n\\one" are "none"), lower case, white space runs made one space.
std::string normaliseCss(std::string_view css) {
  std::string in = stripComments(css), out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      std::size_t h = i + 1;
      unsigned long cp = 0;
      while (h < in.size() && h < i + 7 && hex(in[h])) cp = cp * 16 + static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(in[h])) ? in[h] - '0' : (std::tolower(static_cast<unsigned char>(in[h])) - 'a' + 10)), ++h;
      if (h > i + 1) {
        if (h < in.size() && std::isspace(static_cast<unsigned char>(in[h]))) ++h;  // one space ends it
        c = cp < 0x80 ? static_cast<char>(cp) : '?';
        i = h - 1;
      } else {
        c = in[++i];
      }
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      continue;
    }
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

/// prop -> value (normalised, "!important" dropped). The last one wins, except that a later
/// declaration without !important does not override an earlier one with it (a class rule's
/// "display:none !important" beats an inline "display:block").
std::map<std::string, std::string> parseDeclarations(std::string_view decls,
                                                     std::map<std::string, bool>* important_out = nullptr) {
  std::map<std::string, std::string> out;
  std::map<std::string, bool> local;
  std::map<std::string, bool>& important = important_out ? *important_out : local;
  std::string d = normaliseCss(decls);
  std::size_t pos = 0;
  while (pos < d.size()) {
    std::size_t semi = d.find(';', pos);
    std::string one = d.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    pos = semi == std::string::npos ? d.size() : semi + 1;
    std::size_t colon = one.find(':');
    if (colon == std::string::npos) continue;
    std::string prop(trim(std::string_view(one).substr(0, colon)));
    std::string value(trim(std::string_view(one).substr(colon + 1)));
    if (prop.empty()) continue;
    bool imp = false;
    if (std::size_t at = value.find('!'); at != std::string::npos) {
      imp = value.find("important", at) != std::string::npos;
      value = std::string(trim(std::string_view(value).substr(0, at)));
    }
    if (important[prop] && !imp) continue;
    important[prop] = imp;
    out[prop] = value;
  }
  return out;
}

/// A CSS length in px (pt, em and % are scaled roughly; unknown units: nullopt-like NaN).
double lengthPx(const std::string& v) {
  if (v.empty()) return NAN;
  // calc(), min(), max() around one length ("calc(0px)", "calc( -9999px )") are that length.
  for (std::string_view fn : {"calc(", "min(", "max("}) {
    if (v.starts_with(fn) && v.back() == ')') {
      std::string inner(trim(std::string_view(v).substr(fn.size(), v.size() - fn.size() - 1)));
      if (inner.find_first_of(" ,()") == std::string::npos) return lengthPx(inner);
      return NAN;
    }
  }
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

/// The numbers of a functional colour "rgb(1 2 3 / .5)", "hsla(0,0%,100%,0)": separators are
/// spaces, commas and slashes; a percentage is kept as such (pct[i]).
std::vector<double> colourArgs(const std::string& v, std::vector<bool>& pct) {
  std::vector<double> n;
  std::size_t open = v.find('(');
  if (open == std::string::npos) return n;
  std::size_t p = open + 1;
  while (p < v.size() && n.size() < 4) {
    while (p < v.size() && (v[p] == ' ' || v[p] == ',' || v[p] == '/')) ++p;
    char* end = nullptr;
    double x = std::strtod(v.c_str() + p, &end);
    if (end == v.c_str() + p) break;
    p = static_cast<std::size_t>(end - v.c_str());
    while (p < v.size() && std::isalpha(static_cast<unsigned char>(v[p]))) ++p;  // deg, turn
    bool is_pct = p < v.size() && v[p] == '%';
    if (is_pct) ++p;
    n.push_back(x);
    pct.push_back(is_pct);
  }
  return n;
}

Rgb fromHsl(double h, double s, double l) {
  h = std::fmod(std::fmod(h, 360.0) + 360.0, 360.0) / 360.0;
  auto hue = [](double p, double q, double t) {
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1.0 / 6) return p + (q - p) * 6 * t;
    if (t < 0.5) return q;
    if (t < 2.0 / 3) return p + (q - p) * (2.0 / 3 - t) * 6;
    return p;
  };
  double q = l < 0.5 ? l * (1 + s) : l + s - l * s, p = 2 * l - q;
  return {static_cast<int>(hue(p, q, h + 1.0 / 3) * 255 + 0.5), static_cast<int>(hue(p, q, h) * 255 + 0.5),
          static_cast<int>(hue(p, q, h - 1.0 / 3) * 255 + 0.5)};
}

/// Parses a CSS/HTML colour; false when not understood. `alpha0` for transparent/rgba(..,0).
bool parseColor(std::string v, Rgb& out, bool* alpha0 = nullptr) {
  v = std::string(trim(normaliseCss(v)));
  if (alpha0) *alpha0 = false;
  if (v.empty()) return false;
  if (v == "transparent") {
    if (alpha0) *alpha0 = true;
    return true;
  }
  // The named colours near white or black (the ones text can hide in on a page of either).
  static const std::map<std::string, Rgb> kNamed = {
      {"white", {255, 255, 255}}, {"black", {0, 0, 0}}, {"red", {255, 0, 0}}, {"lime", {0, 255, 0}},
      {"green", {0, 128, 0}}, {"blue", {0, 0, 255}}, {"yellow", {255, 255, 0}}, {"gray", {128, 128, 128}},
      {"grey", {128, 128, 128}}, {"silver", {192, 192, 192}}, {"whitesmoke", {245, 245, 245}},
      {"snow", {255, 250, 250}}, {"ivory", {255, 255, 240}}, {"navy", {0, 0, 128}},
      {"ghostwhite", {248, 248, 255}}, {"floralwhite", {255, 250, 240}}, {"mintcream", {245, 255, 250}},
      {"azure", {240, 255, 255}}, {"aliceblue", {240, 248, 255}}, {"seashell", {255, 245, 238}},
      {"honeydew", {240, 255, 240}}, {"lavenderblush", {255, 240, 245}}, {"linen", {250, 240, 230}},
      {"oldlace", {253, 245, 230}}, {"beige", {245, 245, 220}}, {"cornsilk", {255, 248, 220}},
      {"lightyellow", {255, 255, 224}}, {"lightcyan", {224, 255, 255}}, {"mistyrose", {255, 228, 225}},
      {"lemonchiffon", {255, 250, 205}}, {"papayawhip", {255, 239, 213}}, {"antiquewhite", {250, 235, 215}},
      {"blanchedalmond", {255, 235, 205}}, {"bisque", {255, 228, 196}}, {"lavender", {230, 230, 250}},
      {"lightgoldenrodyellow", {250, 250, 210}}, {"gainsboro", {220, 220, 220}},
      {"lightgray", {211, 211, 211}}, {"lightgrey", {211, 211, 211}}, {"midnightblue", {25, 25, 112}},
      {"darkslategray", {47, 79, 79}}, {"darkslategrey", {47, 79, 79}}, {"dimgray", {105, 105, 105}}};
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
  bool rgb = v.rfind("rgb", 0) == 0, hsl = v.rfind("hsl", 0) == 0;
  if (!rgb && !hsl) return false;
  std::vector<bool> pct;
  std::vector<double> n = colourArgs(v, pct);
  if (n.size() < 3) return false;
  if (rgb) {
    for (int i = 0; i < 3; ++i) if (pct[static_cast<std::size_t>(i)]) n[static_cast<std::size_t>(i)] *= 2.55;
    out = {static_cast<int>(n[0]), static_cast<int>(n[1]), static_cast<int>(n[2])};
  } else {
    out = fromHsl(n[0], std::clamp(n[1] / 100.0, 0.0, 1.0), std::clamp(n[2] / 100.0, 0.0, 1.0));
  }
  if (n.size() == 4 && alpha0) *alpha0 = (pct[3] ? n[3] / 100.0 : n[3]) <= 0.05;
  return true;
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

/// A number or percentage at the start of `v` as a factor ("0.5", "50%" -> 0.5); NaN if none.
double factor(std::string_view v) {
  v = trim(v);
  std::string t(v.substr(0, 32));
  char* end = nullptr;
  double n = std::strtod(t.c_str(), &end);
  if (end == t.c_str()) return NAN;
  return *end == '%' ? n / 100.0 : n;
}

std::string firstWord(const std::string& v) { return v.substr(0, v.find(' ')); }

/// Every number up to the closing ')' is zero ("0 0 0 0", "0px,0px", "0 0, 0 0, 0 0").
bool allZero(std::string_view args) {
  bool any = false;
  for (std::size_t p = 0; p < args.size() && args[p] != ')'; ++p) {
    if (std::isdigit(static_cast<unsigned char>(args[p]))) {
      if (args[p] != '0') return false;
      any = true;
    }
  }
  return any;
}

/// The properties that can hide text (applyStyle reads no others).
bool hidingProperty(const std::string& p) {
  static const std::set<std::string, std::less<>> kProps = {
      "display", "content-visibility", "mso-hide", "opacity", "filter", "zoom", "overflow", "overflow-x",
      "overflow-y", "height", "max-height", "width", "max-width", "line-height", "position", "left", "top",
      "right", "bottom", "inset", "text-indent", "margin", "margin-left", "margin-top", "clip", "clip-path",
      "transform", "scale", "font", "font-size", "visibility", "color", "-webkit-text-fill-color",
      "background", "background-color"};
  return kProps.count(p) != 0;
}

/// `stored` (declarations kept for one selector key) with `decls` applied after it, reduced to
/// the hiding properties, each once (values cut at 256 bytes): what a key holds stays small
/// however many rules name it (10,000 "*{...}" rules cost minutes per element when kept whole).
void mergeDeclarations(std::string& stored, std::string_view decls) {
  std::map<std::string, bool> imp_old, imp_new;
  auto before = parseDeclarations(stored, &imp_old);
  auto added = parseDeclarations(decls, &imp_new);
  for (auto& [prop, value] : added) {
    if (!hidingProperty(prop) || (imp_old[prop] && !imp_new[prop])) continue;
    before[prop] = value.substr(0, 256);
    imp_old[prop] = imp_new[prop];
  }
  stored.clear();
  for (const auto& [prop, value] : before) {
    stored += prop + ":" + value + (imp_old[prop] ? " !important;" : ";");
  }
}

/// Whether the rules inside an at-rule apply when the mail is read on a screen. @supports,
/// @layer and @document blocks apply; an @media block applies when each of its conditions holds
/// on every screen from 320 to 10000 pixels ("(min-width:1px)" does, "(max-width:600px)" and
/// print, orientation or preference queries do not: desktop reading).
bool atRuleApplies(std::string_view q) {
  for (std::string_view always : {"@supports", "@layer", "@document", "@-moz-document", "@scope"}) {
    if (q.starts_with(always)) return true;
  }
  if (!q.starts_with("@media")) return false;
  for (std::string_view off : {"print", "speech", "not ", "orientation", "prefers", "<", ">", "="}) {
    if (q.find(off) != std::string_view::npos) return false;
  }
  for (std::size_t p = q.find('('); p != std::string_view::npos; p = q.find('(', p + 1)) {
    std::size_t e = q.find(')', p);
    if (e == std::string_view::npos) return false;
    std::string_view feature = q.substr(p + 1, e - p - 1);
    std::size_t colon = feature.find(':');
    if (colon == std::string_view::npos) return false;
    std::string name(trim(feature.substr(0, colon)));
    double px = lengthPx(std::string(trim(feature.substr(colon + 1))));
    if (std::isnan(px)) return false;
    bool min = name == "min-width" || name == "min-height" || name == "min-device-width" || name == "min-device-height";
    bool max = name == "max-width" || name == "max-height" || name == "max-device-width" || name == "max-device-height";
    if (!(min && px <= 320.0) && !(max && px >= 10000.0)) return false;
  }
  return true;
}

/// Pseudo-classes that depend on what the reader does (the text shows at rest): such rules are
/// not counted. Structural ones (:first-child, :nth-of-type(..), :not(..)) are dropped from
/// the selector, which then matches more elements than a browser would, never fewer.
bool statePseudo(std::string_view name) {
  for (std::string_view s : {"hover", "focus", "focus-within", "focus-visible", "active", "visited",
                             "target", "checked", "selection"}) {
    if (name == s) return true;
  }
  return false;
}

}  // namespace

std::string dataUrlText(std::string_view url) {
  std::size_t comma = url.find(',');
  if (comma == std::string_view::npos) return {};
  std::string head(url.substr(0, comma));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view body = url.substr(comma + 1, 65536);
  std::string out;
  auto hexval = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
  };
  std::string text;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '%' && i + 2 < body.size() && std::isxdigit(static_cast<unsigned char>(body[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
      text.push_back(static_cast<char>(hexval(body[i + 1]) * 16 + hexval(body[i + 2])));
      i += 2;
    } else {
      text.push_back(body[i]);
    }
  }
  if (head.find(";base64") == std::string::npos) return text;
  static constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    std::size_t v = kB64.find(c);
    if (v == std::string_view::npos) continue;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

void StyleSheet::add(std::string_view css) { addSheet(css, 0); }

void StyleSheet::addSheet(std::string_view css, int nesting) {
  // An @import of a data: URL is a stylesheet the client has without the network: its rules
  // (and its own imports) count, before the sheet's own (where @import stands). Read from the
  // raw text: base64 has case. More imports, or deeper, than a reader would follow here: the
  // sheet is not fully read, which fails closed (overflowed()).
  std::string lower(css.substr(0, 1 << 20));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t imports = 0;
  for (std::size_t at = lower.find("@import"); at != std::string::npos;
       at = lower.find("@import", at + 7)) {
    std::size_t end = lower.find(';', at);
    std::size_t d = lower.find("data:", at);
    if (d == std::string::npos || (end != std::string::npos && d > end)) continue;
    if (++imports > 16 || nesting >= 3) {
      overflowed_ = true;
      break;
    }
    // A quoted URL ends at its closing quote (spaces and ')' are part of it, as browsers read
    // it); an unquoted one at ')' or white space. ";base64" is part of either.
    const char before = d > 0 ? css[d - 1] : '\0';
    std::size_t stop = before == '"' || before == '\''
                           ? css.find(before, d)
                           : css.find_first_of(")\"' \t\r\n", d);
    std::string_view url = css.substr(d, stop == std::string_view::npos ? std::string_view::npos : stop - d);
    addSheet(dataUrlText(url), nesting + 1);
  }
  addBlock(normaliseCss(css), nesting == 0 ? 0 : 1);
}

namespace {

/// The last compound of a selector ("div.note > p.x:hover" -> "p.x:hover") with its attribute
/// selectors and pseudo-classes taken out: [name...] is kept as "the element has that
/// attribute"; a state pseudo-class (:hover, :focus, ...) marks a rule that does not apply to
/// the text as sent.
struct Compound {
  std::string simple;     ///< tag, .class and #id parts
  std::string attr_name;  ///< the first [name...]
  bool state = false;
};

Compound readCompound(std::string_view compound) {
  Compound out;
  for (std::size_t i = 0; i < compound.size();) {
    char c = compound[i];
    if (c == '[') {
      std::size_t e = compound.find(']', i);
      std::string_view inside = compound.substr(i + 1, (e == std::string_view::npos ? compound.size() : e) - i - 1);
      if (out.attr_name.empty()) out.attr_name = std::string(trim(inside.substr(0, inside.find_first_of("=~|^$*"))));
      i = e == std::string_view::npos ? compound.size() : e + 1;
    } else if (c == ':') {
      std::size_t e = i + 1;
      while (e < compound.size() && (std::isalnum(static_cast<unsigned char>(compound[e])) || compound[e] == '-')) ++e;
      if (statePseudo(compound.substr(i + 1, e - i - 1))) out.state = true;
      if (e < compound.size() && compound[e] == '(') {
        int level_p = 0;
        for (; e < compound.size(); ++e) {
          if (compound[e] == '(') ++level_p;
          if (compound[e] == ')' && --level_p == 0) {
            ++e;
            break;
          }
        }
      }
      i = e;
    } else {
      out.simple.push_back(c);
      ++i;
    }
  }
  return out;
}

}  // namespace

bool StyleSheet::addRule(std::string_view one, const std::string& decls) {
  std::size_t last = one.find_last_of(" >+~");
  std::string_view compound = last == std::string_view::npos ? one : one.substr(last + 1);
  if (compound.empty() || compound.find("::") != std::string_view::npos) return true;
  const Compound c = readCompound(compound);
  if (c.state) return true;
  if (++rules_ > kMaxRules) {  // beyond it, a rule that hides would not be seen: fail closed
    overflowed_ = true;
    return false;
  }
  const std::string& simple = c.simple;
  std::size_t dot = simple.find('.'), hash = simple.find('#');
  if (hash != std::string::npos) {
    std::string id = simple.substr(hash + 1);
    mergeDeclarations(by_id_[id.substr(0, id.find('.'))], decls);
  } else if (dot != std::string::npos) {
    std::string cls = simple.substr(dot + 1);
    mergeDeclarations(by_class_[cls.substr(0, cls.find('.'))], decls);
  } else if (!c.attr_name.empty()) {  // "div[title]": the elements with that attribute
    mergeDeclarations(by_attr_[c.attr_name], decls);
  } else {
    mergeDeclarations(by_tag_[simple.empty() ? std::string("*") : simple], decls);
  }
  return true;
}

void StyleSheet::addBlock(std::string_view css, int depth) {
  std::size_t pos = 0;
  while (pos < css.size()) {
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
    // "@import url(x);" and other statements before a block end at their ';' (an @import of a
    // data: URL was read by add()).
    while (!selectors.empty() && selectors.front() == '@' && selectors.find(';') != std::string_view::npos) {
      selectors = trim(selectors.substr(selectors.find(';') + 1));
    }
    if (!selectors.empty() && selectors.front() == '@') {
      if (atRuleApplies(selectors) && depth < 4) addBlock(body, depth + 1);
      continue;
    }
    std::string decls;  // reduced once to the hiding properties, then merged per selector
    mergeDeclarations(decls, body.substr(0, kMaxDeclarations));
    std::size_t start = 0;
    while (start <= selectors.size()) {
      std::size_t comma = selectors.find(',', start);
      std::string_view one = trim(selectors.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      start = comma == std::string_view::npos ? selectors.size() + 1 : comma + 1;
      if (!addRule(one, decls)) return;
    }
  }
}

std::string StyleSheet::declarationsFor(std::string_view tag, std::string_view class_attr, std::string_view id,
                                        std::string_view attr_names) const {
  std::string out;
  auto lower = [](std::string_view v) {
    std::string l(v);
    for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return l;
  };
  // Class and id names compared without case, as a mail without a DOCTYPE (quirks mode) is shown.
  auto words = [&](std::string_view list, const std::map<std::string, std::string>& by) {
    std::size_t p = 0;
    while (p < list.size()) {
      while (p < list.size() && std::isspace(static_cast<unsigned char>(list[p]))) ++p;
      std::size_t e = p;
      while (e < list.size() && !std::isspace(static_cast<unsigned char>(list[e]))) ++e;
      if (e > p) {
        if (auto it = by.find(lower(list.substr(p, e - p))); it != by.end()) mergeDeclarations(out, it->second);
      }
      p = e;
    }
  };
  if (auto it = by_tag_.find(lower(tag)); it != by_tag_.end()) mergeDeclarations(out, it->second);
  if (auto it = by_tag_.find("*"); it != by_tag_.end()) mergeDeclarations(out, it->second);
  words(attr_names, by_attr_);
  words(class_attr, by_class_);
  if (!id.empty()) {
    if (auto it = by_id_.find(lower(id)); it != by_id_.end()) mergeDeclarations(out, it->second);
  }
  return out;
}

namespace {

/// One element's declarations, looked up by property name.
struct Decls {
  std::map<std::string, std::string> d;
  const std::string* get(const char* k) const {
    auto it = d.find(k);
    return it == d.end() ? nullptr : &it->second;
  }
};

/// display, content-visibility, mso-hide, opacity (and its filter), zoom, and a box of no size
/// whose overflow is hidden: the last that hides the element, or null.
const char* hiddenByDisplay(const Decls& d) {
  const char* drop = nullptr;
  if (auto* x = d.get("display"); x && *x == "none") drop = "display:none";
  if (auto* x = d.get("content-visibility"); x && *x == "hidden") drop = "display:none";
  if (auto* x = d.get("mso-hide"); x && *x == "all") drop = "mso-hide:all";
  if (auto* x = d.get("opacity"); x && !x->empty() && factor(*x) <= 0.05) drop = "opacity:0";
  if (auto* x = d.get("filter"); x && x->find("opacity(") != std::string::npos &&
                                 factor(x->substr(x->find("opacity(") + 8)) <= 0.05) drop = "opacity:0";
  if (auto* x = d.get("zoom"); x && !x->empty() && factor(*x) > 0.0 && factor(*x) <= 0.05) drop = "scaled to nothing";
  bool overflow_hidden = false;
  if (auto* x = d.get("overflow"); x && (x->starts_with("hidden") || x->starts_with("clip"))) overflow_hidden = true;
  for (const char* k : {"overflow-x", "overflow-y"}) {
    if (auto* x = d.get(k); x && (*x == "hidden" || *x == "clip")) overflow_hidden = true;
  }
  for (const char* k : {"height", "max-height", "width", "max-width", "line-height"}) {
    if (auto* x = d.get(k); x && overflow_hidden && lengthPx(*x) <= 1.0) drop = "zero size with overflow hidden";
  }
  return drop;
}

/// A box positioned, indented or given a margin far to the left or top: the last that moves the
/// element off-screen, or null.
const char* hiddenByPosition(const Decls& d) {
  const char* drop = nullptr;
  // Any positioned box moved far to the left or top (relative shifts it as much as absolute).
  if (auto* pos = d.get("position"); pos && *pos != "static") {
    for (const char* k : {"left", "top", "right", "bottom", "inset"}) {
      if (auto* x = d.get(k); x && lengthPx(firstWord(*x)) <= -200.0) drop = "positioned off-screen";
    }
  }
  for (const char* k : {"text-indent", "margin-left", "margin-top", "margin"}) {
    if (auto* x = d.get(k); x && lengthPx(firstWord(*x)) <= -500.0) drop = "moved off-screen";
  }
  if (auto* x = d.get("margin")) {  // "margin: top right bottom left": the left one too
    std::vector<std::string> w;
    for (std::size_t p = 0; p < x->size() && w.size() < 5;) {
      std::size_t e = x->find(' ', p);
      w.push_back(x->substr(p, e == std::string::npos ? std::string::npos : e - p));
      p = e == std::string::npos ? x->size() : e + 1;
    }
    if (w.size() >= 2 && lengthPx(w[w.size() == 4 ? 3 : 1]) <= -500.0) drop = "moved off-screen";
  }
  return drop;
}

/// clip, clip-path, transform (scaled to nothing or translated far away) and scale: the last
/// that hides the element, or null.
const char* hiddenByClipOrTransform(const Decls& d) {
  const char* drop = nullptr;
  if (auto* x = d.get("clip"); x && x->rfind("rect(", 0) == 0) {  // rect(top right bottom left)
    std::vector<bool> pct;
    std::vector<double> n = colourArgs(*x, pct);
    if (allZero(x->substr(5)) || (n.size() == 4 && (n[0] >= n[2] || n[3] >= n[1]))) drop = "clipped";
  }
  if (auto* x = d.get("clip-path")) {
    if (x->find("inset(50%") == 0 || x->find("inset(100%") == 0 || x->find("circle(0") == 0 ||
        x->find("ellipse(0") == 0 || (x->find("polygon(") == 0 && allZero(x->substr(8))))
      drop = "clipped";
  }
  if (auto* x = d.get("transform")) {
    for (std::string_view f : {"scale(", "scalex(", "scaley(", "scale3d("}) {
      for (std::size_t at = x->find(f); at != std::string::npos; at = x->find(f, at + 1)) {
        if (std::abs(factor(x->substr(at + f.size()))) <= 0.05) drop = "scaled to nothing";
      }
    }
    for (std::string_view f : {"translate(", "translatex(", "translatey(", "translate3d("}) {
      for (std::size_t at = x->find(f); at != std::string::npos; at = x->find(f, at + 1)) {
        std::string args = x->substr(at + f.size());
        for (std::size_t p = 0; p < args.size() && args[p] != ')';) {
          std::size_t e = args.find_first_of(",)", p);
          if (lengthPx(std::string(trim(std::string_view(args).substr(p, e - p)))) <= -500.0) drop = "moved off-screen";
          if (e == std::string::npos || args[e] == ')') break;
          p = e + 1;
        }
      }
    }
  }
  if (auto* x = d.get("scale"); x && std::abs(factor(*x)) <= 0.05) drop = "scaled to nothing";
  return drop;
}

/// The inherited properties (font size, visibility, text and background colours) into `v`:
/// a child may set them again.
void inheritVisual(const Decls& d, Visual& v) {
  if (auto* x = d.get("font")) {  // "font: 0/0 a": the size is the first length
    for (std::size_t p = 0; p < x->size();) {
      std::size_t e = x->find_first_of(" /", p);
      double px = lengthPx(x->substr(p, e == std::string::npos ? std::string::npos : e - p));
      if (!std::isnan(px)) {
        v.tiny_font = px < 2.0;
        break;
      }
      if (e == std::string::npos) break;
      p = e + 1;
    }
  }
  if (auto* x = d.get("font-size")) {
    double px = lengthPx(*x);
    if (!std::isnan(px)) v.tiny_font = px < 2.0;
  }
  if (auto* x = d.get("visibility")) {
    if (*x == "hidden" || *x == "collapse") v.invisible = true;
    if (*x == "visible") v.invisible = false;
  }
  Rgb c;
  bool alpha0 = false;
  for (const char* k : {"color", "-webkit-text-fill-color"}) {  // the fill wins where it is set
    if (auto* x = d.get(k); x && parseColor(*x, c, &alpha0)) {
      v.color = c;
      v.transparent = alpha0;
    }
  }
  bool bg_transparent = false;
  for (const char* k : {"background-color", "background"}) {
    if (auto* x = d.get(k); x && backgroundColour(*x, c, bg_transparent) && !bg_transparent) v.background = c;
  }
}

}  // namespace

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
  const Decls d{parseDeclarations(declarations)};
  // The last check that hides the element names why, as one property after another would.
  const char* drop = hiddenByDisplay(d);
  if (const char* why = hiddenByPosition(d)) drop = why;
  if (const char* why = hiddenByClipOrTransform(d)) drop = why;
  inheritVisual(d, v);
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
