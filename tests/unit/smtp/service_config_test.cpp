// The `mugai serve` config file: keys, the file-drop pair, refusals with file:line.
#include "src/smtp/service_config.h"

#include <catch2/catch.hpp>

#include <algorithm>

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
  CHECK(errors.back().find("smtp = no (--no-smtp) needs the file drop") != std::string::npos);
  errors.clear();
  ServiceConfig e;
  CHECK_FALSE(load("smtp = maybe\nfiledrop_inbox = /a\nfiledrop_outbox = /b\n", e, errors));
  CHECK(errors.back().find("smtp: expected yes or no") != std::string::npos);
  errors.clear();
  ServiceConfig f;
  CHECK_FALSE(load("inbox = /srv/in\n", f, errors));
  CHECK(errors.front().find(":1: unknown key 'inbox'") != std::string::npos);
}

TEST_CASE("service config: an unknown key names the closest known one") {
  ServiceConfig c;
  std::vector<std::string> errors;
  CHECK_FALSE(load("quarantine = /srv/q\nnexthop = 127.0.0.1:25\nfrobnicate = 1\n", c, errors));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].find(":1: unknown key 'quarantine': did you mean 'quarantine_dir'?") !=
        std::string::npos);
  CHECK(errors[1].find(":2: unknown key 'nexthop': did you mean 'next_hop'?") != std::string::npos);
  CHECK(errors[2].find(":3: unknown key 'frobnicate' (integer limits are set under 'limits:'") !=
        std::string::npos);
  CHECK(mugai::smtp::closestKey("myhostnme") == "myhostname");
  CHECK(mugai::smtp::closestKey("outbox") == "filedrop_outbox");
  CHECK(mugai::smtp::closestKey("smtp_connection_limit").empty());
}

TEST_CASE(
    "service config: listen and next_hop are parsed strictly, the message names key and value") {
  std::string host, why;
  std::uint16_t port = 0;
  CHECK(mugai::smtp::parseHostPort("127.0.0.1:10025", host, port, &why));
  CHECK((host == "127.0.0.1" && port == 10025));
  CHECK(mugai::smtp::parseHostPort("[::1]:25", host, port, &why));
  CHECK((host == "::1" && port == 25));
  CHECK(mugai::smtp::parseHostPort("mx.example.jp:65535", host, port, &why));
  for (const char* bad : {"127.0.0.1:abc", "127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1",
                          "127.0.0.1:", ":25", "::1:25", "[::1]", "[]:25", "127.0.0.1:+25",
                          "127.0.0.1:-1", "127.0.0.1:25 ", "a b:25", "127.0.0.1:0025x"}) {
    INFO(bad);
    CHECK_FALSE(mugai::smtp::parseHostPort(bad, host, port, &why));
    CHECK_FALSE(why.empty());
  }
  ServiceConfig c;
  std::vector<std::string> errors;
  CHECK_FALSE(load("listen = 127.0.0.1:abc\nnext_hop = 10.0.0.1\n", c, errors));
  REQUIRE(errors.size() == 2);
  CHECK(
      errors[0].find("listen = '127.0.0.1:abc': the port 'abc' is not a number from 1 to 65535") !=
      std::string::npos);
  CHECK(errors[1].find("next_hop = '10.0.0.1': no port") != std::string::npos);
}

TEST_CASE("service config: client_limit_exceptions defaults to the local front MTA and is a list") {
  ServiceConfig defaults;
  CHECK(defaults.client_limit_exceptions == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(mugai::smtp::describeServiceConfig(defaults).find(
            "\nclient_limit_exceptions = 127.0.0.1, ::1\n") != std::string::npos);
  ServiceConfig c;
  std::vector<std::string> errors;
  REQUIRE(load("client_limit_exceptions = 192.0.2.10, 192.0.2.11 2001:db8::25\n", c, errors));
  CHECK(c.client_limit_exceptions ==
        std::vector<std::string>{"192.0.2.10", "192.0.2.11", "2001:db8::25"});
  ServiceConfig none;
  REQUIRE(load("client_limit_exceptions =\n", none, errors));
  CHECK(none.client_limit_exceptions.empty());  // every address counted, the front MTA too
  ServiceConfig typo;
  CHECK_FALSE(load("client_limit_exception = 192.0.2.10\n", typo, errors));
  CHECK(errors.back().find("did you mean 'client_limit_exceptions'?") != std::string::npos);
}

TEST_CASE("service config: memory_limit takes a size with a unit, or none") {
  std::uint64_t b = 0;
  CHECK(mugai::smtp::parseMemoryLimit("6G", b));
  CHECK(b == 6ULL << 30);
  CHECK(mugai::smtp::parseMemoryLimit("512M", b));
  CHECK(b == 512ULL << 20);
  CHECK(mugai::smtp::parseMemoryLimit("none", b));
  CHECK(b == 0);
  CHECK_FALSE(mugai::smtp::parseMemoryLimit("1M", b));  // too little to load the signatures
  CHECK_FALSE(mugai::smtp::parseMemoryLimit("6 G", b));
  CHECK_FALSE(mugai::smtp::parseMemoryLimit("-1G", b));
  CHECK_FALSE(mugai::smtp::parseMemoryLimit("", b));
  mugai::smtp::ServiceConfig c;
  std::vector<std::string> errors;
  CHECK(load("memory_limit = 2G\n", c, errors));
  CHECK(c.memory_limit == "2G");
  CHECK_FALSE(load("memory_limit = lots\n", c, errors));
  CHECK(mugai::smtp::closestKey("memory") == "memory_limit");
}

TEST_CASE("service config: sender authentication keys (issue 14)") {
  ServiceConfig c;
  std::vector<std::string> errors;
  REQUIRE(load("authentication = yes\nauthserv_id = mugai.city.example.lg.jp\n"
               "trusted_authserv_ids = mx1.city.example.lg.jp, mx2.city.example.lg.jp\n"
               "dns_nameserver = 127.0.0.1:5353\n",
               c, errors));
  CHECK(c.authentication == "yes");
  CHECK(c.authserv_id == "mugai.city.example.lg.jp");
  CHECK(c.trusted_authserv_ids == std::vector<std::string>{"mx1.city.example.lg.jp", "mx2.city.example.lg.jp"});
  CHECK(c.dns_nameserver == "127.0.0.1:5353");
  CHECK(mugai::smtp::describeServiceConfig(c).find("trusted_authserv_ids = mx1.city.example.lg.jp, mx2") !=
        std::string::npos);
  ServiceConfig d;
  CHECK(d.authentication == "no");  // DNS is the admin's to allow
  // Variants that must be refused: a header-breaking id, a bad switch, nameservers that are not
  // an IPv4 address with an optional port.
  for (const char* bad : {"authserv_id = mugai; dkim=pass\n", "authserv_id = a b\n", "authentication = on\n",
                          "trusted_authserv_ids = ok.example, bad;id\n", "dns_nameserver = resolver.example\n",
                          "dns_nameserver = 127.0.0.1:0\n", "dns_nameserver = 127.0.0.1:99999\n",
                          "dns_nameserver = 127.0.0.1:\n"}) {
    INFO(bad);
    ServiceConfig e;
    std::vector<std::string> errs;
    CHECK_FALSE(load(bad, e, errs));
  }
  errors.clear();
  CHECK_FALSE(load("dns_nameservers = 127.0.0.1\n", c, errors));
  REQUIRE_FALSE(errors.empty());
  CHECK(errors.front().find("did you mean 'dns_nameserver'") != std::string::npos);
}

TEST_CASE("service config: the monitoring keys (metrics, syslog) and their refusals") {
  ServiceConfig c;
  std::vector<std::string> errors;
  REQUIRE(load("metrics = 127.0.0.1:9125\nsyslog = unix:/dev/log\nsyslog_format = cef\n"
               "syslog_facility = local4\n",
               c, errors));
  CHECK(c.metrics == "127.0.0.1:9125");
  CHECK(c.syslog == "unix:/dev/log");
  CHECK(c.syslog_format == "cef");
  CHECK(c.syslog_facility == "local4");
  CHECK(mugai::smtp::describeServiceConfig(c).find("metrics = 127.0.0.1:9125\nmetrics_remote = no\n") !=
        std::string::npos);
  ServiceConfig defaults;
  CHECK(defaults.metrics.empty());  // off unless asked for
  CHECK(defaults.syslog.empty());
  CHECK(mugai::smtp::checkMonitoring(defaults).empty());
  for (const char* bad : {"metrics = 0.0.0.0:9125\n", "metrics = [::]:9125\n",
                          "metrics = gw.example:9125\n", "metrics = 127.0.0.1\n",
                          "metrics_remote = maybe\n", "syslog = /dev/log\n",
                          "syslog = udp:siem.example\n", "syslog_format = json\n",
                          "syslog_facility = mail2\n"}) {
    INFO(bad);
    ServiceConfig d;
    errors.clear();
    CHECK_FALSE(load(bad, d, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find(std::string(bad).substr(0, std::string(bad).find(' '))) != std::string::npos);
  }
  ServiceConfig remote;
  errors.clear();
  CHECK(load("metrics = 0.0.0.0:9125\nmetrics_remote = yes\n", remote, errors));
  CHECK(mugai::smtp::closestKey("metric") == "metrics");
  CHECK(mugai::smtp::closestKey("syslog_fmt") == "syslog_format");
}

TEST_CASE("service config: the release runner's keys (vault, release_sender, console_url)") {
  ServiceConfig c;
  std::vector<std::string> errors;
  REQUIRE(load("vault = postgresql://mugai@/mugai?host=/run/postgresql\n"
               "release_sender = mugai@gw.city.example.lg.jp\nconsole_url = https://mugai.city.example.lg.jp\n",
               c, errors));
  CHECK(c.vault == "postgresql://mugai@/mugai?host=/run/postgresql");
  CHECK(c.release_sender == "mugai@gw.city.example.lg.jp");
  CHECK(c.console_url == "https://mugai.city.example.lg.jp");
  CHECK(mugai::smtp::describeServiceConfig(c).find("console_url = https://mugai.city.example.lg.jp") !=
        std::string::npos);
  for (const std::string bad : {"release_sender = Mugai <mugai@x.example>\n", "release_sender = nobody\n",
                                "console_url = javascript:alert(1)\n"}) {
    ServiceConfig d;
    errors.clear();
    CHECK_FALSE(load(bad, d, errors));
    REQUIRE_FALSE(errors.empty());
  }
  errors.clear();
  ServiceConfig e;
  CHECK_FALSE(load("release_sendr = a@b.example\n", e, errors));
  REQUIRE_FALSE(errors.empty());
  CHECK(errors.back().find("release_sender") != std::string::npos);  // the nearest key
}

TEST_CASE("service config: state_dir and vault, quarantine_dir is the old name of state_dir") {
  std::vector<std::string> errors;
  ServiceConfig plain;
  CHECK(mugai::smtp::vaultUrl(plain) == "sqlite:/var/spool/mugai/quarantine/vault.db");
  CHECK_FALSE(plain.quarantine_dir_used);
  ServiceConfig c;
  REQUIRE(load("state_dir = /var/lib/mugai\n", c, errors));
  CHECK(mugai::smtp::vaultUrl(c) == "sqlite:/var/lib/mugai/vault.db");
  ServiceConfig pg;
  REQUIRE(load("state_dir = /var/lib/mugai\nvault = postgresql:///mugai?host=/run/postgresql\n", pg,
               errors));
  CHECK(mugai::smtp::vaultUrl(pg) == "postgresql:///mugai?host=/run/postgresql");
  CHECK(mugai::smtp::describeServiceConfig(pg).find(
            "vault = postgresql:///mugai?host=/run/postgresql") != std::string::npos);
  ServiceConfig old;
  REQUIRE(load("quarantine_dir = /srv/q\n", old, errors));
  CHECK(old.state_dir == "/srv/q");
  CHECK(old.quarantine_dir_used);  // serve logs the new name and how to migrate
  CHECK(mugai::smtp::vaultUrl(old) == "sqlite:/srv/q/vault.db");
}

// The one table (include/mugai/config/service.def): everything about a key follows from its row.
namespace {

std::string rowValue(const mugai::smtp::ServiceKeyInfo& k, const char* text) {
  // What serviceKeyValue shows for `text` (a list as its items joined).
  if (!k.list) return text;
  std::string out;
  for (const auto& i : mugai::smtp::splitServiceList(text)) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

TEST_CASE("service config: every key of the table round-trips through --print-config and the loader") {
  std::size_t n = 0;
  const mugai::smtp::ServiceKeyInfo* t = mugai::smtp::serviceKeyTable(&n);
  REQUIRE(n >= 28);
  // The defaults: a row's default is the member's value, and print -> load gives it back.
  ServiceConfig defaults;
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].name);
    if (std::string(t[i].name) == "vault") continue;  // printed as in effect (vaultUrl)
    CHECK(mugai::smtp::serviceKeyValue(defaults, t[i]) == rowValue(t[i], t[i].default_value));
  }
  std::vector<std::string> errors;
  ServiceConfig again;
  REQUIRE(load(mugai::smtp::describeServiceConfig(defaults), again, errors));
  CHECK(mugai::smtp::describeServiceConfig(again) == mugai::smtp::describeServiceConfig(defaults));
  // Every key set to its example (a value other than the default): each one is read back.
  ServiceConfig ex;
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].name);
    CHECK(std::string(t[i].example) != t[i].default_value);
    REQUIRE(mugai::smtp::setServiceKey(ex, t[i].name, t[i].example));
  }
  std::string printed = mugai::smtp::describeServiceConfig(ex);
  ServiceConfig loaded;
  errors.clear();
  INFO(printed);
  REQUIRE(load(printed, loaded, errors));
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].name);
    CHECK(mugai::smtp::serviceKeyValue(loaded, t[i]) == rowValue(t[i], t[i].example));
    CHECK(("\n" + printed).find(std::string("\n") + t[i].name + " = ") != std::string::npos);
  }
  CHECK(mugai::smtp::describeServiceConfig(loaded) == printed);
  // One line per row, in table order, nothing else.
  CHECK(static_cast<std::size_t>(std::count(printed.begin(), printed.end(), '\n')) == n);
  CHECK(printed.rfind(std::string(t[0].name) + " = ", 0) == 0);
}

TEST_CASE("service config: docs/configuration.md is the table's generated text") {
  std::string doc = mugai::test::readFile(mugai::test::sourceDir() / "docs" / "configuration.md");
  INFO("regenerate: build/mugai serve --print-config --markdown > docs/configuration.md");
  CHECK(doc == mugai::smtp::serviceKeysMarkdown());
  std::size_t n = 0;
  const mugai::smtp::ServiceKeyInfo* t = mugai::smtp::serviceKeyTable(&n);
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(doc.find("| `" + std::string(t[i].name) + "` |") != std::string::npos);
  }
}

TEST_CASE("service config: SIGHUP names every changed key that needs a restart, never rules") {
  std::size_t n = 0;
  const mugai::smtp::ServiceKeyInfo* t = mugai::smtp::serviceKeyTable(&n);
  ServiceConfig running;
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].name);
    ServiceConfig fresh;
    REQUIRE(mugai::smtp::setServiceKey(fresh, t[i].name, t[i].example));
    auto changed = mugai::smtp::restartKeysChanged(running, fresh);
    if (t[i].reload) {
      CHECK(changed.empty());
    } else if (std::string(t[i].name) == "state_dir") {  // the default vault lives in it
      CHECK(changed == std::vector<std::string>{"state_dir", "vault"});
    } else {
      CHECK(changed == std::vector<std::string>{t[i].name});
    }
  }
  CHECK(mugai::smtp::restartKeysChanged(running, ServiceConfig{}).empty());
  // The keys the reload check once forgot are bound at start too.
  for (const char* key : {"memory_limit", "isolation", "client_limit_exceptions"}) {
    INFO(key);
    bool found = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::string(t[i].name) == key) {
        found = true;
        CHECK_FALSE(t[i].reload);
      }
    }
    CHECK(found);
  }
  // vault compares as in effect: an explicit default path is no change.
  ServiceConfig explicit_vault;
  explicit_vault.vault = mugai::smtp::vaultUrl(running);
  CHECK(mugai::smtp::restartKeysChanged(running, explicit_vault).empty());
}

TEST_CASE("service config: choices and formats come from the table, the message names key and value") {
  for (auto [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"\n\nrelay_tls = always\n", "mugai.cf: relay_tls: expected none, may or encrypt (not 'always')"},
           {"isolation = chroot\n", "mugai.cf: isolation: expected workers or none (not 'chroot')"},
           {"# x\nmetrics_remote = 1\n", "mugai.cf: metrics_remote: expected yes or no (not '1')"},
           {"syslog_format = json\n", "mugai.cf: syslog_format: expected rfc5424 or cef (not 'json')"},
           {"authentication = YES\n", "mugai.cf: authentication: expected yes or no (not 'YES')"},
           {"memory_limit = 1M\n", "mugai.cf: memory_limit = '1M': expected a size"},
           {"console_url = ftp://x\n", "mugai.cf: console_url = 'ftp://x': expected https://"},
           {"trusted_authserv_ids = a.example b;c\n", "mugai.cf: trusted_authserv_ids: 'b;c': letters, digits"},
           {"next_hop = 10.0.0.1\n", "mugai.cf: next_hop = '10.0.0.1': no port"}}) {
    INFO(text);
    ServiceConfig c;
    std::vector<std::string> errors;
    CHECK_FALSE(load(text, c, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find(want) != std::string::npos);
  }
  // The old name is read, flagged and hinted at.
  ServiceConfig old;
  std::vector<std::string> errors;
  REQUIRE(load("quarantine_dir = /srv/q\n", old, errors));
  CHECK(old.quarantine_dir_used);
  CHECK(mugai::smtp::describeServiceConfig(old).find("quarantine_dir") == std::string::npos);
}
