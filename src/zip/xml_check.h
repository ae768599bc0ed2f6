/**
 * @file xml_check.h
 * @brief A real XML parser's verdict on a package part the rebuilders copy as it is.
 *
 * Trust: the XML is hostile. expat parses it with no DTD processing: a DOCTYPE (internal subset,
 *        external DTD, billion laughs) is refused as soon as it is seen, parameter entities are
 *        never parsed, external entities are never loaded (no handler, no network, no files).
 * Limits: linear in the input (expat is not recursive); the caller has charged the bytes.
 * Errors: nothing throws; a part that is not well-formed XML 1.0 (or is in an encoding expat
 *         does not know) comes back with the parser's message and the caller fails closed.
 *
 * Why next to xml_lite: xml_lite only tokenises the parts the rebuilders edit and keeps every
 * other byte; this check is the second net for the parts they copy untouched (an Office or ODF
 * reader parses them with a full parser, so must we).
 */
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mugai::zip::xml {

/// nullopt when `xml` is a well-formed document without a DOCTYPE; otherwise why not
/// ("DOCTYPE", or expat's error and line), safe to show (no input bytes in it).
std::optional<std::string> checkWellFormed(std::string_view xml);

}  // namespace mugai::zip::xml
