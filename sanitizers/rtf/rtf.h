/**
 * @file rtf.h
 * @brief sanitizer.rtf: rebuilds RTF without embedded objects, external/DDE fields, data stores,
 *        attached templates and raw binary payloads; text, formatting, tables and pictures stay.
 *
 * Trust: the bytes are hostile. Our own bounded tokenizer (no library), one pass, explicit group
 *        stack (no recursion), every kept token copied verbatim from the input.
 * Limits: input size (max_input_bytes), group depth (max_depth), control word length (32 letters,
 *         10 digits, as the RTF 1.9.1 spec), unclosed groups at the end (max_unclosed), control
 *         bytes in text (binary garbage), \bin lengths against what is left, the message budget
 *         and deadline.
 * Errors: never throws out of apply(); not RTF -> parse.malformed; over a limit, unbalanced or
 *         garbage -> cdr.failed.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::rtf {

struct Options {
  std::uint64_t max_input_bytes = 64ull << 20;
  int max_depth = 256;
  int max_unclosed = 4;  ///< groups left open at the end that are closed for the writer
};

struct RebuildResult {
  bool ok = false;
  Reason reason = Reason::CdrFailed;  ///< when !ok
  std::string detail;                 ///< when !ok
  std::string rtf;                    ///< when ok
  std::vector<Finding> findings;      ///< what was removed
};

/// The whole rebuild: used by apply(), the tests and the bench. `budget` (optional) is only
/// asked about the deadline; apply() charges the bytes.
RebuildResult rebuildRtf(std::string_view in, const Options& options, const Budget* budget = nullptr);

class RtfSanitizer : public Sanitizer {
 public:
  explicit RtfSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.rtf"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::rtf
