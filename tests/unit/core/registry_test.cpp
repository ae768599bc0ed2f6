#include <catch2/catch.hpp>

#include "mugai/sanitizer/registry.h"

using namespace mugai;

namespace {

class NullSanitizer : public Sanitizer {
 public:
  std::string_view name() const override { return "sanitizer.null"; }
  Outcome apply(const Part&, MessageContext&) const override { return Outcome::keep(); }
};

class NullFactory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.null"; }
  std::string_view summary() const override { return "does nothing"; }
  std::vector<ParamSpec> describe() const override {
    return {{"size", ParamSpec::Kind::Int, "10", 1, 100, "a size"},
            {"on", ParamSpec::Kind::Bool, "true", 0, 0, "a switch"},
            {"names", ParamSpec::Kind::List, "a,b", 0, 0, "a list"}};
  }
  SanitizerConstSharedPtr create(const SanitizerParams& p, std::string* error) const override {
    if (auto e = p.validate(describe())) {
      *error = *e;
      return nullptr;
    }
    return std::make_shared<NullSanitizer>();
  }
};

}  // namespace

TEST_CASE("registry: duplicates are fatal, disabled names are not found", "[unit]") {
  Registry r;
  r.add(std::make_unique<NullFactory>());
  REQUIRE(r.find("sanitizer.null") != nullptr);
  REQUIRE_THROWS_AS(r.add(std::make_unique<NullFactory>()), std::logic_error);
  r.disable("sanitizer.null");
  REQUIRE(r.find("sanitizer.null") == nullptr);
  REQUIRE(r.disabled("sanitizer.null"));
  REQUIRE(r.names() == std::vector<std::string>{"sanitizer.null"});
}

TEST_CASE("sanitizer parameters are validated against their specs", "[unit]") {
  NullFactory f;
  auto specs = f.describe();
  std::string err;
  REQUIRE(f.create(SanitizerParams({{"size", "50"}}), &err) != nullptr);
  REQUIRE(f.create(SanitizerParams({{"size", "500"}}), &err) == nullptr);
  REQUIRE(err.find("out of range") != std::string::npos);
  REQUIRE(f.create(SanitizerParams({{"size", "5x"}}), &err) == nullptr);
  REQUIRE(f.create(SanitizerParams({{"on", "maybe"}}), &err) == nullptr);
  REQUIRE(f.create(SanitizerParams({{"colour", "red"}}), &err) == nullptr);
  REQUIRE(err.find("unknown parameter 'colour'") != std::string::npos);
  SanitizerParams p({{"names", "x,,y"}});
  REQUIRE(p.getList(specs, "names") == std::vector<std::string>{"x", "y"});
  REQUIRE(p.getInt(specs, "size") == 10);
  REQUIRE(p.getBool(specs, "on"));
}
