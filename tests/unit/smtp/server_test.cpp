// The file-descriptor budget `mugai serve` checks at start (docs/deployment.md, section 4).
#include <Poco/Exception.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "src/smtp/server.h"

using mugai::smtp::descriptorBudget;
using mugai::smtp::ensureDescriptors;

TEST_CASE("descriptor budget: sessions, workers by nesting, queue and overhead", "[smtp]") {
  CHECK(descriptorBudget(100, 2, 17, 64) == 2 * 100 + 2 * (17 + 4) + 64 + 64);
  CHECK(descriptorBudget(1, 1, 1, 1) == 2 + 5 + 1 + 64);
  CHECK(descriptorBudget(1000, 4, 17, 64) > descriptorBudget(100, 4, 17, 64));
}

TEST_CASE("descriptor budget: a need within the current limit is accepted without change", "[smtp]") {
  rlimit before{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  std::string why;
  CHECK(ensureDescriptors(16, why));
  CHECK(why.empty());
  rlimit after{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_cur);
}

TEST_CASE("descriptor budget: a need above the hard limit is refused with the numbers", "[smtp]") {
  rlimit rl{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 30)) return;  // cannot exceed it
  std::string why;
  CHECK_FALSE(ensureDescriptors(static_cast<std::size_t>(rl.rlim_max) + 10, why));
  CHECK(why.find("RLIMIT_NOFILE") != std::string::npos);
  CHECK(why.find(std::to_string(rl.rlim_max + 10)) != std::string::npos);
}

namespace {
struct NullDeliverer : mugai::smtp::Deliverer {
  mugai::smtp::Reply deliver(mugai::smtp::Transaction&) override { return {}; }
};
}  // namespace

TEST_CASE("server: a port already in use is an error (no SO_REUSEPORT sharing)", "[smtp]") {
  NullDeliverer d;
  mugai::smtp::ServerOptions o;
  o.port = 0;
  o.settings = [] { return mugai::smtp::SessionSettings{}; };
  mugai::smtp::Server first(o, d);
  first.start();
  REQUIRE(first.port() != 0);
  o.port = first.port();
  mugai::smtp::Server second(o, d);
  CHECK_THROWS_AS(second.start(), Poco::Exception);
}
