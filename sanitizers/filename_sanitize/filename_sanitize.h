// sanitizer.filename_sanitize: file names that are safe on the other side.
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"
#include "mugai/text/filename.h"

namespace mugai::sanitizers::filename_sanitize {

/// The functions are the core's (include/mugai/text/filename.h); this sanitizer applies them as
/// a chain step.
using Options = text::FilenameOptions;
using text::lastExtension;
using text::sanitizeFilename;
using text::visibleName;

class FilenameSanitizer : public Sanitizer {
 public:
  explicit FilenameSanitizer(Options options) : options_(std::move(options)) {}
  std::string_view name() const override { return "sanitizer.filename_sanitize"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::filename_sanitize
