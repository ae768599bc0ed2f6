// The notice staff read: one line per thing that changed, in words that are true for it.
#include <catch2/catch.hpp>

#include "src/pipeline/walker.h"
#include "support/engine_fixture.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;

namespace {

ActionRecord rebuilt(const std::string& name, const std::string& reason, std::vector<Finding> f) {
  ActionRecord a;
  a.part = "2";
  a.filename = name;
  a.action = "rebuilt";
  a.reason = reason;
  a.findings = std::move(f);
  return a;
}

std::string notice(const std::vector<ActionRecord>& actions) {
  Report r;
  r.id = "N1";
  r.actions = actions;
  const auto& pol = test::shippedEngine().policy();
  return pipeline::buildNotice(pol.notice, pol.vault, r, false, true);
}

}  // namespace

TEST_CASE("notice: a rebuild that removed something says so, in both languages", "[notice]") {
  std::string n =
      notice({rebuilt("見積書.docm", "cdr.rebuilt", {{"removed", "word/vbaProject.bin"}})});
  INFO(n);
  CHECK(n.find("「見積書.docm」からマクロなどの危険な部分を取り除きました") != std::string::npos);
  CHECK(
      n.find(
          "Active content (macros, scripts, embedded objects) was removed from \"見積書.docm\"") !=
      std::string::npos);
}

TEST_CASE("notice: a rebuild that removed nothing is not announced as a removal", "[notice]") {
  // An image re-encoded without metadata to strip, an OLE2 file rewritten without slack space:
  // the report has it, the notice does not claim macros were removed.
  CHECK(notice({rebuilt("photo.jpg", "cdr.rebuilt", {{"applied", "orientation 6"}})}).empty());
}

TEST_CASE("notice: a file converted to another format is not called plain text", "[notice]") {
  std::string n = notice({rebuilt("資料.lzh", "cdr.converted", {{"members", "3"}})});
  INFO(n);
  CHECK(n.find("「資料.lzh」を安全な形式に変換しました") != std::string::npos);
  CHECK(n.find("テキスト形式") == std::string::npos);
}

TEST_CASE("notice: an attachment that arrives under another name says which", "[notice]") {
  std::string n =
      notice({rebuilt("見積書.docm", "cdr.rebuilt",
                      {{"removed", "word/vbaProject.bin"}, {"delivered_as", "見積書.docx"}})});
  INFO(n);
  CHECK(n.find("を取り除きました（届いた名前: 見積書.docx）") != std::string::npos);
  CHECK(n.find("(delivered as 見積書.docx)") != std::string::npos);
}

TEST_CASE("notice: a .docm through the engine is named as it arrives", "[notice]") {
  // The engine sets delivered_as when the chain chose the new name (.docm -> .docx).
  auto r = test::shippedEngine().processFile(test::office::docm(), "見積書.docm", "N2");
  INFO(r.report.toJson());
  CHECK(r.output_filename == "見積書.docx");
  bool said = false;
  for (const auto& a : r.report.actions)
    for (const auto& f : a.findings) said |= f.key == "delivered_as" && f.value == "見積書.docx";
  CHECK(said);
  CHECK(r.keepOriginal());  // macros were cut out: the original stays retrievable
}

TEST_CASE("notice: a removed body is the message body, not an attachment, and a thinned zip is not 'active content'", "[notice]") {
  ActionRecord body;
  body.part = "1";
  body.body = true;
  body.action = "removed";
  body.reason = "av.infected";
  std::string n = notice({body});
  INFO(n);
  CHECK(n.find("The message body was removed (") != std::string::npos);
  CHECK(n.find("本文を削除しました") != std::string::npos);
  CHECK(n.find("attachment") == std::string::npos);
  std::string z = notice({rebuilt("資料.zip", "cdr.rebuilt",
                                  {{"removed_member", "a.exe"}, {"removed_member", "b.js"}})});
  INFO(z);
  CHECK(z.find("Some files inside \"資料.zip\" were removed.") != std::string::npos);
  CHECK(z.find("「資料.zip」の中の一部のファイルを削除しました") != std::string::npos);
  CHECK(z.find("Active content") == std::string::npos);
  // A zip whose document member lost its macros is still "active content".
  std::string m = notice({rebuilt("資料.zip", "cdr.rebuilt",
                                  {{"removed_member", "a.exe"}, {"removed", "vbaProject.bin"}})});
  CHECK(m.find("Active content") != std::string::npos);
}

TEST_CASE("notice: a CSV whose formula cells were made inert says so, not 'active content removed'", "[notice]") {
  std::string n = notice({rebuilt("list.csv", "cdr.rebuilt", {{"neutralised", "1 cell(s)"}})});
  INFO(n);
  CHECK(n.find("Cells of \"list.csv\" that would run as formulas") != std::string::npos);
  CHECK(n.find("「list.csv」の数式として実行されうるセル") != std::string::npos);
  CHECK(n.find("Active content") == std::string::npos);
  // Neutralised cells beside a real removal: the removal is what the notice names.
  CHECK(notice({rebuilt("a.csv", "cdr.rebuilt", {{"neutralised", "1"}, {"removed", "x"}})})
            .find("Active content") != std::string::npos);
}

TEST_CASE("notice: it says how to get the original — the record id, the tier in words and where "
          "to ask, Japanese first",
          "[notice]") {
  const auto& pol = test::shippedEngine().policy();
  SECTION("a rebuilt .docm: tier approval (the shipped default)") {
    std::string n = notice({rebuilt("見積書.docm", "cdr.rebuilt", {{"removed", "word/vbaProject.bin"}})});
    INFO(n);
    const std::size_t ja = n.find("理由を添えて申請できます。上長の承認後にお届けします。");
    const std::size_t en = n.find("you may request it with a reason; your superior approves it.");
    REQUIRE(ja != std::string::npos);
    REQUIRE(en != std::string::npos);
    CHECK(ja < en);  // Japanese first
    CHECK(n.find("問い合わせ先: " + pol.vault.contact_ja) != std::string::npos);
    CHECK(n.find("Where to ask: " + pol.vault.contact_en) != std::string::npos);
    CHECK(n.find("受付番号: N1") != std::string::npos);
    CHECK(n.find("Reference: N1") != std::string::npos);
  }
  SECTION("EICAR removed: tier admin, whatever else was done") {
    ActionRecord av = rebuilt("invoice.com", "av.infected", {});
    av.action = "removed";
    std::string n = notice({rebuilt("見積書.docm", "cdr.rebuilt", {}), av});
    INFO(n);
    CHECK(n.find("原本は情報セキュリティ担当のみが取り出せます。") != std::string::npos);
    CHECK(n.find("Only the security team can release the original.") != std::string::npos);
    CHECK(n.find("上長の承認後") == std::string::npos);
  }
  SECTION("a blocked message's notice says it too") {
    Report r;
    r.id = "B1";
    r.reason = Reason::AvInfected;
    std::string n = pipeline::buildNotice(pol.notice, pol.vault, r, true, true);
    INFO(n);
    CHECK(n.find("原本は情報セキュリティ担当のみが取り出せます。") != std::string::npos);
    CHECK(n.find("受付番号: B1") != std::string::npos);
  }
  SECTION("tiers self and never, from the rules") {
    policy::VaultRules v = pol.vault;
    v.release_default = "self";  // the strictest of the default and the reasons' tiers applies
    v.release_by_reason[Reason::CdrRebuilt] = "self";
    CHECK(howToGetOriginal(v, {"cdr.rebuilt"}, false).front() ==
          "If you need the original, you may request it and receive it at once (no approval needed).");
    v.release_by_reason[Reason::CdrRebuilt] = "never";
    auto lines = howToGetOriginal(v, {"cdr.rebuilt"}, true);
    REQUIRE(lines.size() == 1);  // nothing to ask for: no contact line
    CHECK(lines[0] == "原本は記録として保管され、取り出すことはできません。");
  }
}

TEST_CASE("notice: with the service's console_url, where to ask is the item's page in the console "
          "(issue 12 §7), Japanese first",
          "[notice]") {
  const auto& pol = test::shippedEngine().policy();
  Report r;
  r.id = "20261207T014000-abc123";
  r.actions = {rebuilt("見積書.docm", "cdr.rebuilt", {{"removed", "word/vbaProject.bin"}})};
  for (const char* url : {"https://mugai.city.example.lg.jp", "https://mugai.city.example.lg.jp/",
                          "https://mugai.city.example.lg.jp//"}) {
    INFO(url);
    std::string n = pipeline::buildNotice(pol.notice, pol.vault, r, false, true, url);
    INFO(n);
    const std::string link = "https://mugai.city.example.lg.jp/items/20261207T014000-abc123";
    const std::size_t ja = n.find("問い合わせ先: " + link);
    const std::size_t en = n.find("Where to ask: " + link);
    REQUIRE(ja != std::string::npos);
    REQUIRE(en != std::string::npos);
    CHECK(ja < en);
    // The console replaces the rules' contact and their footer (ask IT with the reference); the
    // tier words stay.
    CHECK(n.find(pol.vault.contact_ja) == std::string::npos);
    CHECK(n.find(pol.notice.footer_ja) == std::string::npos);
    CHECK(n.find(pol.notice.footer_en) == std::string::npos);
    CHECK(n.find("上長の承認後にお届けします。") != std::string::npos);
  }
  SECTION("a blocked message's notice links it too") {
    Report b;
    b.id = "B2";
    b.reason = Reason::AvInfected;
    std::string n = pipeline::buildNotice(pol.notice, pol.vault, b, true, true, "http://console.example:8080");
    CHECK(n.find("問い合わせ先: http://console.example:8080/items/B2") != std::string::npos);
  }
  SECTION("tier never: no link, nothing to ask for") {
    policy::VaultRules v = pol.vault;
    v.release_by_reason[Reason::CdrRebuilt] = "never";
    CHECK(howToGetOriginal(v, {"cdr.rebuilt"}, true, consoleItemLink("https://c.example", "X")).size() == 1);
  }
  SECTION("no console_url: the rules' contact, as before") {
    std::string n = pipeline::buildNotice(pol.notice, pol.vault, r, false, true, "");
    CHECK(n.find("問い合わせ先: " + pol.vault.contact_ja) != std::string::npos);
    CHECK(n.find(pol.notice.footer_ja) != std::string::npos);
    CHECK(n.find("/items/") == std::string::npos);
    CHECK(consoleItemLink("", "X").empty());
  }
}
