/**
 * @file url.h
 * @brief URLs parsed and resolved as a browser does: the WHATWG URL Standard's basic URL parser.
 *
 * Trust: the input (an href, a base href, a URL found in text) is sender-controlled.
 * Limits: input longer than kUrlInputLimit bytes, or a result longer than kUrlOutputLimit, is a
 *         failure (never truncated); the parser is a single pass over the input.
 * Errors: never throws; a string that is not a URL (or not relative to the base) gives nullopt.
 *
 * Faithful to the standard's state machine where a link's target depends on it: leading and
 * trailing C0/space stripped, TAB/CR/LF removed anywhere, `\` as `/` for special schemes,
 * protocol-relative `//host`, `https:host` against a base of another scheme, dot segments (also
 * percent-encoded), percent-encode sets per component, IPv4 in decimal/hex/octal/short forms,
 * IPv6, and hosts through UTS #46 (ICU's uidna, the standard's "domain to ASCII" options).
 * Always UTF-8 for the query (a mail body's HTML is converted to UTF-8 before it is parsed).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::text {

inline constexpr std::size_t kUrlInputLimit = 16384;
inline constexpr std::size_t kUrlOutputLimit = 32768;

struct Url {
  std::string scheme;  ///< lower case, without ':'
  std::string username, password;
  std::optional<std::string> host;  ///< serialized: ASCII domain, dotted IPv4, [IPv6], opaque
  std::optional<std::uint16_t> port;  ///< absent when none or the scheme's default
  std::vector<std::string> path;      ///< segments (when !opaque_path)
  std::string opaque;                 ///< the path of "mailto:", "javascript:" ... URLs
  bool opaque_path = false;
  std::optional<std::string> query, fragment;

  bool special() const;
  /// The serialization (the `href` a browser reports): ASCII only.
  std::string href() const;
};

/// Parses `input` against `base` (may be null) as the WHATWG basic URL parser does.
std::optional<Url> parseUrl(std::string_view input, const Url* base = nullptr);

/// The Unicode form of an ASCII host (UTS #46 ToUnicode; the input when it has no xn-- label).
std::string hostToUnicode(std::string_view ascii_host);

/// Whether a host's (Unicode) labels mix scripts the way homographs do: Latin with Cyrillic or
/// Greek, or any two scripts other than the Japanese/CJK set {Latin, Han, Hiragana, Katakana}.
bool hostMixesScripts(std::string_view unicode_host);

}  // namespace mugai::text
