#include <catch2/catch.hpp>

#include "sanitizers/text_normalize/text_normalize.h"

using namespace mugai;

TEST_CASE("text_normalize config: valid, unknown, out of range", "[unit]") {
  auto f = sanitizers::text_normalize::makeFactory();
  REQUIRE(f->name() == "sanitizer.text_normalize");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"line_limit", "200"}, {"keep_tabs", "false"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"line_limit", "10"}}), &err));
  REQUIRE(err.find("line_limit") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_tab", "true"}}), &err));
  REQUIRE(err.find("unknown parameter 'keep_tab'") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_tabs", "1"}}), &err));
}
