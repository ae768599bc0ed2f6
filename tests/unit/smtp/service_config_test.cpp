// The `mugai serve` config file: keys, the file-drop pair, refusals with file:line.
#include "src/smtp/service_config.h"

#include <catch2/catch.hpp>

#include "support/test_support.h"

using mugai::smtp::ServiceConfig;

namespace {

bool load(const std::string& text, ServiceConfig& c, std::vector<std::string>& errors) {
  mugai::test::TempDir t;
  auto p = t.path() / "mugai.cf";
  mugai::test::writeFile(p, text);
  return mugai::smtp::loadServiceConfig(p.string(), c, errors);
}

}  // namespace

TEST_CASE("service config: the file drop is configured by filedrop_inbox and filedrop_outbox") {
  ServiceConfig c;
  std::vector<std::string> errors;
  REQUIRE(load("# file drop alone\nsmtp = no\nfiledrop_inbox = /srv/in\nfiledrop_outbox = /srv/out\n"
               "quarantine_dir = /srv/q\n",
               c, errors));
  CHECK(c.smtp == "no");
  CHECK(c.filedrop_inbox == "/srv/in");
  CHECK(c.filedrop_outbox == "/srv/out");
  CHECK(mugai::smtp::describeServiceConfig(c).find("filedrop_inbox = /srv/in") != std::string::npos);
}

TEST_CASE("service config: half a file drop, smtp = no alone and unknown keys are refused") {
  ServiceConfig c;
  std::vector<std::string> errors;
  CHECK_FALSE(load("filedrop_inbox = /srv/in\n", c, errors));
  REQUIRE_FALSE(errors.empty());
  CHECK(errors.back().find("go together") != std::string::npos);
  errors.clear();
  ServiceConfig d;
  CHECK_FALSE(load("smtp = no\n", d, errors));
  CHECK(errors.back().find("smtp = no needs the file drop") != std::string::npos);
  errors.clear();
  ServiceConfig e;
  CHECK_FALSE(load("smtp = maybe\nfiledrop_inbox = /a\nfiledrop_outbox = /b\n", e, errors));
  CHECK(errors.back().find("smtp: expected yes or no") != std::string::npos);
  errors.clear();
  ServiceConfig f;
  CHECK_FALSE(load("inbox = /srv/in\n", f, errors));
  CHECK(errors.front().find(":1: unknown key 'inbox'") != std::string::npos);
}
