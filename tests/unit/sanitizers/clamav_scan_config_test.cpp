// sanitizer.clamav_scan factory: parameters, defaults and rejections.
#include <map>
#include <string>

#include "sanitizers/clamav_scan/factory.h"
#include "support/test_support.h"

namespace {

mugai::SanitizerConstSharedPtr create(std::map<std::string, std::string> p, std::string* error) {
  return mugai::sanitizers::clamav_scan::makeFactory()->create(mugai::SanitizerParams(std::move(p)),
                                                               error);
}

}  // namespace

TEST_CASE("clamav_scan config: name and description", "[unit][sanitizers][clamav_scan]") {
  auto f = mugai::sanitizers::clamav_scan::makeFactory();
  CHECK(f->name() == "sanitizer.clamav_scan");
  CHECK_FALSE(f->summary().empty());
  auto specs = f->describe();
  REQUIRE(specs.size() == 1);
  CHECK(specs[0].name == "stage");
  CHECK(specs[0].default_value == "original");
  CHECK_FALSE(specs[0].doc.empty());
}

TEST_CASE("clamav_scan config: valid parameters", "[unit][sanitizers][clamav_scan]") {
  std::string error;
  auto s = create({}, &error);
  REQUIRE(s);
  CHECK(s->name() == "sanitizer.clamav_scan");
  CHECK(create({{"stage", "original"}}, &error));
  CHECK(create({{"stage", "output"}}, &error));
}

TEST_CASE("clamav_scan config: bad parameters are rejected", "[unit][sanitizers][clamav_scan]") {
  std::string error;
  SECTION("unknown key") {
    CHECK_FALSE(create({{"stages", "output"}}, &error));
    CHECK(error.find("stages") != std::string::npos);
  }
  SECTION("unknown stage") {
    CHECK_FALSE(create({{"stage", "both"}}, &error));
    CHECK(error.find("stage") != std::string::npos);
  }
  SECTION("empty stage") { CHECK_FALSE(create({{"stage", ""}}, &error)); }
}
