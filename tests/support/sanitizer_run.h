// Running one sanitizer in a test, as the engine would hand it a part, and reading its findings.
#pragma once

#include <openssl/evp.h>

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

/// SHA-256 (hex) straight from OpenSSL, not through mugai's own helper: what a removed object's
/// Finding::sha256 must equal.
inline std::string opensslSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) return "openssl failed";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += "0123456789abcdef"[md[i] >> 4];
    hex += "0123456789abcdef"[md[i] & 15];
  }
  return hex;
}

/// The SHA-256 a finding `key` whose value starts with `value` carries; "none" when there is none.
inline std::string findingSha256(const Outcome& o, std::string_view key, std::string_view value) {
  for (const auto& f : o.findings)
    if (f.key == key && std::string_view(f.value).starts_with(value)) return f.sha256;
  return "none";
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
