// The console's one HTML escape (docs/console.md, "What reaches the browser").
//
// Trust: every value from a vault record (addresses, subjects, file names, reasons, report text)
//        is sender-controlled. escapeHtml() is the only way such a value reaches a page: markup
//        characters become entities, invalid UTF-8 becomes U+FFFD, and characters that change how
//        text is shown (bidi controls such as U+202E, zero-width characters, C0/C1 controls)
//        become a visible "<U+202E>" marker instead of acting on the page.
#pragma once

#include <string>
#include <string_view>

namespace mugai::console {

/// `multiline`: keep line feeds (and tabs) as they are (a <pre> of header lines); otherwise they
/// are shown as markers too. Output is at most about 8 x `max_bytes` of input; longer input is cut
/// and ends in "…".
std::string escapeHtml(std::string_view s, bool multiline = false, std::size_t max_bytes = 4096);

/// The same escape for an attribute value or SVG text: the markers are plain text ("&lt;U+202E&gt;",
/// no <span>), line feeds are markers too.
std::string escapeAttr(std::string_view s, std::size_t max_bytes = 4096);

/// For an attribute or URL query value we build ourselves: percent-encodes everything but
/// [A-Za-z0-9-._~].
std::string urlEncode(std::string_view s);

}  // namespace mugai::console
