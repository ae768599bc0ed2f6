#include <catch2/catch.hpp>

#include "sanitizers/filename_sanitize/filename_sanitize.h"

using namespace mugai;

TEST_CASE("filename_sanitize config: valid, unknown, out of range", "[unit]") {
  auto f = sanitizers::filename_sanitize::makeFactory();
  REQUIRE(f->name() == "sanitizer.filename_sanitize");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"max_bytes", "100"}, {"fallback", "file"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"max_bytes", "1000"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"maxbytes", "100"}}), &err));
  REQUIRE(err.find("unknown parameter") != std::string::npos);
}
