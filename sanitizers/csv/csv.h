// sanitizer.csv: comma/tab separated text with every cell that a spreadsheet would read as a
// formula made inert (OWASP "CSV Injection"), bytes and charset otherwise kept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::csv {

struct Options {
  bool keep_numbers = true;  ///< "-5", "+3.25", "-1,000" stay as they are (not formulas)
};

struct Result {
  std::string data;            ///< the input with a "'" before each formula start
  std::size_t neutralised = 0;  ///< cells changed
};

/// Puts a single quote before the first character of every cell that starts a formula in Excel
/// or LibreOffice: '=', '+', '-', '@', TAB or CR (OWASP), also their full-width forms
/// (＝＋－＠ in UTF-8, CP932 or UTF-16), also after leading spaces and an opening double
/// quote. Cells are split on ',', ';' and TAB outside double quotes and on line ends (every
/// separator a spreadsheet may choose). Works on bytes: ASCII-compatible charsets (UTF-8,
/// CP932, EUC-JP) and UTF-16 with a BOM keep their encoding. Linear, never throws.
Result neutraliseFormulas(std::string_view data, const Options& options);

class CsvSanitizer : public Sanitizer {
 public:
  explicit CsvSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.csv"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::csv
