// Internal: text the sender hid from the reader (issue 10, class 7). Inline style, <style> rules
// by class, id and tag, and the old attributes (font color, bgcolor) decide what a mail client
// would not show; such text is left out of the plain-text rendering and counted.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace mugai::sanitizers::html_to_text {

struct Rgb {
  int r = 0, g = 0, b = 0;
};

/// What an element passes on to its children (CSS inherited properties that can hide text).
struct Visual {
  bool tiny_font = false;     ///< font-size 0 or below 2px/pt (a child may set it again)
  bool invisible = false;     ///< visibility:hidden/collapse (a child may set visible)
  bool transparent = false;   ///< color: transparent or alpha 0
  Rgb color{0, 0, 0};         ///< text colour (default black)
  Rgb background{255, 255, 255};  ///< nearest background colour (default white)
};

/// `<style>` rules reduced to declarations per simple selector (the last compound of each
/// selector: ".a .b" counts for class b, "td.x" for class x, "[data-x]" for elements with that
/// attribute; structural pseudo-classes are dropped, so a rule matches more, never less).
/// @supports/@layer blocks count; @media blocks only when they hold on any screen (desktop
/// reading: "(max-width:600px)", print and orientation queries are skipped).
class StyleSheet {
 public:
  void add(std::string_view css);
  /// Declarations that apply to an element (tag rules, attribute rules, then classes, then id),
  /// "" if none. `attr_names`: the element's attribute names, space separated, lower case.
  std::string declarationsFor(std::string_view tag, std::string_view class_attr, std::string_view id,
                              std::string_view attr_names = {}) const;
  bool empty() const { return by_class_.empty() && by_id_.empty() && by_tag_.empty() && by_attr_.empty(); }
  bool needsAttributes() const { return !by_attr_.empty(); }
  /// More selectors than the sheet keeps: rules after them were not read (the caller fails closed).
  bool overflowed() const { return overflowed_; }

 private:
  void addSheet(std::string_view css, int nesting);  ///< add(), and a data: import's sheet
  void addBlock(std::string_view css, int depth);
  /// One selector of a rule whose declarations are `decls`; false once the sheet is full.
  bool addRule(std::string_view selector, const std::string& decls);
  std::map<std::string, std::string> by_class_, by_id_, by_tag_, by_attr_;
  std::size_t rules_ = 0;
  bool overflowed_ = false;
};

/// The text of a data: URL (percent-encoded or ";base64"), at most 64 KiB.
std::string dataUrlText(std::string_view url);

/// Applies `declarations` (already merged: sheet first, inline style last) and the element's old
/// colour attributes to the inherited `v`. Returns the reason the whole element is not shown
/// ("display:none", "opacity:0", "mso-hide:all", "off-screen", "zero size with overflow
/// hidden", "clipped"), or nullptr; `v` is updated for the children either way.
const char* applyStyle(std::string_view declarations, std::string_view font_color_attr,
                       std::string_view bgcolor_attr, Visual& v);

/// Why text under `v` is not visible ("font-size:0", "visibility:hidden", "transparent text",
/// "text in the background colour"), or nullptr.
const char* textHidden(const Visual& v);

}  // namespace mugai::sanitizers::html_to_text
