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
  return pipeline::buildNotice(test::shippedEngine().policy().notice, r, false, true);
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
