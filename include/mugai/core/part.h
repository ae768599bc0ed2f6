/**
 * @file part.h
 * @brief Part: one leaf of a message (or one dropped file) as the sanitizers see it.
 *
 * Trust: `data` and every `declared_*` field come from the sender. `detected` comes from libmagic
 *        run on `data` and is the only type information routing may use.
 * Limits: a Part is built only after the MIME walker charged its size to the message budget.
 * Errors: none; a Part is a value.
 */
#pragma once

#include <string>
#include <utility>

#include "mugai/core/untrusted.h"

namespace mugai {

/// What libmagic says the bytes are.
struct TypeInfo {
  std::string mime;         ///< e.g. "application/pdf"; "application/octet-stream" when unknown
  std::string description;  ///< libmagic's human description, may be empty
};

struct Part {
  std::string path;  ///< tree path, "1", "1.2", "2.1.3"; "" for the root or a dropped file
  int depth = 0;
  std::string data;  ///< decoded content bytes (after Content-Transfer-Encoding)
  Untrusted<std::string> declared_type;  ///< lower-case "type/subtype" as declared
  Untrusted<std::string> filename;       ///< decoded UTF-8 file name as declared ("" if none)
  Untrusted<std::string> charset;        ///< declared charset parameter ("" if none)
  TypeInfo detected;                     ///< true type, from the TypeDetector
  bool attachment = false;  ///< Content-Disposition: attachment, or a file name, or a dropped file
  /// Output type of this part once sanitized; sanitizers that convert set it (e.g. "text/plain").
  /// Empty means "the detected type".
  std::string output_type;
};

/// What a sanitizer returns as a replacement: every field of `original` but its bytes, which are
/// `data` (the input is not copied only to be overwritten: a 20 MB copy costs real time).
inline Part replacedPart(const Part& original, std::string data) {
  Part next;
  next.path = original.path;
  next.depth = original.depth;
  next.declared_type = original.declared_type;
  next.filename = original.filename;
  next.charset = original.charset;
  next.detected = original.detected;
  next.attachment = original.attachment;
  next.output_type = original.output_type;
  next.data = std::move(data);
  return next;
}

}  // namespace mugai
