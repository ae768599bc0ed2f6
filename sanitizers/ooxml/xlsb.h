/**
 * @file xlsb.h
 * @brief .xlsb (BIFF12) binary parts: formulas that run or reach out taken out of the sheets.
 *
 * Trust: the records are hostile; record headers, sizes and cell layouts are bounds-checked, a
 *        part that does not parse fails the document closed.
 * What: BIFF12 records are (type varint, size varint, payload). In a worksheet, a formula cell
 *       (BrtFmlaString/Num/Bool/Error) whose formula calls a risky function becomes the value cell
 *       of its cached value (BrtCellSt/Real/Bool/Error): the formula goes, the value stays, as the
 *       .xlsx rebuild does. A risky shared or array formula (BrtShrFmla/BrtArrFmla) takes every
 *       cell that refers to a shared/array formula (PtgExp) of that sheet to its value, and the
 *       shared/array records go. In the workbook part a risky defined name (BrtName) cannot be
 *       cut out here: reported through `refused` (the caller fails closed).
 * Risky: PtgFunc/PtgFuncVar calling EXEC, CALL, REGISTER, REGISTER.ID, INITIATE, REQUEST, POKE,
 *        EXECUTE, EVALUATE, HYPERLINK, RTD; a macro command (fCeFunc); a call through a name
 *        (function 255: add-in and newer functions such as WEBSERVICE, FILTERXML, IMAGE). Tokens
 *        are matched by their bytes in the record, so a constant that happens to look like one
 *        also takes its cell to its value (the safe direction).
 */
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mugai::sanitizers::ooxml {

struct XlsbEdit {
  std::optional<std::string> data;          ///< the part rewritten; nullopt when nothing changed
  std::map<std::string, std::size_t> cells;  ///< removed cell formulas per "what"
  std::string refused;                      ///< non-empty: a risky formula we cannot take out
  bool malformed = false;
};

enum class XlsbPart { Worksheet, Workbook };

XlsbEdit removeRiskyXlsbFormulas(std::string_view data, XlsbPart kind);

}  // namespace mugai::sanitizers::ooxml
