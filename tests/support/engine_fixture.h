// One engine per test executable, built from the shipped rules (real libmagic and libclamav).
#pragma once

#include <memory>

#include "mugai/pipeline/pipeline.h"
#include "support/test_support.h"

namespace mugai::test {

inline const Engine& shippedEngine() {
  static std::unique_ptr<Engine> e = [] {
    std::vector<std::string> errors;
    auto made = makeEngine((sourceDir() / "rules" / "default.yaml").string(), errors);
    if (!made) FAIL("engine: " << (errors.empty() ? "?" : errors.front()));
    return made;
  }();
  return *e;
}

/// An engine from the shipped rules (signatures from rules/signatures) with `limits_yaml` lines
/// added under `limits:`; the rules file is written into `dir`.
inline std::unique_ptr<Engine> engineWithLimits(const std::string& limits_yaml, TempDir& dir) {
  std::string rules = readFile(sourceDir() / "rules" / "default.yaml");
  auto at = rules.find("signatures: [signatures]");
  REQUIRE(at != std::string::npos);
  rules.replace(at, std::string("signatures: [signatures]").size(),
                "signatures: [" + (sourceDir() / "rules" / "signatures").string() + "]");
  at = rules.find("limits:\n");
  REQUIRE(at != std::string::npos);
  rules.insert(at + 8, limits_yaml);
  writeFile(dir.path() / "rules.yaml", rules);
  std::vector<std::string> errors;
  auto e = makeEngine((dir.path() / "rules.yaml").string(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(e);
  return e;
}

}  // namespace mugai::test
