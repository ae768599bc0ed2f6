/**
 * @file filename.h
 * @brief File names that are safe on the other side, and names as a person should see them.
 *
 * The core's own (the engine names attachments and .eml parts, the notice shows names, the file
 * drop names outbox files and notes); sanitizer.filename_sanitize applies the same function as a
 * chain step. Trust: every name given here is untrusted. Limits: max_bytes. Errors: none (never
 * an empty name).
 */
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mugai::text {

struct FilenameOptions {
  std::size_t max_bytes = 200;  ///< UTF-8 bytes, extension kept
  std::string fallback = "attachment";
};

/// Makes an untrusted UTF-8 file name safe for Windows/Samba and for people: removes control
/// characters and bidi controls (U+202E "gpj.exe" tricks), path separators and characters
/// Windows refuses (<>:"/\|?*), leading dots and trailing dots/spaces; renames reserved device
/// names (CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM0-9, COM¹²³, LPT likewise, also written
/// "CON .txt"); shortens to max_bytes keeping the extension.
/// Invalid UTF-8 is repaired first. Never returns an empty name.
std::string sanitizeFilename(std::string_view untrusted_name, const FilenameOptions& options = {});

/// The name as a person should see it in a note or a log line: nothing removed, but the
/// characters sanitizeFilename removes (text::isInvisible: controls, bidi controls, zero-width and
/// format characters, separators, tag characters) are written as visible "<U+202E>", so
/// "invoice<U+202E>txt.exe" cannot display as "invoiceexe.txt". Invalid UTF-8 becomes U+FFFD.
/// Not a file name: use sanitizeFilename for that.
std::string visibleName(std::string_view untrusted_name);

/// The last extension, lower case, without the dot ("" when none): "a.PDF.exe" -> "exe".
std::string lastExtension(std::string_view name);

}  // namespace mugai::text
