// Links in delivered bodies by rule (links: inline | footnotes | defanged), and the boundary
// between mugai's notice and the sender's text (a marker line carrying the message's ID; lines
// of the sender's that imitate it are taken out).
#include <catch2/catch.hpp>

#include <memory>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "src/pipeline/walker.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

constexpr const char* kId = "20261206T120000-a1b2c3-0001";

/// An engine from the shipped rules with `links:` set (and no system signatures: quick to load).
std::unique_ptr<Engine> engineWith(const std::string& style) {
  std::string rules = test::readFile(test::sourceDir() / "rules" / "default.yaml");
  auto at = rules.find("system_database: true");
  REQUIRE(at != std::string::npos);
  rules.replace(at, 21, "system_database: false");
  at = rules.find("\nlinks: footnotes\n");
  REQUIRE(at != std::string::npos);
  rules.replace(at, 18, "\nlinks: " + style + "\n");
  test::TempDir dir;
  test::writeFile(dir.path() / "rules.yaml", rules);
  std::vector<std::string> errors;
  auto e = makeEngine((dir.path() / "rules.yaml").string(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(e);
  return e;
}

const Engine& inlineEngine() {
  static auto e = engineWith("inline");
  return *e;
}
const Engine& defangedEngine() {
  static auto e = engineWith("defanged");
  return *e;
}

std::string delivered(const Engine& engine, const std::string& body, const std::string& type) {
  ProcessResult r = engine.processMessage(test::buildMail("links", body, {}, type),
                                          Envelope{"sender@example.com", {"staff@city.example.lg.jp"}}, kId);
  REQUIRE_FALSE(r.blocked());
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(r.output, b);
  REQUIRE_FALSE(p.failure);
  return test::bodyText(p.root);
}

const std::string kHtml =
    "<p>Please sign in at <a href=\"https://evil.example/login\">https://www.bank.co.jp/</a>.</p>"
    "<p>The report: <a href=\"//files.example.jp/r.pdf\">report</a> and again "
    "<a href=\"https://files.example.jp/r.pdf\">the same report</a>.</p>"
    "<p><a href=\"javascript:alert(1)\">run</a></p>";

std::string html() { return "<html><head><base href=\"https://mail.example.jp/\"></head><body>" + kHtml + "</body></html>"; }

const std::string kHeading = std::string("―――― リンク先一覧（mugai 受付番号 ") + kId + "）/ Link targets ――――";

bool has(const std::string& text, const std::string& what) {
  INFO(text);
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("links: footnotes (the default) number each target and list them under a heading with the ID",
          "[links][integration]") {
  std::string t = delivered(test::shippedEngine(), html(), "text/html; charset=utf-8");
  INFO(t);
  CHECK(has(t, "Please sign in at https://www.bank.co.jp/ [1] [⚠ 表示と異なるリンク先 / link text differs from target]."));
  CHECK(has(t, "The report: report [2] and again the same report [2]."));
  CHECK(has(t, "run [リンク削除: javascript: / link removed]"));
  auto list = t.find(kHeading);
  REQUIRE(list != std::string::npos);
  CHECK(t.find("[1] https://evil.example/login ⚠\n", list) != std::string::npos);
  CHECK(t.find("[2] https://files.example.jp/r.pdf\n", list) != std::string::npos);
  CHECK(t.find("[3]") == std::string::npos);
  CHECK_FALSE(has(t, "<https://"));
}

TEST_CASE("links: inline keeps text <URL>, defanged makes them unclickable", "[links][integration]") {
  std::string in = delivered(inlineEngine(), html(), "text/html; charset=utf-8");
  CHECK(has(in, "https://www.bank.co.jp/ <https://evil.example/login> [⚠"));
  CHECK(has(in, "report <https://files.example.jp/r.pdf>"));
  CHECK_FALSE(has(in, kHeading));
  std::string d = delivered(defangedEngine(), html(), "text/html; charset=utf-8");
  CHECK(has(d, "hxxps://www[.]bank[.]co[.]jp/ <hxxps://evil[.]example/login> [⚠"));
  CHECK(has(d, "report <hxxps://files[.]example[.]jp/r.pdf>"));
  CHECK_FALSE(has(d, "https://"));
}

TEST_CASE("links: plain-text bodies get the same treatment for the URLs they contain", "[links][integration]") {
  std::string body = "Dear staff,\r\nsee https://example.jp/a?b=1, then (https://example.jp/c).\r\n"
                     "mail: mailto:info@example.jp and www.example.jp/d\r\n";
  std::string f = delivered(test::shippedEngine(), body, "text/plain; charset=us-ascii");
  INFO(f);
  CHECK(has(f, "see [1], then ([2])."));
  CHECK(has(f, "mail: [3] and www.example.jp/d"));  // a bare www. host is a link only when defanged
  CHECK(has(f, kHeading + "\n[1] https://example.jp/a?b=1\n[2] https://example.jp/c\n[3] mailto:info@example.jp\n"));
  std::string d = delivered(defangedEngine(), body, "text/plain; charset=us-ascii");
  CHECK(has(d, "see hxxps://example[.]jp/a?b=1, then (hxxps://example[.]jp/c)."));
  CHECK(has(d, "mailto[:]info[@]example[.]jp and www[.]example[.]jp/d"));
  std::string i = delivered(inlineEngine(), body, "text/plain; charset=us-ascii");
  CHECK(has(i, "see https://example.jp/a?b=1, then (https://example.jp/c)."));
  // Japanese text runs on without spaces: the URL ends where the Japanese begins.
  std::string jp = delivered(test::shippedEngine(), "詳細はhttps://example.jp/x。ご確認ください", "text/plain; charset=utf-8");
  CHECK(has(jp, "詳細は[1]。ご確認ください"));
  CHECK(has(jp, "[1] https://example.jp/x\n"));
}

TEST_CASE("notice: ends with a marker carrying the message's ID, the sender's text follows it", "[links][notice][integration]") {
  std::string t = delivered(test::shippedEngine(), html(), "text/html; charset=utf-8");
  std::string marker = pipeline::noticeEndMarker(kId);
  CHECK(marker.find(kId) != std::string::npos);
  auto m = t.find(marker);
  REQUIRE(m != std::string::npos);
  CHECK(t.find("Reference: ") < m);                       // the notice is above it
  CHECK(t.find("Please sign in at") > m);                  // the sender's text below
  CHECK(t.find(marker, m + 1) == std::string::npos);       // exactly once
  CHECK(has(marker, "この下は送信者が書いた本文です"));
  CHECK(has(marker, "Below is what the sender wrote."));
}

TEST_CASE("notice: lines of the sender's that imitate the marker or the notice are taken out", "[links][notice][integration]") {
  const char* fakes[] = {
      "―――― mugai 無害化通知ここまで（受付番号 20260101T000000-000000-0000）この下は送信者が書いた本文です ――――",
      "―――― End of the mugai notice (reference 20260101T000000-000000-0000). Below is what the sender wrote. ――――",
      "== ｍｕｇａｉ　無害化通知　ここまで ==",                       // full-width letters and spaces
      "m u g a i 無害化通知ここまで",                                  // spaced out
      "mu\xE2\x80\x8Bgai notice ends here",                           // zero-width space inside
      "【メール無害化のお知らせ】",                                     // the notice's heading
      "―――― リンク先一覧（mugai 受付番号 X）/ Link targets ――――",  // the link list's heading
  };
  for (const char* fake : fakes) {
    INFO(fake);
    std::string plain = std::string(fake) + "\r\n添付ファイルはすべて検査済みで安全です。\r\n";
    std::string t = delivered(test::shippedEngine(), plain, "text/plain; charset=utf-8");
    INFO(t);
    std::string marker = pipeline::noticeEndMarker(kId);
    REQUIRE(t.find(marker) != std::string::npos);
    std::string sender = t.substr(t.find(marker) + marker.size());
    CHECK_FALSE(has(sender, fake));
    CHECK(has(t, "[mugai: ここにあった行は mugai の通知に似せていたため取り除きました / a line imitating mugai's notice was removed]"));
    CHECK(has(t, "添付ファイルはすべて検査済みで安全です。"));
    // The notice says so, and its own marker (with this message's ID) is there once.
    CHECK(has(t, "本文に、この通知や区切り線に似せた行がありました"));
    CHECK(has(t, pipeline::noticeEndMarker(kId)));
  }
  // The same in HTML, inside markup.
  std::string h = delivered(test::shippedEngine(),
                            "<p><b>―――― mugai 無害化通知ここまで</b> (受付番号 X) ――――</p><p>安全です</p>",
                            "text/html; charset=utf-8");
  CHECK(has(h, "a line imitating mugai's notice was removed"));
  CHECK(has(h, "安全です"));
}

TEST_CASE("notice: everyday words about 無害化 are not taken for an imitation", "[links][notice]") {
  CHECK_FALSE(pipeline::imitatesNoticeMarker("無害化通信の本文について、ご確認ください。"));
  CHECK_FALSE(pipeline::imitatesNoticeMarker("mugai のマニュアルを送ります"));
  CHECK_FALSE(pipeline::imitatesNoticeMarker("See https://example.jp/"));
  CHECK(pipeline::imitatesNoticeMarker("MUGAI NOTICE"));
  CHECK(pipeline::imitatesNoticeMarker("無害化通知はここまで"));
  // A plain body with no imitation and no link: no notice, nothing added.
  std::string t = delivered(test::shippedEngine(), "無害化通信の本文について、ご確認ください。", "text/plain; charset=utf-8");
  CHECK(t == "無害化通信の本文について、ご確認ください。\n");
}
