// Outlook .msg attachments (MS-OXMSG compound files, written here with libgsf through
// sanitizer.ole2's writer, and the corpus' real one): converted to an attached mail message whose
// body and files each went through the whole policy; a broken compound file is removed.
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/outlook_fixtures.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;
using namespace mugai::test::outlook;

namespace {

ProcessResult run(const std::string& msg, const std::string& name = "資料.msg") {
  std::string raw = test::buildMail("fwd", "see the attached message", {{"application/vnd.ms-outlook", name, msg}});
  return test::shippedEngine().processMessage(raw, Envelope{"a@example.com", {"staff@city.example.lg.jp"}}, "MSG");
}

mime::Entity reparse(const std::string& out) {
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(out, b);
  REQUIRE_FALSE(p.failure);
  return p.root;
}

std::string reasonOf(const Report& r, const std::string& part) {
  for (const auto& a : r.actions)
    if (a.part == part) return a.reason;
  return "";
}

}  // namespace

TEST_CASE("an Outlook .msg becomes an attached mail message, each file through the policy", "[integration]") {
  std::string msg = outlookMsg({{u"議事録.txt", "議事録\r\n"}, {u"tool.com", test::readFile(test::generatedDir() / "eicar.com")},
                                {u"run.vbs", "MsgBox 1\r\n"}});
  ProcessResult r = run(msg);
  INFO(r.output);
  auto root = reparse(r.output);
  const mime::Entity* eml = nullptr;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (e.mimeType() == "message/rfc822" && !eml) eml = &e;
  });
  REQUIRE(eml);
  REQUIRE(eml->filename == "資料.eml");
  REQUIRE(eml->children.size() == 1);
  const mime::Entity& inner = eml->children.front();
  REQUIRE(mime::decodeHeaderText(*inner.header("Subject")) == "定例打合せの資料");
  REQUIRE(test::bodyText(inner).find("15:00から第3会議室です。") != std::string::npos);
  bool minutes = false, tool = false, vbs = false;
  test::forEachEntity(inner, [&](const mime::Entity& e) {
    minutes |= e.filename == "議事録.txt" && e.body == "議事録\r\n";
    tool |= e.filename == "tool.com";
    vbs |= e.filename == "run.vbs";
  });
  REQUIRE(minutes);
  REQUIRE_FALSE(tool);
  REQUIRE_FALSE(vbs);
  REQUIRE(reasonOf(r.report, "2") == "cdr.converted");
  REQUIRE(reasonOf(r.report, "2/2") == "av.infected");
  REQUIRE(reasonOf(r.report, "2/3") == "extension.denied");
  REQUIRE(r.output.find("MsgBox") == std::string::npos);
}

TEST_CASE("a message attached inside a .msg is converted too, to every level, each file through the policy",
          "[integration]") {
  // Red team (2026-12-07): messages attached as messages (method 5) were dropped unread, so an
  // EICAR inside one was never named (the record's release tier followed the weaker reason).
  MsgSpec deepest;
  deepest.subject = u"deepest";
  deepest.files = {{u"run.vbs", "MsgBox 1\r\n"}, {u"deep.txt", "deep text\r\n"}};
  MsgSpec quote;
  quote.subject = u"見積書";
  quote.body = u"見積書を送ります。\r\n";
  quote.files = {{u"見積.txt", "金額: 120,000円\r\n"}, {u"tool.com", test::readFile(test::generatedDir() / "eicar.com")}};
  quote.attached = {deepest};
  MsgSpec outer;
  outer.subject = u"転送: 見積";
  outer.files = {{u"memo.txt", "memo\r\n"}};
  outer.attached = {quote};
  ProcessResult r = run(outlookMsg(outer));
  INFO(r.report.toJson());
  CHECK(reasonOf(r.report, "2") == "cdr.converted");
  CHECK(reasonOf(r.report, "2/2") == "cdr.converted");  // the attached message has its own line
  for (const auto& a : r.report.actions) {
    if (a.part != "2/2") continue;
    CHECK(a.filename == "見積書.msg");  // as Outlook shows the attachment
    CHECK(a.findings.size() == 1);
    CHECK(a.findings[0].value == "見積書.eml");
  }
  CHECK(reasonOf(r.report, "2/2/3") == "cdr.converted");
  CHECK(reasonOf(r.report, "2/2/2") == "av.infected");
  CHECK(reasonOf(r.report, "2/2/3/1") == "extension.denied");
  bool av = false;
  for (const auto& x : r.report.actions) av |= x.reason == "av.infected";
  CHECK(av);  // the item's reasons name it (the vault's release tier follows them)
  auto root = reparse(r.output);
  std::vector<std::string> emls;
  bool memo = false, quote_txt = false, deep_txt = false, tool = false, vbs = false;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (e.mimeType() == "message/rfc822") emls.push_back(e.filename);
    memo |= e.filename == "memo.txt" && e.body == "memo\r\n";
    quote_txt |= e.filename == "見積.txt" && e.body.find("120,000") != std::string::npos;
    deep_txt |= e.filename == "deep.txt" && e.body == "deep text\r\n";
    tool |= e.filename == "tool.com";
    vbs |= e.filename == "run.vbs";
  });
  CHECK(emls == std::vector<std::string>{"資料.eml", "見積書.eml", "deepest.eml"});
  CHECK(memo);
  CHECK(quote_txt);
  CHECK(deep_txt);
  CHECK_FALSE(tool);
  CHECK_FALSE(vbs);
  CHECK(r.output.find("MsgBox") == std::string::npos);
}

TEST_CASE("messages attached inside messages: archive_depth_limit levels in all, the file being the first",
          "[integration][adversarial]") {
  // As with archives, the outermost .msg is level 1: with the default limit of 8, seven levels
  // of attached messages under it are read, eight remove the .msg.
  auto nested = [](int levels) {
    MsgSpec m;
    m.subject = u"bottom";
    m.files = {{u"bottom.txt", "bottom\r\n"}};
    for (int i = 0; i < levels; ++i) {
      MsgSpec up;
      up.subject = u"level";
      up.attached = {m};
      m = up;
    }
    return outlookMsg(m);
  };
  ProcessResult seven = run(nested(7));
  INFO(seven.report.toJson());
  CHECK(reasonOf(seven.report, "2") == "cdr.converted");
  CHECK(seven.output.find("bottom.txt") != std::string::npos);
  ProcessResult eight = run(nested(8));
  INFO(eight.report.toJson());
  CHECK(reasonOf(eight.report, "2") == "limit.archive_depth");
  CHECK(eight.output.find("bottom") == std::string::npos);
}

TEST_CASE("an OLE object in a .msg (attach method 6) is not taken for an attached message",
          "[integration][adversarial]") {
  // Its storage has the attached message's name (__substg1.0_3701000D); only the attachment's
  // PidTagAttachMethod tells them apart.
  MsgSpec m;
  m.files = {{u"a.txt", "a\r\n"}};
  m.ole_objects = {"embedded picture bytes"};
  ProcessResult r = run(outlookMsg(m));
  INFO(r.report.toJson());
  CHECK(reasonOf(r.report, "2") == "cdr.converted");
  CHECK(reasonOf(r.report, "2/2") == "");  // no attached message made of it
  int emls = 0;
  test::forEachEntity(reparse(r.output), [&](const mime::Entity& e) { emls += e.mimeType() == "message/rfc822"; });
  CHECK(emls == 1);
  bool counted = false;
  for (const auto& a : r.report.actions) {
    for (const auto& f : a.findings) counted |= f.key == "removed_embedded_objects" && f.value == "1";
  }
  CHECK(counted);
}

TEST_CASE("the corpus' real Outlook message is converted, not removed", "[integration][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  std::string msg = test::readFile(*corpus / "msg" / "msgreader" / "data" / "test.msg");
  ProcessResult r = run(msg, "test.msg");
  REQUIRE(reasonOf(r.report, "2") == "cdr.converted");
  bool eml = false;
  test::forEachEntity(reparse(r.output), [&](const mime::Entity& e) { eml |= e.filename == "test.eml"; });
  REQUIRE(eml);
}

TEST_CASE("the files of winmail.dat and .msg attachments count together against archive_member_count_limit",
          "[integration][adversarial]") {
  // Red team (2026-12-07): many winmail.dat parts of 1,999 files each, each under the limit by
  // itself, made one 10 MB mail of 120,000 delivered attachments. Counted per item with the
  // archive members, the container that passes the limit is removed whole.
  test::TempDir dir;
  auto e = test::engineWithLimits("  archive_member_count_limit: 20\n", dir);
  // 8 + 8 + 5 files: the third passes 20 and goes whole; a fourth of 4 then fills the limit
  // exactly (a refused container leaves its share to the rest), a fifth of 1 goes.
  Tnef first, third, fourth, fifth;
  std::vector<std::pair<std::u16string, std::string>> second;
  for (int i = 0; i < 8; ++i) {
    first.file("A" + std::to_string(i) + ".TXT", "first\r\n");
    second.push_back({u"memo.txt", "second\r\n"});
  }
  for (int i = 0; i < 5; ++i) third.file("C" + std::to_string(i) + ".TXT", "third\r\n");
  for (int i = 0; i < 4; ++i) fourth.file("D" + std::to_string(i) + ".TXT", "fourth\r\n");
  fifth.file("E0.TXT", "fifth\r\n");
  std::string raw = test::buildMail("five containers", "see attached",
                                    {{"application/ms-tnef", "winmail.dat", first.out},
                                     {"application/vnd.ms-outlook", "fwd.msg", outlookMsg(second)},
                                     {"application/ms-tnef", "winmail3.dat", third.out},
                                     {"application/ms-tnef", "winmail4.dat", fourth.out},
                                     {"application/ms-tnef", "winmail5.dat", fifth.out}});
  ProcessResult r = e->processMessage(raw, Envelope{"a@example.com", {"staff@city.example.lg.jp"}}, "MIX5");
  INFO(r.report.toJson());
  CHECK(reasonOf(r.report, "2") == "cdr.converted");
  CHECK(reasonOf(r.report, "3") == "cdr.converted");
  CHECK(reasonOf(r.report, "4") == "limit.archive_members");
  CHECK(reasonOf(r.report, "5") == "cdr.converted");
  CHECK(reasonOf(r.report, "6") == "limit.archive_members");
  CHECK(r.output.find("A7.TXT") != std::string::npos);
  CHECK(r.output.find("fwd.eml") != std::string::npos);
  CHECK(r.output.find("C0.TXT") == std::string::npos);  // the third is not delivered
  CHECK(r.output.find("D3.TXT") != std::string::npos);
  CHECK(r.output.find("E0.TXT") == std::string::npos);
  CHECK(r.keepOriginal());
}

TEST_CASE("a broken compound file named .msg is removed", "[integration][adversarial]") {
  std::string good = outlookMsg({{u"a.txt", "x"}});
  SECTION("cut short") {
    ProcessResult r = run(good.substr(0, 700));
    std::string reason = reasonOf(r.report, "2");
    REQUIRE(reason != "cdr.converted");
    REQUIRE(reason != "kept");
  }
  SECTION("a directory that points at itself") {
    std::string bad = good;
    // The first directory entry (root) at sector 1 after the header: make its child its own id.
    std::uint32_t dir_sector = static_cast<unsigned char>(bad[0x30]) | (static_cast<unsigned char>(bad[0x31]) << 8);
    std::size_t root = 512 + static_cast<std::size_t>(dir_sector) * 512;
    REQUIRE(root + 128 <= bad.size());
    bad[root + 0x4C] = 0;
    bad[root + 0x4D] = bad[root + 0x4E] = bad[root + 0x4F] = 0;
    ProcessResult r = run(bad);
    std::string reason = reasonOf(r.report, "2");
    REQUIRE(reason != "cdr.converted");
    REQUIRE(reason != "kept");
  }
}
