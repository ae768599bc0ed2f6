#include <catch2/catch.hpp>

#include "sanitizers/calendar/calendar.h"

using namespace mugai;

TEST_CASE("calendar config: valid, unknown key, out of range", "[unit]") {
  auto f = sanitizers::calendar::makeFactory();
  REQUIRE(f->name() == "sanitizer.calendar");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"line_limit", "4096"}, {"keep_web_links", "false"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_links", "false"}}), &err));
  REQUIRE(err.find("unknown parameter 'keep_links'") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"depth_limit", "1"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"property_limit", "99999999"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_web_links", "perhaps"}}), &err));
}
