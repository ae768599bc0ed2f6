// sanitizer.text_normalize: any text body to clean UTF-8 text/plain.
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::text_normalize {

struct Options {
  std::size_t line_limit = 100000;  ///< longer lines are folded (the writer keeps long lines whole)
  bool keep_tabs = true;
};

/// UTF-8 text -> normalized text: LF line ends, no control characters other than TAB and LF,
/// no bidi override controls, lines folded at `line_limit` bytes (on a character boundary),
/// trailing blank lines collapsed. Pure, linear, never throws.
std::string normalizeText(std::string_view utf8, const Options& options);

class TextNormalizeSanitizer : public Sanitizer {
 public:
  explicit TextNormalizeSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.text_normalize"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::text_normalize
