#include <catch2/catch.hpp>

#include "mugai/sanitizer/registry.h"
#include "sanitizers/odf/odf.h"

using namespace mugai;

TEST_CASE("odf config: valid, unknown, bad value", "[unit][odf]") {
  auto f = sanitizers::odf::makeFactory();
  REQUIRE(f->name() == "sanitizer.odf");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"keep_odf_objects", "false"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_odf_objects", "1"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_objects", "true"}}), &err));
  REQUIRE(err.find("unknown parameter 'keep_objects'") != std::string::npos);
  Registry r;
  registerBuiltinSanitizers(r);
  REQUIRE(r.find("sanitizer.odf"));
}
