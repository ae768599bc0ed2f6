// The console end to end, with real peers and a real browser: swaks -> `mugai serve` -> smtp-sink
// brings a .docm in (rebuilt; its original kept in the SQLite vault); `mugai console` serves the
// pages; Debian's chromium, driven by puppeteer-core (tests/browser/console_flow.mjs), logs in as
// staff, requests the original, logs in as the approver and approves. Screenshots go to
// $MUGAI_BUILD_DIR/tests/screenshots. When the release runner is in the build (`mugai vault
// release` exists), the approved original must then reach the sink with X-Mugai-Released.
#include <Poco/Base64Encoder.h>
#include <sys/stat.h>

#include <sstream>
#include <thread>

#include "integration/peers.h"
#include "support/test_support.h"
#include "unit/sanitizers/office_fixtures.h"

namespace fs = std::filesystem;
using namespace mugai::test;

namespace {

const char* kPasswordText = "browser test pw 1";

std::string docmMail() {
  std::ostringstream b64;
  {
    Poco::Base64Encoder enc(b64);
    enc.rdbuf()->setLineLength(76);
    enc << mugai::test::office::docm();
  }
  return "From: partner@example.co.jp\r\nTo: tanaka@city.example.lg.jp\r\n"
         "Subject: =?UTF-8?B?6KaL56mN5pu444Gu5qeY5byP?=\r\nMessage-ID: <docm-1@example.co.jp>\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease fill in the form.\r\n"
         "--b1\r\nContent-Type: application/vnd.ms-word.document.macroEnabled.12; name=\"mitsumori.docm\"\r\n"
         "Content-Disposition: attachment; filename=\"mitsumori.docm\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" + b64.str() + "\r\n--b1--\r\n";
}

std::string findNode() {
  for (const char* p : {"/usr/bin/node", "/usr/local/bin/node"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

/// PPAP: the generated encrypted zip (secret.txt, traditional PKWARE, password "mugai").
std::string ppapMail() {
  std::ostringstream b64;
  {
    Poco::Base64Encoder enc(b64);
    enc.rdbuf()->setLineLength(76);
    enc << readFile(generatedDir() / "encrypted.zip");
  }
  return "From: partner@example.co.jp\r\nTo: tanaka@city.example.lg.jp\r\n"
         "Subject: =?UTF-8?B?44OR44K544Ov44O844OJ5LuY44GN6LOH5paZ?=\r\nMessage-ID: <ppap-1@example.co.jp>\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe password follows in another mail.\r\n"
         "--b1\r\nContent-Type: application/zip; name=\"shiryo.zip\"\r\n"
         "Content-Disposition: attachment; filename=\"shiryo.zip\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" + b64.str() + "\r\n--b1--\r\n";
}

}  // namespace

TEST_CASE("console: in chromium, staff requests the withheld .docm and the approver approves it",
          "[integration][browser]") {
  if (anyMissing({kSink, kSwaks})) return;
  if (!fs::exists("/usr/bin/chromium")) {
    WARN("skipped: chromium not found (Debian package chromium; bootstrap.sh --with-test-tools)");
    return;
  }
  const std::string node = findNode();
  if (node.empty()) {
    WARN("skipped: node not found (the browser test drives chromium with puppeteer-core)");
    return;
  }
  const char* build_env = std::getenv("MUGAI_BUILD_DIR");
  const fs::path build = build_env ? build_env : fs::path(MUGAI_BINARY).parent_path();
  // puppeteer-core from tests/browser/package-lock.json, installed once into the build folder.
  const fs::path npm_dir = build / "tests" / "browser";
  if (!fs::exists(npm_dir / "node_modules" / "puppeteer-core")) {
    fs::create_directories(npm_dir);
    for (const char* f : {"package.json", "package-lock.json", "console_flow.mjs"}) {
      fs::copy_file(sourceDir() / "tests" / "browser" / f, npm_dir / f,
                    fs::copy_options::overwrite_existing);
    }
    std::string out;
    if (run({"/usr/bin/npm", "ci", "--no-audit", "--no-fund", "--prefix", npm_dir.string()}, &out, 300) != 0) {
      WARN("skipped: npm ci of puppeteer-core failed (offline?):\n" << out);
      return;
    }
  }
  fs::copy_file(sourceDir() / "tests" / "browser" / "console_flow.mjs", npm_dir / "console_flow.mjs",
                fs::copy_options::overwrite_existing);

  TempDir tmp;
  const fs::path dump = tmp.path() / "dump", quarantine = tmp.path() / "quarantine";
  fs::create_directories(dump);
  chmod(tmp.path().c_str(), 0755);
  chmod(dump.c_str(), 0777);
  const std::string vault = "sqlite:" + (tmp.path() / "vault.db").string();
  // The rules: the shipped ones plus a directory (tanaka in somu, sato approves somu).
  writeFile(tmp.path() / "directory.yaml", readFile(sourceDir() / "rules" / "directory.example.yaml"));
  std::string rules = readFile(sourceDir() / "rules" / "default.yaml");
  const std::string marker = "  # directory: directory.yaml";
  REQUIRE(rules.find(marker) != std::string::npos);
  rules.replace(rules.find(marker), marker.size(), "  directory: directory.yaml");
  writeFile(tmp.path() / "rules.yaml", rules);
  // Relative signature paths of the shipped rules resolve beside the copy (see docs/rules.md).
  std::error_code ec;
  fs::create_directory_symlink(sourceDir() / "rules" / "signatures", tmp.path() / "signatures", ec);

  const std::uint16_t sink_port = freePort(), mugai_port = freePort(), console_port = freePort();
  auto sink = startSmtpSink(dump, sink_port, tmp.path() / "sink.log");
  REQUIRE(sink);

  std::string help;
  run({MUGAI_BINARY, "serve", "--help"}, &help);
  const bool serve_has_vault = help.find("--vault") != std::string::npos;
  std::vector<std::string> serve{MUGAI_BINARY, "serve", "--listen",
                                 "127.0.0.1:" + std::to_string(mugai_port), "--next-hop",
                                 "127.0.0.1:" + std::to_string(sink_port), "--rules",
                                 (tmp.path() / "rules.yaml").string(), "--quarantine",
                                 quarantine.string()};
  if (serve_has_vault) serve.insert(serve.end(), {"--vault", vault});
  Child mugai(serve, tmp.path() / "serve.log");
  if (!waitForPort(mugai_port, std::chrono::seconds(60))) FAIL(readFile(tmp.path() / "serve.log"));
  writeFile(tmp.path() / "docm.eml", docmMail());
  std::string out;
  REQUIRE(run({kSwaks, "--server", "127.0.0.1:" + std::to_string(mugai_port), "--from",
               "partner@example.co.jp", "--to", "tanaka@city.example.lg.jp", "--data",
               "@" + (tmp.path() / "docm.eml").string(), "--timeout", "60"},
              &out, 90) == 0);
  INFO(out);
  // A second item for the list and the statistics: EICAR (tier admin: staff cannot request it).
  writeFile(tmp.path() / "eicar.eml", htmlWithEicar());
  REQUIRE(run({kSwaks, "--server", "127.0.0.1:" + std::to_string(mugai_port), "--from",
               "billing@invoice.example.net", "--to", "tanaka@city.example.lg.jp", "--data",
               "@" + (tmp.path() / "eicar.eml").string(), "--timeout", "60"},
              &out, 90) == 0);
  // A PPAP mail for tanaka: withheld (content.encrypted); he opens it in the console.
  writeFile(tmp.path() / "ppap.eml", ppapMail());
  REQUIRE(run({kSwaks, "--server", "127.0.0.1:" + std::to_string(mugai_port), "--from",
               "partner@example.co.jp", "--to", "tanaka@city.example.lg.jp", "--data",
               "@" + (tmp.path() / "ppap.eml").string(), "--timeout", "60"},
              &out, 90) == 0);
  if (!serve_has_vault) {
    // Until the disposition layer writes the vault itself: bring the quarantine folder in.
    REQUIRE(run({MUGAI_BINARY, "vault", "--vault", vault, "--rules", (tmp.path() / "rules.yaml").string(),
                 "import", quarantine.string()}, &out) == 0);
  }
  REQUIRE(run({MUGAI_BINARY, "vault", "--vault", vault, "list", "--json"}, &out) == 0);
  INFO(out);
  REQUIRE(out.find("見積書の様式") != std::string::npos);  // the decoded Subject
  // The .docm's record (list --json: one object a line).
  std::string line;
  std::istringstream lines(out);
  while (std::getline(lines, line) && line.find("見積書の様式") == std::string::npos) {
  }
  out = line;
  const auto id_at = out.find("\"id\":\"") + 6;
  const std::string id = out.substr(id_at, out.find('"', id_at) - id_at);

  writeFile(tmp.path() / "pw", std::string(kPasswordText) + "\n");
  for (const char* u : {"tanaka", "sato", "joho-admin"}) {
    REQUIRE(run({MUGAI_BINARY, "console", "--vault", vault, "--users",
                 (tmp.path() / "users.db").string(), "user", "add", u, "--password-file",
                 (tmp.path() / "pw").string()}, &out) == 0);
  }
  Child console({MUGAI_BINARY, "console", "--listen", "127.0.0.1:" + std::to_string(console_port),
                 "--vault", vault, "--rules", (tmp.path() / "rules.yaml").string(), "--users",
                 (tmp.path() / "users.db").string()},
                tmp.path() / "console.log");
  if (!waitForPort(console_port, std::chrono::seconds(30))) FAIL(readFile(tmp.path() / "console.log"));

  const fs::path shots = build / "tests" / "screenshots";
  setenv("CONSOLE_URL", ("http://127.0.0.1:" + std::to_string(console_port)).c_str(), 1);
  setenv("SCREENSHOTS", shots.string().c_str(), 1);
  setenv("PASSWORD", kPasswordText, 1);
  setenv("ITEM_FILE", "見積書の様式", 1);
  setenv("PPAP_ITEM", "パスワード付き資料", 1);
  setenv("PPAP_PASSWORD", "mugai", 1);
  const int rc = run({node, (npm_dir / "console_flow.mjs").string()}, &out, 300);
  INFO(out << "\nconsole log:\n" << readFile(tmp.path() / "console.log"));
  if (rc == 77) {
    WARN("skipped: chromium not found");
    return;
  }
  REQUIRE(rc == 0);
  for (const char* f : {"list.png", "detail.png", "stats.png"}) CHECK(fs::file_size(shots / f) > 10000);

  REQUIRE(run({MUGAI_BINARY, "vault", "--vault", vault, "show", id, "--json"}, &out) == 0);
  // approved, or already released: serve's release runner may have carried it out by now.
  CHECK((out.find("\"state\":\"approved\"") != std::string::npos ||
         out.find("\"state\":\"released\"") != std::string::npos));
  REQUIRE(run({MUGAI_BINARY, "vault", "--vault", vault, "audit", "verify"}, &out) == 0);

  // Release delivery (branch `release`): the approved original reaches the sink, once.
  std::string vhelp;
  run({MUGAI_BINARY, "vault", "--help"}, &vhelp);
  if (vhelp.find("release ID") == std::string::npos || !serve_has_vault) {
    WARN("skipped: release delivery is not in this build (mugai vault release / serve --vault); "
         "the approval is recorded as approved");
    return;
  }
  std::size_t released = 0;
  for (int i = 0; i < 120 && released == 0; ++i) {
    for (const auto& f : filesIn(dump)) {
      if (readFile(f).find("X-Mugai-Released: " + id) != std::string::npos) ++released;
    }
    if (released == 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(released == 1);
  // The PPAP item opened in the browser: its sanitized content reaches the sink, once, marked.
  std::size_t unlocked = 0;
  for (int i = 0; i < 120 && unlocked == 0; ++i) {
    for (const auto& f : filesIn(dump)) {
      const std::string m = readFile(f);
      if (m.find("X-Mugai-Unlocked") != std::string::npos && m.find("shiryo.zip") != std::string::npos) ++unlocked;
    }
    if (unlocked == 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(unlocked == 1);
  REQUIRE(run({MUGAI_BINARY, "vault", "--vault", vault, "audit", "export"}, &out) == 0);
  CHECK(out.find("\"unlock\"") != std::string::npos);
  CHECK(out.find("mugai\n") == std::string::npos);
}
