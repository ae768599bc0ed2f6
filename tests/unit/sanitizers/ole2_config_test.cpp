#include <catch2/catch.hpp>

#include "sanitizers/ole2/ole2.h"

using namespace mugai;

TEST_CASE("ole2 config: valid, unknown, out of range", "[ole2]") {
  auto f = sanitizers::ole2::makeFactory();
  REQUIRE(f->name() == "sanitizer.ole2");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"macros", "remove"}, {"max_storage_depth", "8"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"macros", "keep"}}), &err));
  REQUIRE(err.find("macros") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"max_storage_depth", "1"}}), &err));
  REQUIRE(err.find("max_storage_depth") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"macro", "strip"}}), &err));
  REQUIRE(err.find("unknown parameter 'macro'") != std::string::npos);
}
