// html_to_text shows where a link really goes: the href resolved as a browser resolves it
// (WHATWG URL, <base href>), a mark when the text names another place, IDN hosts in both forms,
// and links to other schemes or file shares shown as removed instead of vanishing.
#include <catch2/catch.hpp>

#include <string>

#include "sanitizers/html_to_text/html_to_text.h"

using namespace mugai::sanitizers::html_to_text;

namespace {

Result run(const std::string& html) {
  Result r = htmlToText(html, Options{});
  INFO(html);
  REQUIRE_FALSE(r.failure);
  return r;
}

std::string conv(const std::string& html) { return run(html).text; }

bool has(const std::string& text, const std::string& what) {
  INFO(text);
  return text.find(what) != std::string::npos;
}

const std::string kDiffers = "[⚠ 表示と異なるリンク先 / link text differs from target]";

}  // namespace

TEST_CASE("links: hrefs are resolved as a browser does, not as the text says", "[unit][links]") {
  // Protocol-relative, against the document's <base href>.
  CHECK(has(conv("<base href='https://mail.example.jp/dir/'><a href='//evil.example/login'>bank</a>"),
            "bank <https://evil.example/login>"));
  // Backslashes are slashes for http(s).
  CHECK(has(conv("<a href='https:\\\\evil.example\\a\\b'>bank</a>"), "bank <https://evil.example/a/b>"));
  CHECK(has(conv("<base href='https://mail.example.jp/'><a href='/x\\y'>x</a>"), "x <https://mail.example.jp/x/y>"));
  // "/\\host" is a host to a browser with an https base, and a share to Windows: removed.
  CHECK(has(conv("<base href='https://mail.example.jp/'><a href='/\\evil.example\\x'>x</a>"),
            "x [リンク削除: \\\\ (ファイル共有 / file share) / link removed]"));
  // "\\\\host\\x" would be https://host/x to a browser, but a file share to a Windows mail client.
  CHECK(has(conv("<base href='https://mail.example.jp/'><a href='\\\\evil.example\\x'>x</a>"),
            "x [リンク削除: \\\\ (ファイル共有 / file share) / link removed]"));
  // TAB/CR/LF anywhere, entity-encoded letters (Gumbo decodes them first), C0 and spaces around.
  CHECK(has(conv("<a href='ht&#x09;tp&#10;s://evil.example/'>x</a>"), "x <https://evil.example/>"));
  CHECK(has(conv("<a href='&#104;ttps://evil.example/p'>x</a>"), "x <https://evil.example/p>"));
  CHECK(has(conv("<a href=' \n\f https://evil.example/q \t'>x</a>"), "x <https://evil.example/q>"));
  // Scheme-less "https:host" against a base of another scheme names a host.
  CHECK(has(conv("<base href='http://mail.example.jp/'><a href='https:evil.example/a'>x</a>"),
            "x <https://evil.example/a>"));
  // ... and against a base of the same scheme is a relative path.
  CHECK(has(conv("<base href='https://mail.example.jp/d/'><a href='https:evil.example/a'>x</a>"),
            "x <https://mail.example.jp/d/evil.example/a>"));
  // IPv4 in hex, octal and short forms; percent-encoded host letters.
  CHECK(has(conv("<a href='http://0x7f.1/'>x</a>"), "x <http://127.0.0.1/>"));
  CHECK(has(conv("<a href='http://0177.0.0.01/'>x</a>"), "x <http://127.0.0.1/>"));
  CHECK(has(conv("<a href='https://%65vil.example/'>x</a>"), "x <https://evil.example/>"));
  // Userinfo that reads like a host is not the host.
  CHECK(has(conv("<a href='https://www.bank.example.jp@evil.example/'>x</a>"),
            "<https://www.bank.example.jp@evil.example/>"));
}

TEST_CASE("links: the first <base href> counts, and only when it is absolute", "[unit][links]") {
  CHECK(has(conv("<base href='https://one.example/'><base href='https://two.example/'><a href='p'>x</a>"),
            "x <https://one.example/p>"));
  // A relative link with nothing to resolve it against goes nowhere: nothing is shown for it.
  std::string t = conv("<base href='/relative/'><a href='p'>x</a>");
  CHECK(t == "x\n");
}

TEST_CASE("links: a text that names another place than the target is marked, both shown", "[unit][links]") {
  std::string t = conv("<a href='https://evil.example/login'>https://www.bank.co.jp/login</a>");
  CHECK(has(t, "https://www.bank.co.jp/login <https://evil.example/login> " + kDiffers));
  // Long texts too (the writer's buffer grows while the target is written: rspamd phishing1).
  std::string pad(5000, 'x');
  CHECK(has(conv("<p>" + pad + "</p>lol <a href='http://www.example.net'>http://www.cnn.com</a>"),
            "http://www.cnn.com <http://www.example.net/> " + kDiffers));
  CHECK(run("<a href='https://evil.example/'>www.bank.co.jp</a>").links_differing == 1);
  CHECK(has(conv("<a href='https://evil.example/'>bank.co.jp</a>"), kDiffers));
  CHECK(has(conv("<a href='https://evil.example/'>ログインは https://bank.co.jp/ から</a>"), kDiffers));
  CHECK(has(conv("<a href='mailto:attacker@evil.example'>support@bank.co.jp</a>"), kDiffers));
  // Same place: no mark (www. or not, another path, the text resolving to the target).
  CHECK_FALSE(has(conv("<a href='https://www.example.com/a?utm=1'>example.com</a>"), "⚠"));
  CHECK_FALSE(has(conv("<a href='https://example.com/x'>https://example.com/</a>"), "⚠"));
  CHECK(conv("<a href='HTTPS://Example.COM'>https://example.com/</a>") == "https://example.com/\n");
  // Words are not a domain: no mark.
  CHECK_FALSE(has(conv("<a href='https://evil.example/'>こちらをクリック</a>"), "⚠"));
  CHECK_FALSE(has(conv("<a href='https://evil.example/'>Click here.</a>"), "⚠"));
}

TEST_CASE("links: IDN hosts are shown in xn-- form and in Unicode, mixed scripts marked", "[unit][links]") {
  Result r = run("<a href='https://\xD0\xB0pple.com/'>apple</a>");  // Cyrillic а
  CHECK(has(r.text, "<https://xn--pple-43d.com/>"));
  CHECK(has(r.text, "(IDN: \xD0\xB0pple.com ⚠ 文字種の混在 / mixed scripts)"));
  CHECK(r.links_mixed_scripts == 1);
  std::string jp = conv("<a href='https://日本語.jp/'>市のサイト</a>");
  CHECK(has(jp, "<https://xn--wgv71a119e.jp/> (IDN: 日本語.jp)"));
  CHECK_FALSE(has(jp, "⚠"));
  // The text in the lookalike's own letters resolves to the same host: the IDN note warns.
  std::string same = conv("<a href='https://xn--pple-43d.com/'>\xD0\xB0pple.com</a>");
  CHECK_FALSE(has(same, kDiffers));
  CHECK(has(same, "mixed scripts"));
}

TEST_CASE("links: protocol handlers and file shares are shown as removed, with their scheme", "[unit][links]") {
  struct Case {
    const char* href;
    const char* shown;
  } cases[] = {
      {"javascript:alert(1)", "[リンク削除: javascript: / link removed]"},
      {" JaVa&#x0A;ScRiPt:alert(1)", "[リンク削除: javascript: / link removed]"},
      {"vbscript:msgbox", "[リンク削除: vbscript: / link removed]"},
      {"data:text/html,x", "[リンク削除: data: / link removed]"},
      {"search-ms:query=a&crumb=location:\\\\evil.example\\s", "[リンク削除: search-ms: / link removed]"},
      {"ms-msdt:/id PCWDiagnostic", "[リンク削除: ms-msdt: / link removed]"},
      {"file://evil.example/share/a.lnk", "[リンク削除: file: (ファイル共有 / file share) / link removed]"},
      {"file:///C:/Windows/calc.exe", "[リンク削除: file: / link removed]"},
      {"\\\\evil.example\\share\\a.exe", "[リンク削除: \\\\ (ファイル共有 / file share) / link removed]"},
      {"//evil.example/share", "[リンク削除: \\\\ (ファイル共有 / file share) / link removed]"},
      // Not a URL a browser would open, or too long to judge: said, not dropped in silence.
      {"https://exa mple.com/", "[リンク削除: https: (URL として解釈できない / not a valid URL) / link removed]"},
      {"HTTP://[::1/", "[リンク削除: http: (URL として解釈できない / not a valid URL) / link removed]"},
  };
  for (const auto& c : cases) {
    Result r = run(std::string("<a href='") + c.href + "'>open</a>");
    INFO(c.href);
    CHECK(r.text == std::string("open ") + c.shown + "\n");
    CHECK(r.links_removed == 1);
    CHECK(r.links == 0);
  }
  Result longer = run("<a href='https://example.com/" + std::string(20000, 'a') + "'>open</a>");
  CHECK(longer.text == "open [リンク削除: (長すぎる / too long) / link removed]\n");
}
