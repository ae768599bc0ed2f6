/**
 * @file mime.h
 * @brief A tolerant, bounded RFC 5322 / MIME (RFC 2045-2049) parser and a 7-bit-clean writer.
 *
 * Trust: the raw message is hostile: any bytes, bare LF or CR, NULs, lying headers, missing or
 *        absurd boundaries, broken base64/quoted-printable, 8-bit header bytes.
 * Limits (mugai::Limits, each reported as its own Reason, never a truncation):
 *   header_size_limit (limit.header_size), header_count_limit (limit.header_count),
 *   mime_nesting_limit (limit.mime_depth), mime_part_count_limit (limit.parts),
 *   mime_boundary_length_limit (limit.boundary_length), decoded_bytes_limit (limit.decoded_bytes,
 *   charged to the Budget before decoding). The walk is iterative: no recursion on input depth.
 * Errors: parse() never throws. A limit stops the parse and sets ParseResult::failure. Recoverable
 *         damage is recorded as Defect bits on the entity where it was found; the pipeline decides.
 *
 * Anchor: Postfix src/global/mime_state.c (limits in the header, one error code per violation).
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mugai/core/budget.h"
#include "mugai/core/verdict.h"

namespace mugai::mime {

/// Recoverable damage, as bits. Ordered roughly from most to least serious.
enum Defect : std::uint32_t {
  kDefectNone = 0,
  kDefectBadBase64 = 1u << 0,           ///< invalid characters, bad padding or trailing garbage
  kDefectBadQuotedPrintable = 1u << 1,  ///< malformed =XX escapes (decoded leniently)
  kDefectUnknownEncoding = 1u << 2,     ///< Content-Transfer-Encoding not understood; body kept raw
  kDefectMissingFinalBoundary = 1u << 3,
  kDefectNoBoundaryParam = 1u << 4,     ///< multipart/* without a boundary: treated as a leaf
  kDefectStartBoundaryNotFound = 1u << 5,
  kDefectMissingHeaderBodySeparator = 1u << 6,
  kDefectFirstLineContinuation = 1u << 7,
  kDefectHeaderSyntax = 1u << 8,        ///< a header line without a colon (kept as body or dropped),
                                        ///< or an unusable Content-Type/-Disposition or parameter
  kDefectEightBitHeader = 1u << 9,      ///< raw 8-bit bytes in a header (decoded by detection)
  kDefectNulBytes = 1u << 10,
  kDefectBareNewline = 1u << 11,        ///< bare LF or bare CR line endings
  kDefectEncryptedOrSigned = 1u << 12,  ///< multipart/encrypted, application/pkcs7-mime, ...
                                        ///< also multipart/signed and */pkcs7-signature,
                                        ///< pgp-signature: check mimeType() to tell them apart
  kDefectRepairedAmbiguity = 1u << 13,  ///< several Content-Disposition headers that agree on the
                                        ///< file name: read as an attachment (src/mime/ambiguity.cpp)
};

struct HeaderField {
  std::string name;   ///< as written (case preserved)
  std::string value;  ///< unfolded raw value, leading space removed, no CRLF; may hold 8-bit bytes
};

struct Entity {
  std::vector<HeaderField> headers;
  std::string type = "text";       ///< lower case; RFC 2045 defaults (message/rfc822 in digests)
  std::string subtype = "plain";
  /// Content-Type parameters: lower-case keys; RFC 2231 continuations joined and decoded to UTF-8.
  std::map<std::string, std::string> params;
  std::string charset;             ///< lower-case charset parameter, "" when absent
  std::string transfer_encoding;   ///< lower case, "" when absent
  std::string disposition;         ///< lower case "inline" / "attachment" / "" when absent
  /// Decoded UTF-8 file name: disposition filename* / filename, then content-type name* / name;
  /// RFC 2231 and (non-standard but ubiquitous) RFC 2047 inside quotes both decoded.
  std::string filename;
  std::string body;  ///< leaves only: the content after Content-Transfer-Encoding decoding
  /// multipart/*: the parts. message/rfc822 (and message/global): exactly one child, the message.
  std::vector<Entity> children;
  std::string path;  ///< "" for the root, then "1", "1.2", ... (message/rfc822 child: "2.1")
  int depth = 0;
  std::uint32_t defects = kDefectNone;

  std::string mimeType() const { return type + "/" + subtype; }
  bool isMultipart() const { return type == "multipart"; }
  bool isMessage() const { return type == "message" && (subtype == "rfc822" || subtype == "global"); }
  /// First header with this name (case-insensitive), raw.
  const std::string* header(std::string_view name) const;
};

struct ParseResult {
  Entity root;
  std::optional<Reason> failure;  ///< a limit was reached: the message must not pass
  std::string detail;             ///< operator-facing detail for failure
};

/// Parses a whole message. Charges parts and decoded bytes to `budget`.
ParseResult parse(std::string_view raw, Budget& budget);

/// Decodes an unstructured header value to UTF-8: RFC 2047 encoded words (B and Q, split words,
/// mixed charsets, whitespace between adjacent words dropped), raw 8-bit text by detection.
std::string decodeHeaderText(std::string_view raw);

/// Decodes an address list header (From, To, Cc, Reply-To, Sender) for re-encoding: only display
/// names are decoded (and returned as quoted strings), so an encoded word can never add an
/// address; comments of bare addresses are dropped. The result is UTF-8 (stray 8-bit bytes in an
/// address become U+FFFD). Feed the result to encodeHeader().
std::string decodeAddressHeader(std::string_view raw);

/// Decodes transfer encodings. Each returns false when the input was damaged (result still filled
/// leniently). Base64 must consume exactly: bad characters, bad padding, trailing data -> false.
bool decodeBase64(std::string_view in, std::string& out);
bool decodeQuotedPrintable(std::string_view in, std::string& out);
std::string encodeBase64(std::string_view in, std::size_t line_length = 76);
std::string encodeQuotedPrintable(std::string_view in);

/// One output header, encoded: RFC 2047 (UTF-8, B or Q) where the value is not plain ASCII,
/// address-aware for From/To/Cc/Bcc/Reply-To/Sender (only display names are encoded), folded
/// at 78 columns, ending in CRLF. Control characters and CR/LF in the value are removed.
std::string encodeHeader(std::string_view name, std::string_view utf8_value);

/// A part of an output message.
struct BuildPart {
  std::string mime_type = "text/plain";  ///< "multipart/mixed" etc. for containers
  std::string filename;                  ///< UTF-8; written as RFC 2231 filename* + RFC 2047 name
  std::string disposition;               ///< "inline" / "attachment" / "" (none written)
  /// text/* leaves: the charset of `data`. Empty means UTF-8 text (written as quoted-printable);
  /// any other value means the bytes are kept as they are (written base64 with that charset).
  std::string charset;
  std::string data;  ///< text/*: text (see charset); message/rfc822: a serialized 7-bit message; else bytes
  std::vector<BuildPart> children;       ///< multipart only
  /// Further Content-Type parameters, e.g. {"method", "REQUEST"} for text/calendar. Written only
  /// when name and value are RFC 2045 tokens (anything else is left out).
  std::vector<std::pair<std::string, std::string>> params;
};

/// Writes a message: `headers` (UTF-8 values, encoded with encodeHeader) + MIME-Version +
/// Content-Type/Transfer-Encoding for `body`. Output is 7-bit, CRLF, lines <= 998 octets; text is
/// quoted-printable (or 7bit when plain ASCII with short lines), binary is base64. Boundaries are
/// random and checked not to occur in the content. MIME-Version and Content-Type/-Transfer-
/// Encoding/-Disposition in `headers` are skipped (the writer writes its own). Text line breaks
/// go out as CRLF (so "a\nb" comes back from parse() as "a\r\nb"). Returns "" only when memory
/// is exhausted.
std::string write(const std::vector<HeaderField>& headers, const BuildPart& body);

}  // namespace mugai::mime
