/**
 * @file formulas.h
 * @brief SpreadsheetML formulas that run or reach out: found in cells, shared/array formulas,
 *        defined names and table formulas, and taken out of the XML (cached values stay).
 *
 * Trust: the formula text is hostile (entities, CDATA, odd case, `_xlfn.` prefixes, calls hidden
 *        behind string literals are all the sender's choice). Text inside string literals is data,
 *        never a call; anything that is not plainly harmless counts as risky.
 * Limits: linear in the part (each formula character is looked at a bounded number of times; two
 *         tag scans per worksheet, the second only when shared formulas lost their master); the
 *         deadline is checked every few thousand tags.
 * Errors: malformed XML sets *malformed; a risky formula where it cannot be removed without
 *         breaking the part (conditional formats, data validations) is reported through
 *         *refused and the caller fails closed.
 */
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "mugai/core/budget.h"

namespace mugai::sanitizers::ooxml {

/// What makes one formula risky.
struct FormulaRisk {
  enum class Kind { None, Function, Dde, ExternalPath, ExternalIndex, Malformed };
  Kind kind = Kind::None;
  std::string what;  ///< "WEBSERVICE", "DDE", "external reference", "unreadable"
  explicit operator bool() const { return kind != Kind::None; }
};

/// Classifies a formula (entities already decoded). Functions that fetch, link or run
/// (WEBSERVICE, FILTERXML, HYPERLINK, IMAGE, RTD, CALL, REGISTER, REGISTER.ID, EXEC, ...; case-
/// insensitive, `_xlfn.`/`_xlws.`/`_xludf.` prefixes ignored), `|` (DDE: `cmd|'/c calc'!A0`), `\`
/// (UNC or local paths), quoted names holding a path or a workbook (`'file:///x/[b.xlsx]S'!A1`) and
/// workbook indexes (`[1]Sheet1!A1`, ExternalIndex). Text between double quotes is skipped; an
/// unterminated string, quoted name or bracket is Malformed ("unreadable").
FormulaRisk formulaRisk(std::string_view formula);

/// Counts per "<what>" of removed formulas, for findings ("formula WEBSERVICE x2").
using FormulaCounts = std::map<std::string, std::size_t>;

struct FormulaEdit {
  std::optional<std::string> xml;  ///< the part rewritten; nullopt when nothing changed
  FormulaCounts cells;             ///< cell formulas (`<c><f>`), shared followers included
  FormulaCounts names;             ///< `<definedName>` elements (workbook)
  FormulaCounts tables;            ///< calculatedColumnFormula / totalsRowFormula (tables)
  std::string refused;             ///< non-empty: a risky formula we cannot take out (fail closed)
  bool malformed = false;
  std::optional<Reason> limit;  ///< the deadline passed
};

enum class SheetPart { Worksheet, Workbook, Table };

/// Removes risky formulas from one SpreadsheetML part.
/// - Worksheet: the `<f>` of a cell goes and its `<v>` stays; when a shared-formula master goes,
///   every `<f t="shared" si="N"/>` of the same si goes too. A risky `formula`/`formula1`/
///   `formula2`/`xm:f` outside cells (conditional formats, data validations) is refused.
/// - Workbook: risky `<definedName>` elements go (an empty `<definedNames>` with them).
/// - Table: risky `calculatedColumnFormula`/`totalsRowFormula` elements go.
FormulaEdit removeRiskyFormulas(std::string_view xml, SheetPart kind, const Budget& budget);

}  // namespace mugai::sanitizers::ooxml
