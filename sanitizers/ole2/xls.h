/**
 * @file xls.h
 * @brief Excel BIFF8 Workbook stream: rewritten without its Excel 4.0 (XLM) macro sheets.
 *
 * Trust: the stream is hostile; every record is bounds-checked, nothing is trusted that a reader
 *        would not also check, and anything we cannot follow fails closed (the caller refuses
 *        the file as before).
 * What: a sheet is a macro sheet when its BOUNDSHEET says so (dt 1, or 6 = VBA module) or its
 *       own substream's BOF does (dt 0x0040), whatever its name or visibility. Such a sheet's
 *       BOUNDSHEET and substream go; every sheet index that pointed past it is renumbered
 *       (EXTERNSHEET, the workbook's own SUPBOOK, NAME scopes, WINDOW1, TABID); stream offsets
 *       are recomputed (BOUNDSHEET lbPlyPos, INDEX, EXTSST). Defined names that run macros
 *       (Auto_Open/Close/Activate/Deactivate, built-in or by name prefix, macro function or
 *       command names, names local to a removed sheet) keep their slot, because formulas refer
 *       to names by number, but become inert: renamed, formula #REF!, no macro flags.
 */
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai::sanitizers::ole2 {

struct XlsMacroEdit {
  /// Nothing to do: no macro sheet (the stream is copied as it is).
  bool unchanged = true;
  /// The rewritten stream (when !unchanged and no failure).
  std::string stream;
  std::vector<Finding> findings;
  /// Set when a macro sheet is there but the stream cannot be rewritten safely.
  std::optional<Reason> failure;
  std::string detail;
};

/// Rewrites a BIFF8 Workbook stream without its macro sheets (see the file comment).
XlsMacroEdit removeXlsMacroSheets(std::string_view stream);

}  // namespace mugai::sanitizers::ole2
