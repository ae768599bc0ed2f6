/**
 * @file links.h
 * @brief How the links of a delivered text are shown: inline, as numbered footnotes, or defanged.
 *
 * Trust: the text is the sender's (a plain-text body, or what html_to_text made of an HTML one).
 * Limits: at most `max_links` URLs are rewritten per text (the rest stay as they are and the
 *         result says so); a URL is at most kUrlInputLimit bytes (url.h); one linear pass.
 * Errors: never throws.
 */
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::text {

/// The rules' `links:` key. Footnotes is the default.
enum class LinkStyle { Inline, Footnotes, Defanged };

std::optional<LinkStyle> linkStyleByName(std::string_view name);
std::string_view linkStyleName(LinkStyle style);

/// `hxxps://example[.]com/path`: the scheme and every dot (and `@`) of the host bracketed, so that
/// no mail client turns it into a link; the path is kept. `www.example.com` -> `www[.]example[.]com`.
std::string defangUrl(std::string_view url);

/// A URL found in text: [begin, end). `bracketed`: written as `<URL>` (the brackets are outside
/// the range); `bare`: a `www.` host without a scheme.
struct TextUrl {
  std::size_t begin = 0, end = 0;
  bool bracketed = false;
  bool bare = false;
};

/// URLs in plain text as a mail client would auto-link them: `http://`, `https://`, `ftp://`,
/// `mailto:` (case-insensitive, after a non-alphanumeric), and `www.` hosts. A URL ends at
/// whitespace, a control, `<>"`, a non-ASCII character (Japanese text runs on without spaces)
/// or trailing punctuation (`.,;:!?'` and an unbalanced `)`/`]`). At most `max` are returned.
std::vector<TextUrl> findUrls(std::string_view text, std::size_t max);

struct PresentedText {
  std::string text;
  std::size_t links = 0;      ///< URLs rewritten
  bool over_limit = false;    ///< more than max_links: the rest were left as they were
};

/// Rewrites the URLs of `text`: Inline leaves them; Footnotes replaces each (and its `<>`) by
/// `[n]` (one number per distinct URL) and lists them after `heading` at the end (a URL written
/// just before a `<URL>` is the text of a link that goes elsewhere and stays as written); Defanged
/// defangs each in place (and `www.` hosts). Bare `www.` hosts are only touched when defanged.
PresentedText presentLinks(std::string_view text, LinkStyle style, std::string_view heading,
                           std::size_t max_links);

}  // namespace mugai::text
