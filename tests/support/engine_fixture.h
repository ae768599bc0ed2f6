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

}  // namespace mugai::test
