// sanitizer.clamav_scan: runs the shared antivirus Scanner over one part.
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"
#include "mugai/scan/scanner.h"

namespace mugai::sanitizers::clamav_scan {

struct Options {
  /// Which bytes this step sees, for the report: "original" (before any sanitizer) or "output"
  /// (after conversion, as delivered).
  std::string stage = "original";
};

/// Maps one scan result to the part's outcome:
///   Clean       keep (finding av=clean)
///   Infected    av.infected with a Detection{signature, stage}
///   Incomplete  content.encrypted for Heuristics.Encrypted.*, av.incomplete otherwise
///   Error       av.error
Outcome outcomeFor(const ScanResult& result, std::string_view stage);

class ClamavScanSanitizer : public Sanitizer {
 public:
  explicit ClamavScanSanitizer(Options options) : options_(std::move(options)) {}
  std::string_view name() const override { return "sanitizer.clamav_scan"; }
  /// Thread-safe: the scanner is shared and const. A null ctx.scanner is av.error (fail closed).
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

}  // namespace mugai::sanitizers::clamav_scan
