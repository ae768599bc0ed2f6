// Helpers shared by the src/mime translation units. Not part of the public API.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace mugai::mime::internal {

inline bool isWsp(char c) { return c == ' ' || c == '\t'; }
inline bool isLinearSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string toLower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
bool hasEightBit(std::string_view s);

/// Value of one hex digit, or -1.
int hexValue(char c);

/// A parsed structured MIME header (Content-Type or Content-Disposition).
struct ParsedHeader {
  std::string value;  ///< "type/subtype" or the disposition type, lower case, comments removed
  /// Lower-case parameter names, RFC 2231 continuations joined, values decoded to UTF-8 (except
  /// `boundary`, which is kept byte for byte).
  std::map<std::string, std::string> params;
  bool syntax_error = false;
  bool eight_bit = false;
};

/// Parses `type/subtype; a=b; c*0*=...` (RFC 2045, 2183, 2231; RFC 2047 inside quoted name and
/// filename values).
ParsedHeader parseStructuredHeader(std::string_view raw);

/// Removes RFC 822 comments and surrounding white space from a simple value (e.g. the
/// Content-Transfer-Encoding token), lower case.
std::string simpleToken(std::string_view raw);

}  // namespace mugai::mime::internal
