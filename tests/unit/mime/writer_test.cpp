// encodeHeader() and write(): 7-bit output, no header injection, parse(write(x)) round trip.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mugai/text/charset.h"
#include "tests/unit/mime/mime_test_util.h"

using namespace mugai;
using namespace mugai::mime;
using mugai::mime::test::parseWith;

namespace {

/// Checks the RFC 5322 shape of a header block: 7-bit, CRLF only, every line <= 78 unless it is
/// a single unbreakable token, continuation lines start with white space.
void checkHeaderShape(const std::string& h) {
  REQUIRE(h.size() >= 2);
  CHECK(h.substr(h.size() - 2) == "\r\n");
  std::size_t start = 0;
  bool first = true;
  while (start < h.size()) {
    std::size_t end = h.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    std::string line = h.substr(start, end - start);
    INFO(line);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    for (unsigned char c : line) CHECK((c >= 0x20 && c < 0x7f));
    CHECK(line.size() <= 78);
    if (!first) CHECK((line[0] == ' ' || line[0] == '\t'));
    first = false;
    start = end + 2;
  }
}

std::string valueOf(const std::string& encoded_header) {
  auto r = parseWith(encoded_header + "\r\n");
  REQUIRE(r.root.headers.size() == 1);
  return decodeHeaderText(r.root.headers[0].value);
}

}  // namespace

TEST_CASE("encodeHeader: ASCII stays readable, non-ASCII becomes RFC 2047", "[unit]") {
  CHECK(encodeHeader("Subject", "hello world") == "Subject: hello world\r\n");
  std::string h = encodeHeader("Subject", "Re: 添付ファイル送付の件 (再送)");
  checkHeaderShape(h);
  CHECK(h.find("=?UTF-8?B?") != std::string::npos);
  CHECK(valueOf(h) == "Re: 添付ファイル送付の件 (再送)");
}

TEST_CASE("encodeHeader: long values fold at 78 and decode back", "[unit]") {
  std::string jp;
  for (int i = 0; i < 40; ++i) jp += "羅生門の下で雨やみを待っていた。";
  std::string ascii;
  for (int i = 0; i < 40; ++i) ascii += "word" + std::to_string(i) + " ";
  ascii.pop_back();
  for (const std::string& v : {jp, ascii, "mixed " + jp + " and " + ascii}) {
    std::string h = encodeHeader("Subject", v);
    checkHeaderShape(h);
    CHECK(valueOf(h) == v);
  }
}

TEST_CASE("encodeHeader: address headers encode display names only", "[unit]") {
  std::string h = encodeHeader("From", "山田 太郎 <taro@example.jp>");
  checkHeaderShape(h);
  CHECK(h.find("<taro@example.jp>") != std::string::npos);
  CHECK(h.find("=?UTF-8?B?") < h.find("<taro@example.jp>"));
  CHECK(valueOf(h) == "山田 太郎 <taro@example.jp>");

  std::string list = encodeHeader("To",
                                  "\"Doe, John\" <john@example.com>, 鈴木 <suzuki@example.jp>,"
                                  " plain@example.org");
  checkHeaderShape(list);
  CHECK(list.find("\"Doe, John\" <john@example.com>,") != std::string::npos);
  CHECK(list.find("<suzuki@example.jp>,") != std::string::npos);
  CHECK(list.find("plain@example.org") != std::string::npos);
  CHECK(valueOf(list) ==
        "\"Doe, John\" <john@example.com>, 鈴木 <suzuki@example.jp>, "
        "plain@example.org");
  CHECK(encodeHeader("cc", "a@b, c@d") == "cc: a@b, c@d\r\n");
}

TEST_CASE("encodeHeader: no header injection", "[unit][adversarial]") {
  for (const char* evil : {"hi\r\nBcc: victim@example.com", "hi\nBcc: victim@example.com",
                           "hi\rBcc: x", "hi\r\n\r\n<html>body</html>", "a\0b\x1b[31m\x7f"}) {
    std::string v(evil, std::char_traits<char>::length(evil));
    for (const char* name : {"Subject", "From", "X-Custom"}) {
      std::string h = encodeHeader(name, v);
      INFO(name << ": " << h);
      checkHeaderShape(h);
      auto r = parseWith(h + "\r\nbody");
      CHECK(r.root.headers.size() == 1);
      CHECK(r.root.body == "body");
    }
  }
  std::string named = encodeHeader("Subject:\r\nBcc", "x");
  CHECK(named.find('\n') == named.size() - 1);
  // A literal encoded word in the value is itself encoded, so readers do not decode it twice.
  CHECK(valueOf(encodeHeader("Subject", "=?UTF-8?B?5pel?=")) == "=?UTF-8?B?5pel?=");
  // C1 controls are removed as well.
  CHECK(valueOf(encodeHeader("Subject",
                             "a\xc2\x85"
                             "b")) == "ab");
}

namespace {

BuildPart leaf(std::string type, std::string data, std::string filename = "",
               std::string disposition = "") {
  BuildPart p;
  p.mime_type = std::move(type);
  p.data = std::move(data);
  p.filename = std::move(filename);
  p.disposition = std::move(disposition);
  return p;
}

void checkSevenBitCrlf(const std::string& msg) {
  std::size_t start = 0;
  while (start < msg.size()) {
    std::size_t end = msg.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 998);
    start = end + 2;
  }
  for (std::size_t i = 0; i < msg.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(msg[i]);
    CHECK(c < 0x80);
    CHECK(c != 0);
    if (c == '\n') CHECK((i > 0 && msg[i - 1] == '\r'));
  }
}

/// Compares a parsed entity with what was written.
void checkSame(const Entity& e, const BuildPart& p) {
  INFO("path " << e.path);
  CHECK(e.mimeType() == p.mime_type);
  CHECK(e.filename == p.filename);
  CHECK(e.disposition == p.disposition);
  CHECK(e.defects == kDefectNone);
  if (e.isMessage()) {
    auto inner = parseWith(p.data);
    REQUIRE(e.children.size() == 1);
    CHECK(e.children[0].headers.size() == inner.root.headers.size());
    return;
  }
  REQUIRE(e.children.size() == p.children.size());
  if (!e.isMultipart()) CHECK(e.body == p.data);
  for (std::size_t i = 0; i < p.children.size(); ++i) checkSame(e.children[i], p.children[i]);
}

}  // namespace

TEST_CASE("write: parse(write(x)) gives back structure, texts and bytes", "[unit]") {
  std::string binary;
  for (int i = 0; i < 3000; ++i) binary.push_back(static_cast<char>((i * 7919) & 0xff));
  BuildPart inner_msg = leaf("text/plain", "inner text\r\n");
  std::string serialized = write({{"Subject", "内側"}}, inner_msg);

  BuildPart alt;
  alt.mime_type = "multipart/alternative";
  alt.children = {leaf("text/plain", "日本語の本文です。\r\n二行目。\r\n"),
                  leaf("text/html", "<p>" + std::string(1200, 'h') + "</p>")};
  BuildPart root;
  root.mime_type = "multipart/mixed";
  root.children = {alt, leaf("application/pdf", binary, "報告書（令和6年度）.pdf", "attachment"),
                   leaf("text/plain", "ascii only\r\n--not a boundary\r\n", "note.txt", "inline"),
                   leaf("application/octet-stream", "", "empty.bin", "attachment"),
                   leaf("message/rfc822", serialized)};
  std::vector<HeaderField> headers = {{"From", "山田 太郎 <taro@example.jp>"},
                                      {"To", "info@example.lg.jp"},
                                      {"Subject", "添付ファイル送付の件"},
                                      {"Content-Type", "text/evil"}};
  std::string out = write(headers, root);
  checkSevenBitCrlf(out);
  auto r = parseWith(out);
  REQUIRE_FALSE(r.failure);
  checkSame(r.root, root);
  CHECK(decodeHeaderText(*r.root.header("Subject")) == "添付ファイル送付の件");
  CHECK(decodeHeaderText(*r.root.header("From")) == "山田 太郎 <taro@example.jp>");
  CHECK(r.root.children[4].children[0].body == "inner text\r\n");
  int content_types = 0;
  for (const auto& h : r.root.headers) content_types += h.name == "Content-Type" ? 1 : 0;
  CHECK(content_types == 1);  // the caller's Content-Type was not copied
}

TEST_CASE("write: single-part messages and encodings", "[unit]") {
  SECTION("ASCII text with short lines is 7bit") {
    std::string out = write({{"Subject", "x"}}, leaf("text/plain", "hello\r\n"));
    CHECK(out.find("Content-Transfer-Encoding: 7bit") != std::string::npos);
    CHECK(parseWith(out).root.body == "hello\r\n");
  }
  SECTION("text without a final line break round-trips") {
    std::string out = write({}, leaf("text/plain", "no newline"));
    checkSevenBitCrlf(out);
    CHECK(parseWith(out).root.body == "no newline");
  }
  SECTION("long ASCII lines use quoted-printable") {
    std::string text(5000, 'a');
    std::string out = write({}, leaf("text/plain", text));
    checkSevenBitCrlf(out);
    CHECK(out.find("quoted-printable") != std::string::npos);
    CHECK(parseWith(out).root.body == text);
  }
  SECTION("a part whose text holds the boundary prefix gets another boundary") {
    BuildPart root;
    root.mime_type = "multipart/mixed";
    root.children = {leaf("text/plain", "--=_mugai_\r\n")};
    auto r = parseWith(write({}, root));
    REQUIRE(r.root.children.size() == 1);
    CHECK(r.root.children[0].body == "--=_mugai_\r\n");
  }
  SECTION("an invalid MIME type becomes application/octet-stream") {
    auto r = parseWith(write({}, leaf("text/plain\r\nX-Evil: 1", "x")));
    CHECK(r.root.mimeType() == "application/octet-stream");
    CHECK(r.root.header("X-Evil") == nullptr);
  }
}

// Fuzzing finding (tests/fuzz-regressions/header_decode): an address (in <...> or a bare addr-spec)
// with stray 8-bit bytes came back from decodeAddressHeader() as it was, so encodeHeader() got
// bytes that are not UTF-8 and wrote them as a UTF-8 encoded word. Now the result is UTF-8.
TEST_CASE("decodeAddressHeader: stray 8-bit bytes in addresses come back as U+FFFD", "[unit][adversarial]") {
  const std::string rep = "\xEF\xBF\xBD";
  CHECK(decodeAddressHeader("a\xF0@example.jp") == "a" + rep + "@example.jp");
  CHECK(decodeAddressHeader("Name <b\xFF\xFE@example.jp>") == "\"Name\" <b" + rep + rep + "@example.jp>");
  CHECK(decodeAddressHeader("x <c@ex\xE3\x81>, d@example.jp") == "\"x\" <c@ex" + rep + ">, d@example.jp");
  // Valid UTF-8 addresses (SMTPUTF8) are kept as they are.
  CHECK(decodeAddressHeader("\xE5\xB1\xB1\xE7\x94\xB0@example.jp") == "\xE5\xB1\xB1\xE7\x94\xB0@example.jp");
  const char kFuzz[] = "`\0=\xF0\0s\0\0\0?EUC-J59-1?nQ?dAr=E9?= Pirard <PIRARD@vm0.ulg.P?B?zeXAuMzn?=";
  std::string fuzz(kFuzz, sizeof kFuzz - 1);
  std::string decoded = decodeAddressHeader(fuzz);
  CHECK(text::isValidUtf8(decoded));
  std::string encoded = encodeHeader("From", decoded);
  for (unsigned char c : encoded) CHECK(c < 0x80);
}
