/**
 * @file formula.h
 * @brief OpenDocument spreadsheet formulas (OpenFormula, `of:=...`; also `oooc:` and Excel-syntax
 *        `msoxl:`) that fetch, link or talk to other programs.
 *
 * Trust: the formula text is hostile (already entity-decoded by the caller). Text inside string
 *        literals is data, never a call; what cannot be read plainly counts as risky.
 * Limits: linear: each character is looked at a bounded number of times.
 * Errors: none; an unterminated string, quoted name or reference is reported as "unreadable".
 */
#pragma once

#include <string>
#include <string_view>

namespace mugai::sanitizers::odf {

/// Empty when the attribute value is not a formula or a harmless one; otherwise what makes it
/// risky: a function ("WEBSERVICE", "HYPERLINK", "DDE", ...; case-insensitive, namespace prefixes
/// such as `COM.MICROSOFT.` and `_xlfn.` ignored), "external reference" (`['file:///x.ods'#$S.A1]`,
/// a path or a UNC name), "DDE" (`|`, Excel syntax) or "unreadable".
std::string formulaRisk(std::string_view value);

}  // namespace mugai::sanitizers::odf
