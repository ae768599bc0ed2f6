// The WHATWG URL parser (src/text/url.cpp) and the link presentation of plain text
// (src/text/links.cpp). Checked on every input: a parsed URL serializes to ASCII within the
// output limit, and parsing its own serialization gives the same URL back (the standard's
// idempotence); presented text keeps every byte that was not a URL and stays valid UTF-8.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/text/charset.h"
#include "mugai/text/links.h"
#include "mugai/text/url.h"

namespace {

using namespace mugai;

void checkUrl(const text::Url& u) {
  std::string href = u.href();
  if (href.size() > text::kUrlOutputLimit) fuzz::fail("href over kUrlOutputLimit");
  for (unsigned char c : href) {
    if (c >= 0x80) fuzz::fail("href not ASCII");
  }
  auto again = text::parseUrl(href);
  if (!again) fuzz::fail("an href does not parse again");
  if (again->href() != href) fuzz::fail("parsing an href changes it");
}

}  // namespace

// byte 0: the length of the base (0: none), then the base, then the href.
MUGAI_FUZZ_TARGET(url_parse) {
  fuzz::Input in(data, size);
  std::size_t base_len = in.byte();
  std::string_view rest = in.rest();
  std::string_view base_text = rest.substr(0, std::min(base_len, rest.size()));
  std::string_view href = rest.substr(base_text.size());
  std::optional<text::Url> base;
  if (base_len > 0) base = text::parseUrl(base_text);
  if (base) checkUrl(*base);
  if (auto u = text::parseUrl(href, base ? &*base : nullptr)) {
    checkUrl(*u);
    if (u->host) {
      std::string uni = text::hostToUnicode(*u->host);
      if (!text::isValidUtf8(uni)) fuzz::fail("hostToUnicode gave invalid UTF-8");
      (void)text::hostMixesScripts(uni);
    }
  }
  return 0;
}

// byte 0: the style, then the text.
MUGAI_FUZZ_TARGET(text_links) {
  fuzz::Input in(data, size);
  auto style = static_cast<text::LinkStyle>(in.byte() % 3);
  std::string input = text::sanitizeUtf8(in.rest());  // bodies reach it as valid UTF-8
  text::PresentedText r = text::presentLinks(input, style, "LINKS", 50);
  if (!text::isValidUtf8(r.text)) fuzz::fail("presentLinks gave invalid UTF-8");
  if (r.links > 50) fuzz::fail("presentLinks rewrote more than max_links");
  if (style == text::LinkStyle::Inline && r.text != input) fuzz::fail("inline changed the text");
  return 0;
}
