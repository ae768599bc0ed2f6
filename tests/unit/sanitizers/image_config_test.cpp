#include <catch2/catch.hpp>

#include "mugai/sanitizer/registry.h"
#include "sanitizers/image/image.h"

using namespace mugai;

TEST_CASE("image config: defaults, valid, unknown key, out of range", "[image]") {
  auto f = sanitizers::image::makeFactory();
  REQUIRE(f->name() == "sanitizer.image");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"jpeg_quality", "75"}, {"keep_icc", "true"}}), &err));
  REQUIRE(f->create(SanitizerParams({{"jpeg_quality", "50"}}), &err));
  REQUIRE(f->create(SanitizerParams({{"jpeg_quality", "100"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"jpeg_quality", "49"}}), &err));
  REQUIRE(err.find("jpeg_quality") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"jpeg_quality", "101"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_icc", "maybe"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"quality", "90"}}), &err));
  REQUIRE(err.find("unknown parameter 'quality'") != std::string::npos);
  auto specs = f->describe();
  REQUIRE(specs.size() == 2);
  for (const auto& s : specs) REQUIRE_FALSE(s.doc.empty());
}

TEST_CASE("image config: registered under its name", "[image]") {
  Registry r;
  registerBuiltinSanitizers(r);
  REQUIRE(r.find("sanitizer.image") != nullptr);
}
