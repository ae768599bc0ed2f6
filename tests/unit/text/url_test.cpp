// text::parseUrl against a browser's URL parser: every expected value below comes from Node's
// WHATWG `URL` (Debian's nodejs), run in the test, never written by hand.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mugai/text/url.h"
#include "support/test_support.h"
#include "support/tools.h"

namespace {

using mugai::text::parseUrl;

struct Case {
  std::string input;
  std::string base;  // "" = no base
};

const std::string kMailBase = "https://mail.example.jp/dir/sub/page.html";

// Href forms that phishing mail uses, and the corners of the standard they exercise.
const std::vector<Case> kCases = {
    {"https://example.com/", ""},
    {"HTTPS://EXAMPLE.COM/Path", ""},
    {"  https://example.com/a  ", ""},
    {"\x01https://example.com/\x1f", ""},
    {"ht\ttps://exa\nmple.com/pa\rth", ""},
    {"java\nscript:alert(1)", ""},
    {"\tjavascript:alert(1)", kMailBase},
    {"//evil.example/login", kMailBase},
    {"\\\\evil.example\\login", kMailBase},
    {"/\\evil.example/a", kMailBase},
    {"https:evil.example/a", "http://mail.example.jp/"},
    {"https:evil.example/a", kMailBase},
    {"https:\\\\evil.example", ""},
    {"https:////evil.example/x", ""},
    {"http://0x7f.1/", ""},
    {"http://0177.0.0.1/", ""},
    {"http://2130706433/", ""},
    {"http://127.1/", ""},
    {"http://0x7f000001/", ""},
    {"http://192.168.0.257/", ""},
    {"http://999999999999/", ""},
    {"http://1.2.3.4.5/", ""},
    {"http://0x/", ""},
    {"http://192.168.0.1.example.com/", ""},
    {"http://[::1]/", ""},
    {"http://[0:0:0:0:0:ffff:7f00:1]/", ""},
    {"http://[::127.0.0.1]/", ""},
    {"http://[1:0:0:2:0:0:0:3]/", ""},
    {"http://[::ffff:192.0.2.1]/", ""},
    {"http://[1::2:3.4.5.6]/", ""},
    {"http://[1:2:3:4:5:6:7::]/", ""},
    {"http://[::1.2.3.256]/", ""},
    {"http://[::01.2.3.4]/", ""},
    {"http://[::1.2.3]/", ""},
    {"http://[1:2:3:4:5:6:7:1.2.3.4]/", ""},
    {"https://[::1", ""},
    {"https://user:pass@bank.example.jp@evil.example/", ""},
    {"http://example.com\\@evil.example/", ""},
    {"https://bank.example.jp%2eevil.example/", ""},
    {"https://%65vil.example/", ""},
    {"https://xn--pple-43d.com/", ""},
    {"https://\xD0\xB0pple.com/", ""},                                  // Cyrillic a
    {"https://\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.jp/", ""},           // 日本語.jp
    {"https://\xEF\xBC\xA5\xEF\xBC\xB8\xEF\xBC\xA1\xEF\xBC\xAD\xEF\xBC\xB0\xEF\xBC\xAC\xEF\xBC\xA5"
     "\xEF\xBC\x8E\xEF\xBD\x83\xEF\xBD\x8F\xEF\xBD\x8D/", ""},          // ＥＸＡＭＰＬＥ．ｃｏｍ
    {"https://ex\xE2\x80\x8B" "ample.com/", ""},                         // zero-width space in host
    {"https://\xC3\x9F.de/", ""},                                       // ß (nontransitional)
    {"https://xn--a.com/", ""},
    {"https://exa mple.com/", ""},
    {"https://ex%00ample.com/", ""},
    {"HTTP://WWW.EXAMPLE.COM./", ""},
    {"https://a..b/", ""},
    {"https://example.com:443/", ""},
    {"https://example.com:8443/a", ""},
    {"https://example.com:99999/", ""},
    {"https://example.com/a/./b/../c", ""},
    {"https://example.com/a/%2e%2E/b", ""},
    {"https://example.com/\xC3\xA4?q=\xC3\xA4#\xC3\xA4", ""},
    {"https://example.com/a b?c d#e f", ""},
    {"https://example.com/?q='x'&r=\"y\"", ""},
    {"https://example.com/p{1}`?a`#<b>", ""},
    {"https://example.com/%zz/\xE2\x80\x8B", ""},
    {"mailto:someone@example.com?subject=hi%20there", ""},
    {"MAILTO:Someone@Example.COM", ""},
    {"javascript:alert(document.cookie)", ""},
    {"vbscript:msgbox(1)", ""},
    {"data:text/html,<script>alert(1)</script>", ""},
    {"file://server/share/doc.lnk", ""},
    {"file:///C:/Windows/System32/calc.exe", ""},
    {"file:c|/x/../y", ""},
    {"search-ms:query=invoice&crumb=location:\\\\evil.example\\share", ""},
    {"ms-msdt:/id PCWDiagnostic /skip force", ""},
    {"\\\\evil.example\\share\\x.exe", ""},
    {"?a=1", kMailBase},
    {"#top", kMailBase},
    {"../up", kMailBase},
    {"page2.html", kMailBase},
    {"", kMailBase},
    {"ftp://user@ftp.example.jp:21/pub", ""},
    {"ws://example.com:80/chat", ""},
    {"foo://Host.Example/%41?x#y", ""},
    {"foo:/a/../b", ""},
};

std::string hex(const std::string& s) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

std::string unhex(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
  return out;
}

// Reads "hex(input) TAB hex(base)" lines; prints "OK hex(href)" or "FAIL" per line.
const char* kNodeScript = R"JS(
const fs = require('fs');
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(l => l.length > 0);
const out = [];
for (const l of lines) {
  const [i, b] = l.split('\t');
  const input = Buffer.from(i, 'hex').toString('utf8');
  const base = b ? Buffer.from(b, 'hex').toString('utf8') : undefined;
  try {
    const u = base === undefined ? new URL(input) : new URL(input, base);
    out.push('OK ' + Buffer.from(u.href, 'utf8').toString('hex'));
  } catch (e) {
    out.push('FAIL');
  }
}
process.stdout.write(out.join('\n') + '\n');
)JS";

}  // namespace

TEST_CASE("href resolution agrees with a browser's WHATWG URL parser (Node) on every form", "[url][node]") {
  REQUIRE(kCases.size() >= 40);
  if (mugai::test::toolMissing("node")) return;  // warns "skipped: node not installed"
  mugai::test::TempDir dir;
  std::string table;
  for (const auto& c : kCases) table += hex(c.input) + "\t" + hex(c.base) + "\n";
  mugai::test::writeFile(dir.path() / "cases.txt", table);
  mugai::test::writeFile(dir.path() / "resolve.js", kNodeScript);
  auto run = mugai::test::runTool({"node", (dir.path() / "resolve.js").string(), (dir.path() / "cases.txt").string()},
                                  std::chrono::seconds(60));
  REQUIRE(run.exit_code == 0);
  std::vector<std::string> expected;
  for (std::size_t pos = 0; pos < run.output.size();) {
    std::size_t nl = run.output.find('\n', pos);
    if (nl == std::string::npos) nl = run.output.size();
    expected.push_back(run.output.substr(pos, nl - pos));
    pos = nl + 1;
  }
  REQUIRE(expected.size() == kCases.size());
  std::size_t failures = 0, resolved = 0;
  for (std::size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    std::optional<mugai::text::Url> base;
    if (!c.base.empty()) base = parseUrl(c.base);
    auto got = parseUrl(c.input, base ? &*base : nullptr);
    std::string want = expected[i] == "FAIL" ? "FAIL" : unhex(expected[i].substr(3));
    std::string have = got ? got->href() : "FAIL";
    INFO("href " << c.input << " base " << (c.base.empty() ? "(none)" : c.base));
    CHECK(have == want);
    if (want != "FAIL") ++resolved;
    if (have != want) ++failures;
  }
  CHECK(failures == 0);
  CHECK(resolved >= 40);  // the table is mostly URLs a browser opens, not failures
}

TEST_CASE("URL parser: limits and hosts staff are shown", "[url]") {
  std::string long_href = "https://example.com/" + std::string(mugai::text::kUrlInputLimit, 'a');
  CHECK_FALSE(parseUrl(long_href));
  auto u = parseUrl("https://xn--pple-43d.com/");
  REQUIRE(u);
  CHECK(mugai::text::hostToUnicode(*u->host) == "\xD0\xB0pple.com");
  CHECK(mugai::text::hostMixesScripts("\xD0\xB0pple.com"));          // Cyrillic + Latin
  CHECK_FALSE(mugai::text::hostMixesScripts("example.com"));
  CHECK_FALSE(mugai::text::hostMixesScripts("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.jp"));  // 日本語.jp
  CHECK_FALSE(mugai::text::hostMixesScripts("\xE3\x81\x82" "abc\xE6\x97\xA5.jp"));  // あabc日: Japanese + Latin
  CHECK(mugai::text::hostMixesScripts("\xCE\xB1pple\xE6\x97\xA5.com"));  // Greek alpha + Latin + Han
  // Thousands of dots or brackets stay linear and bounded.
  CHECK_FALSE(parseUrl("http://[" + std::string(5000, ':') + "]/"));
  (void)parseUrl("http://" + std::string(5000, '.') + "a/");
}
