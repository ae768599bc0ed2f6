#include <catch2/catch.hpp>

#include "sanitizers/html_to_text/factory.h"

using namespace mugai;

TEST_CASE("html_to_text config: valid, unknown key, bad value", "[unit]") {
  auto f = sanitizers::html_to_text::makeFactory();
  REQUIRE(f->name() == "sanitizer.html_to_text");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"show_links", "false"}, {"show_image_alt", "true"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"show_link", "false"}}), &err));
  REQUIRE(err.find("unknown parameter 'show_link'") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"show_links", "yes please"}}), &err));
}
