// Docs stay true: every reason and every parameter appears in the docs that describe them.
#include <catch2/catch.hpp>

#include "mugai/core/limits.h"
#include "mugai/core/verdict.h"
#include "support/test_support.h"

using namespace mugai;

TEST_CASE("docs/verdicts.md names every reason with its default", "[unit]") {
  std::string doc = test::readFile(test::sourceDir() / "docs" / "verdicts.md");
  std::size_t n = 0;
  const ReasonInfo* t = reasonTable(&n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string row = "| `" + std::string(t[i].name) + "` | " + std::string(verdictName(t[i].default_verdict));
    INFO(row);
    REQUIRE(doc.find(row) != std::string::npos);
  }
}

TEST_CASE("docs/parameters.md lists every parameter with its default", "[unit]") {
  std::string doc = test::readFile(test::sourceDir() / "docs" / "parameters.md");
  std::size_t n = 0;
  const ParamInfo* t = paramTable(&n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string row = "| `" + std::string(t[i].name) + "` | " + std::to_string(t[i].default_value) + " |";
    INFO(row);
    REQUIRE(doc.find(row) != std::string::npos);
  }
}
