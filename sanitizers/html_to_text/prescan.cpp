// A linear pre-scan of untrusted HTML that bounds what Gumbo will be given: Gumbo's tree
// construction is quadratic in nesting depth (1,000,000 nested <div> ran for over 20 minutes
// here) and its allocator cannot fail, so element count and nesting are estimated before parsing.
#include "sanitizers/html_to_text/prescan.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace mugai::sanitizers::html_to_text {
namespace {

constexpr std::array<std::string_view, 24> kNoNesting = {
    // void elements
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen",
    // elements whose end tag is commonly omitted (closed implicitly by their next sibling)
    "p", "li", "td", "th", "tr", "option", "dt", "dd", "!doctype"};

constexpr std::size_t kMatchWindow = 64;  // how far down the stack an end tag may match

bool nests(std::string_view name) {
  return std::find(kNoNesting.begin(), kNoNesting.end(), name) == kNoNesting.end();
}

template <std::size_t N>
bool among(const std::array<std::string_view, N>& set, std::string_view name) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

// The HTML "special" elements: an end tag for anything else (span, b, unknown...) is ignored by
// the parser when one of these is open above its element, so it must not pop them here either.
constexpr std::array<std::string_view, 88> kSpecial = {
    "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound", "blockquote",
    "body", "br", "button", "caption", "center", "col", "colgroup", "dd", "details", "dir", "div",
    "dl", "dt", "embed", "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset",
    "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "iframe", "img",
    "input", "keygen", "li", "link", "listing", "main", "marquee", "menu", "meta", "nav",
    "noembed", "noframes", "noscript", "object", "ol", "p", "param", "plaintext", "pre", "script",
    "section", "select", "source", "style", "summary", "table", "tbody", "td", "template",
    "textarea", "tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr", "xmp", "mi", "mo",
    "mn", "ms", "mtext", "foreignobject"};

// End tags the parser honours through any open element up to a scope boundary.
constexpr std::array<std::string_view, 46> kBlockEnd = {
    "address", "article", "aside", "blockquote", "button", "center", "details", "dialog", "dir",
    "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "listing",
    "main", "menu", "nav", "ol", "pre", "section", "summary", "ul", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "applet", "marquee", "object", "table", "tbody", "thead", "tfoot",
    "caption", "colgroup", "select", "template", "svg", "math"};

constexpr std::array<std::string_view, 13> kScopeBoundary = {
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "mi", "mo",
    "mtext", "foreignobject"};
constexpr std::array<std::string_view, 6> kTablePart = {"tbody", "thead", "tfoot",
                                                        "caption", "colgroup", "table"};

/// Whether the parser's end tag `name` closes `open` (which is above its element on the stack).
bool endTagPassesOver(std::string_view name, std::string_view open) {
  if (!among(kBlockEnd, name)) return !among(kSpecial, open);
  if (among(kTablePart, name)) return open != "html" && open != "template" && open != "table";
  if ((name == "ul" || name == "ol") && (open == "ul" || open == "ol")) return false;
  return !among(kScopeBoundary, open);
}

std::string_view tagName(std::string_view html, std::size_t start, char* buf, std::size_t cap) {
  std::size_t n = 0;
  for (std::size_t i = start; i < html.size() && n < cap; ++i) {
    unsigned char c = static_cast<unsigned char>(html[i]);
    if (!std::isalnum(c) && c != '-' && c != ':' && c != '!') break;
    buf[n++] = static_cast<char>(std::tolower(c));
  }
  return {buf, n};
}

/// Position after the raw-text content of <script>/<style>/... (its end tag), or npos.
std::size_t skipRawText(std::string_view html, std::size_t from, std::string_view name) {
  std::string close = "</" + std::string(name);
  for (std::size_t p = from; (p = html.find("</", p)) != std::string_view::npos; p += 2) {
    if (html.size() - p >= close.size() &&
        std::equal(close.begin(), close.end(), html.begin() + p,
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      return p;
    }
  }
  return std::string_view::npos;
}

/// Reads the attributes of a start tag from `pos` (just after its name) the way the HTML
/// tokenizer does, quoted values included ('>' inside quotes does not end the tag); returns the
/// position of the tag's '>' (or npos) and counts the attributes in *count, stopping once it
/// passes `limit`.
std::size_t scanAttributes(std::string_view html, std::size_t pos, std::size_t limit,
                           std::size_t* count) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  const std::size_t n = html.size();
  *count = 0;
  while (pos < n) {
    char c = html[pos];
    if (space(c) || c == '/') {
      ++pos;
      continue;
    }
    if (c == '>') return pos;
    // An attribute name: up to white space, '/', '>' or '=' (a leading '=' belongs to it).
    ++*count;
    if (*count > limit) return pos;
    ++pos;
    while (pos < n && !space(html[pos]) && html[pos] != '/' && html[pos] != '>' && html[pos] != '=') ++pos;
    std::size_t after = pos;
    while (after < n && space(html[after])) ++after;
    if (after >= n || html[after] != '=') continue;
    pos = after + 1;
    while (pos < n && space(html[pos])) ++pos;
    if (pos < n && (html[pos] == '"' || html[pos] == '\'')) {
      std::size_t close = html.find(html[pos], pos + 1);
      if (close == std::string_view::npos) return std::string_view::npos;
      pos = close + 1;
    } else {
      while (pos < n && !space(html[pos]) && html[pos] != '>') ++pos;
    }
  }
  return std::string_view::npos;
}

}  // namespace

PrescanResult prescan(std::string_view html, std::size_t node_limit, std::size_t depth_limit,
                      std::size_t attribute_limit) {
  PrescanResult r;
  std::vector<std::string> stack;
  std::size_t foreign = 0;  // open svg/math elements
  char buf[32];
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (html.compare(i, 4, "<!--") == 0) {
      std::size_t end = html.find("-->", i + 4);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    bool closing = i + 1 < html.size() && html[i + 1] == '/';
    std::size_t name_at = i + (closing ? 2 : 1);
    if (name_at >= html.size() || !std::isalpha(static_cast<unsigned char>(html[name_at]))) {
      ++i;
      continue;
    }
    std::string_view name = tagName(html, name_at, buf, sizeof buf);
    std::size_t gt;
    if (closing) {
      gt = html.find('>', name_at);
    } else {
      std::size_t name_end = name_at;
      while (name_end < html.size() && !std::isspace(static_cast<unsigned char>(html[name_end])) &&
             html[name_end] != '/' && html[name_end] != '>')
        ++name_end;
      std::size_t attributes = 0;
      gt = scanAttributes(html, name_end, attribute_limit, &attributes);
      r.max_attributes = std::max(r.max_attributes, attributes);
      if (attributes > attribute_limit) {
        r.failure = Reason::LimitHtmlNodes;
        return r;
      }
    }
    // "<div/>" opens a div in HTML; "/>" closes only inside svg and math.
    bool self_closing =
        foreign > 0 && gt != std::string_view::npos && gt > 0 && html[gt - 1] == '/';
    i = gt == std::string_view::npos ? html.size() : gt + 1;
    if (closing) {
      // Pop only what the parser pops: "<span><div></span>" leaves the div open (and nests).
      std::size_t window = std::min(stack.size(), kMatchWindow);
      for (std::size_t k = 0; k < window; ++k) {
        const std::string& open = stack[stack.size() - 1 - k];
        if (open == name) {
          if (open == "svg" || open == "math") --foreign;
          for (std::size_t m = 0; m < k; ++m) {
            const std::string& above = stack[stack.size() - 1 - m];
            if (above == "svg" || above == "math") --foreign;
          }
          stack.resize(stack.size() - 1 - k);
          break;
        }
        if (!endTagPassesOver(name, open)) break;
      }
      continue;
    }
    if (++r.start_tags > node_limit) {
      r.failure = Reason::LimitHtmlNodes;
      return r;
    }
    if (name == "script" || name == "style" || name == "textarea" || name == "title" ||
        name == "xmp" || name == "plaintext" || name == "iframe" || name == "noembed" ||
        name == "noframes") {
      std::size_t end = skipRawText(html, i, name);
      if (end == std::string_view::npos) break;
      i = end;
      continue;
    }
    if (self_closing || !nests(name)) continue;
    if (name == "svg" || name == "math") ++foreign;
    stack.emplace_back(name);
    r.max_depth = std::max(r.max_depth, stack.size());
    if (stack.size() > depth_limit) {
      r.failure = Reason::LimitHtmlDepth;
      return r;
    }
  }
  return r;
}

}  // namespace mugai::sanitizers::html_to_text
