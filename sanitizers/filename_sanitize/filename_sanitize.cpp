#include "sanitizers/filename_sanitize/filename_sanitize.h"

namespace mugai::sanitizers::filename_sanitize {

Outcome FilenameSanitizer::apply(const Part& part, MessageContext&) const {
  const std::string& raw = part.filename.unverifiedValue();
  if (raw.empty()) return Outcome::keep();
  std::string safe = sanitizeFilename(raw, options_);
  if (safe == raw) return Outcome::keep();
  Part next = part;
  next.filename = Untrusted<std::string>(safe);
  Outcome o = Outcome::replace(std::move(next), Reason::FilenameChanged);
  o.findings.push_back({"filename_safe", safe});
  return o;
}

}  // namespace mugai::sanitizers::filename_sanitize
