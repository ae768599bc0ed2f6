#include <catch2/catch.hpp>

#include "sanitizers/csv/csv.h"

using namespace mugai;

TEST_CASE("csv config: valid, unknown, wrong type", "[unit]") {
  auto f = sanitizers::csv::makeFactory();
  REQUIRE(f->name() == "sanitizer.csv");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"keep_numbers", "false"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_number", "true"}}), &err));
  REQUIRE(err.find("unknown parameter 'keep_number'") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"keep_numbers", "1"}}), &err));
}
