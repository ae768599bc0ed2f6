#include <catch2/catch.hpp>

#include "sanitizers/rtf/rtf.h"

using namespace mugai;

TEST_CASE("rtf config: valid, unknown, out of range", "[rtf]") {
  auto f = sanitizers::rtf::makeFactory();
  REQUIRE(f->name() == "sanitizer.rtf");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"max_depth", "64"}, {"max_unclosed", "0"}, {"max_input_bytes", "2048"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"max_depth", "100001"}}), &err));
  REQUIRE(err.find("max_depth") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"max_input_bytes", "10"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"depth", "64"}}), &err));
  REQUIRE(err.find("unknown parameter 'depth'") != std::string::npos);
}
