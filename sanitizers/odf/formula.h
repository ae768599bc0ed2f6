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

/// Empty when the formula (an attribute the caller knows holds one: table:formula,
/// table:expression, conditions; entities decoded) is harmless, whatever namespace prefix it has
/// or lacks (`of:=`, `x:=`, `=`); otherwise what makes it risky: a function ("WEBSERVICE",
/// "HYPERLINK", "DDE", ...; case-insensitive, namespace prefixes such as `COM.MICROSOFT.` and
/// `_xlfn.` ignored), "external reference" (`['file:///x.ods'#$S.A1]`, a path or a UNC name),
/// "DDE" (`|`, Excel syntax) or "unreadable" (an unterminated string or quoted name).
std::string formulaRisk(std::string_view value);

}  // namespace mugai::sanitizers::odf
