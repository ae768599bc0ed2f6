#include <catch2/catch.hpp>

#include "sanitizers/pdf/pdf.h"

using namespace mugai;

TEST_CASE("pdf config: valid, unknown, out of range", "[pdf]") {
  auto f = sanitizers::pdf::makeFactory();
  REQUIRE(f->name() == "sanitizer.pdf");
  std::string err;
  REQUIRE(f->create(SanitizerParams(), &err));
  REQUIRE(f->create(SanitizerParams({{"mode", "flatten"},
                                     {"links", "remove"},
                                     {"flatten_dpi", "300"},
                                     {"flatten_max_pages", "10"}}),
                    &err));
  REQUIRE(f->create(
      SanitizerParams({{"mode", "rebuild"}, {"links", "keep"}, {"flatten_dpi", "36"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"mode", "render"}}), &err));
  REQUIRE(err.find("mode") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"links", "strip"}}), &err));
  REQUIRE(err.find("links") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"flatten_dpi", "35"}}), &err));
  REQUIRE(err.find("flatten_dpi") != std::string::npos);
  REQUIRE_FALSE(f->create(SanitizerParams({{"flatten_dpi", "301"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"flatten_max_pages", "0"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"flatten_dpi", "high"}}), &err));
  REQUIRE_FALSE(f->create(SanitizerParams({{"javascript", "keep"}}), &err));
  REQUIRE(err.find("unknown parameter 'javascript'") != std::string::npos);
  // Every parameter is documented with its default.
  for (const auto& spec : f->describe()) {
    CHECK_FALSE(spec.doc.empty());
    CHECK_FALSE(spec.default_value.empty());
  }
}
