// html_to_text: HTML to text through the pre-scan and Gumbo (sanitizers/html_to_text), with the
// shipped limits. Checked: the text is valid UTF-8, has no line over the folding limit (plus a
// character), and nothing of a failed conversion is handed out.
#include <string>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/core/budget.h"
#include "mugai/text/charset.h"
#include "sanitizers/html_to_text/factory.h"
#include "sanitizers/html_to_text/html_to_text.h"

using namespace mugai;

MUGAI_FUZZ_TARGET(html_to_text) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::string html = text::sanitizeUtf8(raw);  // the sanitizer decodes to UTF-8 first
  Budget budget(fuzz::shippedLimits());
  sanitizers::html_to_text::Options o;
  o.budget = &budget;
  auto r = sanitizers::html_to_text::htmlToText(html, o);
  if (r.failure) {
    if (!r.text.empty()) fuzz::fail("text handed out with a failure");
    return 0;
  }
  if (!text::isValidUtf8(r.text)) fuzz::fail("html_to_text gave invalid UTF-8");
  std::size_t line = 0;
  for (char c : r.text) {
    if (c == '\n') {
      line = 0;
    } else if (++line > o.line_length_limit + 4) {
      fuzz::fail("a line over the folding limit");
    }
  }
  (void)sanitizers::html_to_text::sniffMetaCharset(raw);
  return 0;
}

/// The sanitizer as the engine runs it: declared charset, decoding, then the conversion.
MUGAI_FUZZ_TARGET(html_sanitizer) {
  static const auto s = [] {
    std::string error;
    auto made = sanitizers::html_to_text::makeFactory()->create({}, &error);
    if (!made) fuzz::fail("default parameters refused");
    return made;
  }();
  fuzz::applySanitizer(*s, std::string(reinterpret_cast<const char*>(data), size), "text/html", "");
  return 0;
}
