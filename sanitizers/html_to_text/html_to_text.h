// sanitizer.html_to_text: HTML (body or attachment) to readable UTF-8 plain text through Gumbo.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mugai/core/budget.h"
#include "mugai/core/verdict.h"
#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::html_to_text {

struct Options {
  bool show_links = true;      ///< "text <URL>": the resolved target of http(s)/mailto/ftp links
  bool show_image_alt = true;  ///< images become "[alt]" (never fetched)
  std::size_t input_limit = 16u << 20;  ///< html_input_limit
  std::size_t node_limit = 500000;      ///< html_node_limit
  std::size_t depth_limit = 512;        ///< html_depth_limit
  std::size_t attribute_limit = 1000;   ///< html_attribute_limit (per element)
  std::size_t line_length_limit = 998;  ///< text_line_length_limit: longer lines are folded
  const Budget* budget = nullptr;       ///< deadline checked while parsing and walking
};

struct Result {
  std::string text;  ///< UTF-8, LF line ends
  std::optional<Reason> failure;  ///< a limit was reached: nothing of the text may be used
  std::string detail;
  std::size_t links = 0, images = 0, removed_elements = 0, nodes = 0;
  std::size_t links_removed = 0;        ///< links to other schemes or file shares, shown as removed
  std::size_t links_differing = 0;      ///< links whose text names another place than the target
  std::size_t links_mixed_scripts = 0;  ///< links to IDN hosts that mix scripts
  std::size_t hidden_text = 0;  ///< elements or text runs with text the sender hid (left out)
  std::string hidden_why;       ///< how it was hidden ("font-size:0, opacity:0")
  std::size_t parser_bytes = 0;  ///< peak bytes Gumbo held (its arena)
};

/// Converts UTF-8 HTML to text: visible text in reading order, blocks as line breaks, lists as
/// "- item" / "1. item", table cells separated by " | ", links as "text <URL>" with the URL
/// resolved as a browser does (WHATWG, <base href>; only http, https, mailto and ftp targets are
/// shown, other links as "[リンク削除: scheme: / link removed]"), a mark when the text names
/// another place than the target, IDN hosts also in Unicode; images as their alt text. script, style,
/// template, head, comments, form controls, object/embed/iframe/applet/svg/math are dropped.
/// Limits are checked by a linear pre-scan before Gumbo runs (Gumbo is quadratic on deep
/// nesting and its allocator cannot fail) and again while walking the tree iteratively.
Result htmlToText(std::string_view utf8_html, const Options& options);

/// The charset an HTML document declares in a <meta> in its first 1024 bytes ("" if none).
std::string sniffMetaCharset(std::string_view html);

class HtmlToTextSanitizer : public Sanitizer {
 public:
  explicit HtmlToTextSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.html_to_text"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

}  // namespace mugai::sanitizers::html_to_text
