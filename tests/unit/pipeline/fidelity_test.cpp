// Text fidelity and "nothing the sender wrote vanishes" (issue 10): long lines arrive whole,
// kept UTF-16/CP932 text keeps its bytes and gets its real charset, the notice says only what
// happened, a plain-text stub does not hide the HTML, bidi controls leave the Subject.
#include <zlib.h>

#include <cctype>

#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

ProcessResult run(const std::string& raw) {
  return test::shippedEngine().processMessage(raw, Envelope{"sender@example.com", {"staff@city.example.lg.jp"}}, "FID");
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

std::string japaneseParagraph(std::size_t chars) {
  const std::string kana[] = {"本", "日", "の", "会", "議", "は", "予", "定", "通", "り", "行", "い", "ま", "す", "。"};
  std::string s;
  for (std::size_t i = 0; i < chars; ++i) s += kana[i % 15];
  return s;
}

std::string chunk(const std::string& type, const std::string& data) {
  std::string c = type + data;
  std::uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(c.data()), static_cast<uInt>(c.size()));
  auto be = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  return be(static_cast<std::uint32_t>(data.size())) + c + be(crc);
}

/// A valid 4x4 grey PNG, made with zlib.
std::string tinyPng() {
  std::string raw;
  for (int y = 0; y < 4; ++y) raw += std::string("\0\x10\x80\xf0\x40", 5);
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()));
  z.resize(n);
  std::string ihdr("\0\0\0\x04\0\0\0\x04\x08\0\0\0\0", 13);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

std::string alternative(const std::string& plain, const std::string& html) {
  return "From: a@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: alt\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n\r\n" + plain + "\r\n--b\r\n"
         "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n--b--\r\n";
}

}  // namespace

TEST_CASE("a long paragraph arrives as one line", "[integration]") {
  SECTION("2,000 Japanese characters in a plain body") {
    std::string para = japaneseParagraph(2000);
    ProcessResult r = run(test::buildMail("long", para, {}, "text/plain; charset=utf-8"));
    REQUIRE(test::bodyText(reparse(r.output)).find(para + "\n") != std::string::npos);
  }
  SECTION("an HTML paragraph of 2,000 characters") {
    std::string para = japaneseParagraph(2000);
    ProcessResult r = run(test::buildMail("long", "<p>" + para + "</p>", {}, "text/html; charset=utf-8"));
    REQUIRE(test::bodyText(reparse(r.output)).find(para) != std::string::npos);
  }
  SECTION("5,000 ASCII characters (quoted-printable soft breaks on the wire)") {
    std::string line(5000, 'x');
    ProcessResult r = run(test::buildMail("long", line, {}));
    for (std::size_t p = 0, e; (e = r.output.find("\r\n", p)) != std::string::npos; p = e + 2) REQUIRE(e - p <= 998);
    REQUIRE(test::bodyText(reparse(r.output)).find(line + "\n") != std::string::npos);
  }
}

TEST_CASE("kept text files keep their bytes and get their real charset", "[integration]") {
  auto [name, declared, bytes, label] = GENERATE(
      std::make_tuple(std::string("memo.txt"), std::string("text/plain"),
                      std::string("\xFF\xFE" "a\0\r\0\n\0b\0\r\0\n\0", 14), std::string("UTF-16")),
      // Labelled UTF-8 by a sender who lied: big-endian UTF-16 with its byte order mark.
      std::make_tuple(std::string("memo2.txt"), std::string("text/plain; charset=utf-8"),
                      std::string("\xFE\xFF\0l\0i\0n\0e\0\r\0\n\0t\0w\0o\0\r\0\n", 22), std::string("UTF-16")),
      std::make_tuple(std::string("sjis.txt"), std::string("text/plain"),
                      std::string("\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67\r\n"
                                  "\x89\xef\x8b\x63\x82\xcd\x96\xbe\x93\xfa\x82\xc5\x82\xb7\r\n"),
                      std::string("Shift_JIS")));
  ProcessResult r = run(test::buildMail("text", "see file", {{declared, name, bytes}}));
  INFO(r.output);
  auto root = reparse(r.output);
  const mime::Entity* f = byName(root, name);
  REQUIRE(f);
  REQUIRE(f->body == bytes);
  std::string lowered = label;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  REQUIRE(f->charset == lowered);
}

TEST_CASE("the notice says what happened to a picture, not 'active content'", "[integration]") {
  std::string png = tinyPng() + "PK\x03\x04 trailing payload bytes";
  ProcessResult r = run(test::buildMail("pic", "photo attached", {{"image/png", "photo.png", png}}));
  std::string text = test::bodyText(reparse(r.output));
  INFO(text);
  REQUIRE(text.find("photo.png") != std::string::npos);
  REQUIRE(text.find("Active content") == std::string::npos);
  REQUIRE(text.find("マクロ") == std::string::npos);
  REQUIRE(text.find("not part of the picture") != std::string::npos);
  REQUIRE(text.find("trailing data") != std::string::npos);
}

TEST_CASE("a plain alternative that says less than the HTML does not hide it", "[integration]") {
  SECTION("a stub pointing to the HTML") {
    auto stub = GENERATE(std::string("This message requires an HTML-capable mail client."),
                         std::string("HTMLメールを表示できない場合はブラウザでご覧ください。"));
    ProcessResult r = run(alternative(stub, "<p>会議は<b>15:00</b>に変更になりました。場所は本庁舎5階です。</p>"));
    std::string text = test::bodyText(reparse(r.output));
    REQUIRE(text.find("会議は15:00に変更になりました。") != std::string::npos);
  }
  SECTION("a time the plain text does not have") {
    ProcessResult r = run(alternative("The meeting is at 14:00 in room 3.",
                                      "<p>The meeting is <b>moved to 15:00</b> in room 3.</p>"));
    std::string text = test::bodyText(reparse(r.output));
    REQUIRE(text.find("15:00") != std::string::npos);
    bool said = false;
    for (const auto& a : r.report.actions) said |= a.action == "dropped_alternative" && a.detail.find("15:00") != std::string::npos;
    REQUIRE(said);
  }
  SECTION("both say the same: the sender's plain text is delivered as it is") {
    ProcessResult r = run(alternative("The meeting is at 15:00 in room 3.", "<p>The meeting is at <b>15:00</b> in room 3.</p>"));
    REQUIRE(r.verdict == Verdict::Pass);
    REQUIRE(test::bodyText(reparse(r.output)).find("The meeting is at 15:00 in room 3.") != std::string::npos);
  }
}

TEST_CASE("bidi controls leave the Subject like names and bodies", "[integration]") {
  auto ctl = GENERATE(std::string("\xE2\x80\xAE"), std::string("\xE2\x81\xA6"), std::string("\xE2\x80\x8F"));
  std::string subject = "invoice" + ctl + "fdp.exe";
  std::string raw = test::buildMail("=?UTF-8?B?" + mime::encodeBase64(subject, 0) + "?=", "hello", {});
  ProcessResult r = run(raw);
  auto root = reparse(r.output);
  std::string got = mime::decodeHeaderText(*root.header("Subject"));
  REQUIRE(got == "invoicefdp.exe");
  bool recorded = false;
  for (const auto& a : r.report.actions) recorded |= a.action == "header_cleaned";
  REQUIRE(recorded);
}
