// winmail.dat (TNEF) from Outlook: its files and its body are unpacked and each goes through the
// whole policy (scan, deny list, type rules, chains); broken or oversized TNEF is removed. The
// TNEF streams are written here attribute by attribute (MS-OXTNEF), checksums and all.
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/outlook_fixtures.h"
#include "support/mail_builder.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"

using namespace mugai;
using namespace mugai::test::outlook;

namespace {

ProcessResult run(const std::string& tnef) {
  std::string raw = test::buildMail("winmail", "本文はTNEFにもあります。", {{"application/ms-tnef", "winmail.dat", tnef}});
  return test::shippedEngine().processMessage(raw, Envelope{"a@example.com", {"staff@city.example.lg.jp"}}, "TNEF");
}

mime::Entity reparse(const std::string& out) {
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(out, b);
  REQUIRE_FALSE(p.failure);
  return p.root;
}

const mime::Entity* byName(const mime::Entity& root, const std::string& name) {
  const mime::Entity* found = nullptr;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (e.filename == name && !found) found = &e;
  });
  return found;
}

std::string reasonOf(const Report& r, const std::string& part) {
  for (const auto& a : r.actions)
    if (a.part == part) return a.reason;
  return "";
}

}  // namespace

TEST_CASE("winmail.dat is unpacked and each file goes through the policy", "[integration]") {
  Tnef t;
  t.attr(1, 0x0002800C, "Minutes attached.\r\n");  // attBody
  t.file("MINUTES.TXT", "議事録: 12月10日 15:00 第3会議室\r\n", utf16z(u"議事録.txt"));
  t.file("TOOL.COM", test::readFile(test::generatedDir() / "eicar.com"));
  t.file("SETUP.EXE", "MZ not really");
  ProcessResult r = run(t.out);
  INFO(r.output);
  REQUIRE(r.verdict == Verdict::PartRemoved);
  auto root = reparse(r.output);
  const mime::Entity* minutes = byName(root, "議事録.txt");  // the long name from the MAPI properties
  REQUIRE(minutes);
  REQUIRE(minutes->body.find("第3会議室") != std::string::npos);
  REQUIRE(byName(root, "message-body.txt"));
  REQUIRE_FALSE(byName(root, "winmail.dat"));
  REQUIRE_FALSE(byName(root, "TOOL.COM"));
  REQUIRE_FALSE(byName(root, "SETUP.EXE"));
  REQUIRE(reasonOf(r.report, "2/3") == "av.infected");
  REQUIRE(reasonOf(r.report, "2/4") == "extension.denied");
  REQUIRE(reasonOf(r.report, "2") == "cdr.converted");
  REQUIRE(r.keepOriginal());
  // The vault's objects: the container (never delivered) and each file removed, by their bytes.
  auto shaOf = [&](const std::string& part) {
    for (const auto& a : r.report.actions)
      if (a.part == part) return a.sha256;
    return std::string("none");
  };
  CHECK(shaOf("2") == test::opensslSha256(t.out));
  CHECK(shaOf("2/3") == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");  // EICAR
  CHECK(shaOf("2/4") == test::opensslSha256("MZ not really"));
}

TEST_CASE("a broken or oversized winmail.dat is removed, never delivered", "[integration][adversarial]") {
  SECTION("wrong checksum") {
    Tnef t;
    t.break_checksum = true;
    t.file("A.TXT", "hello");
    ProcessResult r = run(t.out);
    REQUIRE(reasonOf(r.report, "2") == "parse.malformed");
    REQUIRE_FALSE(byName(reparse(r.output), "A.TXT"));
  }
  SECTION("an attribute longer than the stream, and a stream cut short") {
    Tnef t;
    t.file("A.TXT", "hello");
    std::string longer = t.out + "\x02" + le32(0x0006800F) + le32(0x7FFFFFF0) + "x";
    REQUIRE(reasonOf(run(longer).report, "2") == "parse.malformed");
    REQUIRE(reasonOf(run(t.out.substr(0, t.out.size() - 3)).report, "2") == "parse.malformed");
  }
  SECTION("a MAPI property list that claims a billion properties") {
    Tnef t;
    t.attr(2, 0x00069002, std::string(14, '\0'));
    t.attr(2, 0x00069005, le32(1000000000) + le32(0x3707001F));
    REQUIRE(reasonOf(run(t.out).report, "2") == "parse.malformed");
  }
  SECTION("more attachments than archive_member_count_limit") {
    Tnef t;
    for (int i = 0; i < 2001; ++i) t.attr(2, 0x00069002, std::string(14, '\0'));
    ProcessResult r = run(t.out);
    REQUIRE(reasonOf(r.report, "2") == "limit.archive_members");
    REQUIRE(r.verdict >= Verdict::PartRemoved);
  }
}

namespace {

/// attMAPIProps holding PR_RTF_COMPRESSED (PT_BINARY) only.
std::string rtfProps(const std::string& compressed) {
  std::string p = le32(1) + le32(0x10090102) + le32(1) + le32(static_cast<std::uint32_t>(compressed.size())) + compressed;
  p.append((4 - compressed.size() % 4) % 4, '\0');
  return p;
}

/// "{\rtf1 HELLO-RTF-BODY}" in LZFu: "{\rtf1" as a reference into the dictionary's fixed prefix,
/// the rest as literals, then the end marker (a reference to the write position, 229).
std::string lzfu() {
  std::string payload = std::string("\x01\x00\x04", 3) + " HELLO-" + std::string("\x00", 1) + "RTF-BODY" +
                        std::string("\x02", 1) + "}" + std::string("\x0E\x50", 2);
  return le32(static_cast<std::uint32_t>(12 + payload.size())) + le32(22) + "LZFu" + le32(0) + payload;
}

}  // namespace

TEST_CASE("winmail.dat with only a compressed RTF body delivers it through the rtf chain",
          "[integration][tnef]") {
  for (const std::string& compressed :
       {lzfu(), le32(12 + 22) + le32(22) + "MELA" + le32(0) + std::string("{\\rtf1 HELLO-RTF-BODY}")}) {
    Tnef t;
    t.attr(1, 0x00069003, rtfProps(compressed));
    t.file("NOTE.TXT", "note\r\n");
    ProcessResult r = run(t.out);
    INFO(r.output);
    auto root = reparse(r.output);
    // The rtf chain's output (a tiny RTF that libmagic calls text keeps a text-opening name).
    const mime::Entity* body = byName(root, "message-body.rtf");
    if (!body) body = byName(root, "message-body.rtf.txt");
    REQUIRE(body);
    CHECK(body->body.find("HELLO-RTF-BODY") != std::string::npos);
    bool said = false;
    for (const auto& a : r.report.actions)
      for (const auto& f : a.findings)
        if (f.key == "rtf_body" && f.value.find("decompressed: delivered") != std::string::npos) said = true;
    CHECK(said);
  }
  // Damaged (a reference cut short) or claiming more than expanded_size_limit: not delivered.
  std::string cut = lzfu();
  cut.resize(cut.size() - 1);
  std::string huge = lzfu();
  huge.replace(4, 4, le32(0x7FFFFFFF));
  for (const std::string& bad : {cut, huge}) {
    Tnef t;
    t.attr(1, 0x00069003, rtfProps(bad));
    ProcessResult r = run(t.out);
    auto root = reparse(r.output);
    CHECK_FALSE(byName(root, "message-body.rtf"));
    CHECK_FALSE(byName(root, "message-body.rtf.txt"));
    bool said = false;
    for (const auto& a : r.report.actions)
      for (const auto& f : a.findings)
        if (f.key == "rtf_body" && f.value.find("could not be decompressed") != std::string::npos) said = true;
    CHECK(said);
  }
}
