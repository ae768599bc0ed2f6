// Helpers shared by the src/mime translation units. Not part of the public API.
#pragma once

#include <map>
#include <string>
#include <vector>
#include <string_view>

namespace mugai::mime {
struct Entity;
}  // namespace mugai::mime

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
  /// Parameters given twice with different values ("boundary=a; boundary=b"): readers disagree
  /// on which one counts (we keep the first), so the parser treats them as ambiguous.
  std::vector<std::string> conflicting_params;
};

/// Parses `type/subtype; a=b; c*0*=...` (RFC 2045, 2183, 2231; RFC 2047 inside quoted name and
/// filename values).
ParsedHeader parseStructuredHeader(std::string_view raw);

/// Removes RFC 822 comments and surrounding white space from a simple value (e.g. the
/// Content-Transfer-Encoding token), lower case.
std::string simpleToken(std::string_view raw);

/// Why the content headers of `e` would be read differently by another reader (a content header
/// twice with different values, a parameter twice, a boundary with white space at an end); ""
/// when they are unambiguous (ambiguity.cpp).
std::string ambiguousHeaders(const Entity& e);

/// Several Content-Disposition headers that agree on the file name (Lotus Notes writes "inline"
/// and "attachment; filename=..."): the part becomes an attachment under that name (the reading
/// that meets the whole attachment policy) and kDefectRepairedAmbiguity is set. True if repaired.
bool repairDisposition(Entity& e);

/// True when a `Content-*:` or `MIME-Version:` field line follows in `rest` before the first
/// empty line: the header block went on for a reader that accepts the line we stopped at.
bool laterMimeHeader(std::string_view rest);

}  // namespace mugai::mime::internal
