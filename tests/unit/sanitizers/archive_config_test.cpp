#include <catch2/catch.hpp>

#include "sanitizers/archive/archive.h"

using namespace mugai;

TEST_CASE("archive config: valid, unknown key, out of range, unknown charset", "[archive]") {
  auto f = sanitizers::archive::makeFactory();
  REQUIRE(f->name() == "sanitizer.archive");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"name_charset", "shift_jis"}, {"compression_level", "0"}}), &err));
  REQUIRE(f->create(SanitizerParams({{"compression_level", "9"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"compression_level", "10"}}), &err));
  REQUIRE(err.find("compression_level") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"compression_level", "-1"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"charset", "CP932"}}), &err));
  REQUIRE(err.find("unknown parameter 'charset'") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"name_charset", "klingon-8"}}), &err));
  REQUIRE(err.find("name_charset") != std::string::npos);
}
