/**
 * @file field_code.h
 * @brief Word field codes: one tokenizer and one list of dangerous field instructions, shared by
 *        the .doc (sanitizer.ole2), .docx (sanitizer.ooxml) and .rtf (sanitizer.rtf) rebuilders.
 *
 * Trust: the instruction text is hostile (it comes out of the document as the caller read it:
 *        UTF-8 for OOXML, bytes for RTF and .doc; a lone 0xA0 byte is the Windows-1252 no-break
 *        space). Nothing here allocates more than the input's size.
 * Limits: linear in the input; callers cap what they collect per field.
 * Errors: none; an instruction that cannot be read is tokenised as far as it goes.
 *
 * Word's own rules (what the tokenizer follows): tokens are separated by space, TAB, CR, LF and
 * no-break space (U+00A0; also U+3000 ideographic space); "..." (and “...”) quote a token, in which
 * \\ is one backslash and \" one quote; a backslash outside quotes starts a switch (\d, \c, \*,
 * \@ ...) whose argument is the next token. The keyword is the first token, case-insensitive,
 * surrounding quotes ignored ("DDEAUTO" works like DDEAUTO).
 */
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::office {

struct FieldToken {
  std::string text;     ///< unquoted, escapes resolved
  bool quoted = false;  ///< came from "..."
  bool is_switch = false;  ///< \x (text is the switch letter(s), without the backslash)
};

struct FieldCode {
  std::string keyword;  ///< upper-case ASCII; "" when the instruction is empty
  std::vector<FieldToken> tokens;  ///< everything after the keyword
};

/// Splits a field instruction as Word does (see the file comment).
FieldCode tokenizeField(std::string_view instr);

/// A target outside the machine or reached over the network: UNC (\\host, //host, \\?\UNC),
/// URLs (http, https, ftp, file, and any scheme://), WebDAV (host@SSL\...).
bool remoteTarget(std::string_view target);

/// Why this field must not stay (fetches, links, runs or queries something outside the
/// document); nullopt when it may stay. The one list:
///   DDE, DDEAUTO          run a program / talk to another application, always
///   LINK                  an OLE link to another file, always
///   INCLUDETEXT, INCLUDE, INCLUDEPICTURE, IMPORT   load another file, always (local paths are
///                         other people's files on the recipient's machine; remote ones leak
///                         NTLM credentials or fetch content)
///   DATABASE              runs a query against a data source (\d file, \c connection string),
///                         always
///   HYPERLINK             only when its target is remote but not a web/mail address (UNC,
///                         file:, ftp:) or names a local program
std::optional<std::string> dangerousField(std::string_view instr);

}  // namespace mugai::office
