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

}  // namespace

PrescanResult prescan(std::string_view html, std::size_t node_limit, std::size_t depth_limit) {
  PrescanResult r;
  std::vector<std::string> stack;
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
    std::size_t gt = html.find('>', name_at);
    bool self_closing = gt != std::string_view::npos && gt > 0 && html[gt - 1] == '/';
    i = gt == std::string_view::npos ? html.size() : gt + 1;
    if (closing) {
      std::size_t window = std::min(stack.size(), kMatchWindow);
      for (std::size_t k = 0; k < window; ++k) {
        if (stack[stack.size() - 1 - k] == name) {
          stack.resize(stack.size() - 1 - k);
          break;
        }
      }
      continue;
    }
    if (++r.start_tags > node_limit) {
      r.failure = Reason::LimitHtmlNodes;
      return r;
    }
    if (name == "script" || name == "style" || name == "textarea" || name == "title" ||
        name == "xmp" || name == "plaintext") {
      std::size_t end = skipRawText(html, i, name);
      if (end == std::string_view::npos) break;
      i = end;
      continue;
    }
    if (self_closing || !nests(name)) continue;
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
