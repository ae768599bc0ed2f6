#include <catch2/catch.hpp>

#include "mugai/sanitizer/registry.h"
#include "sanitizers/ooxml/ooxml.h"

using namespace mugai;

TEST_CASE("ooxml config: valid, unknown, bad value", "[unit][ooxml]") {
  auto f = sanitizers::ooxml::makeFactory();
  REQUIRE(f->name() == "sanitizer.ooxml");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"hyperlinks", "remove"}}), &err));
  REQUIRE(f->create(SanitizerParams({{"hyperlinks", "keep"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"hyperlinks", "maybe"}}), &err));
  REQUIRE(err.find("hyperlinks") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"hyperlink", "keep"}}), &err));
  REQUIRE(err.find("unknown parameter 'hyperlink'") != std::string::npos);
  Registry r;
  registerBuiltinSanitizers(r);
  REQUIRE(r.find("sanitizer.ooxml"));
}
