// Running one sanitizer in a test, as the engine would hand it a part, and reading its findings.
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai::test {

/// A part as the engine passes it on: decoded bytes, the true type and the (untrusted) name.
inline Part partOf(std::string data, std::string detected_mime = "", std::string filename = "") {
  Part p;
  p.data = std::move(data);
  p.detected.mime = std::move(detected_mime);
  if (!filename.empty()) {
    p.filename = Untrusted<std::string>(std::move(filename));
    p.attachment = true;
  }
  return p;
}

/// One sanitizer applied to one part, with a fresh message budget from `limits`.
inline Outcome applyOnce(const Sanitizer& s, Part p, const Limits& limits = {}) {
  Budget budget(limits);
  MessageContext ctx{limits, budget, nullptr, nullptr};
  return s.apply(p, ctx);
}

/// The outcome has a finding `key` whose value is `value` (or, with `prefix`, starts with it).
inline bool hasFinding(const Outcome& o, std::string_view key, std::string_view value,
                       bool prefix = false) {
  for (const auto& f : o.findings) {
    if (f.key != key) continue;
    if (prefix ? std::string_view(f.value).starts_with(value) : f.value == value) return true;
  }
  return false;
}

/// Every finding as `key=value` lines, for INFO() when a check fails.
inline std::string findingsText(const Outcome& o) {
  std::string s;
  for (const auto& f : o.findings) s += f.key + "=" + f.value + "\n";
  return s;
}

}  // namespace mugai::test
