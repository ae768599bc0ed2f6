// Structure, paths, Content-Type parsing and recoverable defects of mime::parse().
#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/mime/mime_test_util.h"

using namespace mugai;
using namespace mugai::mime;
using mugai::mime::test::findPath;
using mugai::mime::test::parseWith;

TEST_CASE("parse: simple text message", "[unit]") {
  auto r = parseWith("Subject: hi\r\nFrom: a@b\r\n\r\nhello\r\nworld\r\n");
  REQUIRE_FALSE(r.failure);
  CHECK(r.root.mimeType() == "text/plain");
  CHECK(r.root.path.empty());
  CHECK(r.root.depth == 0);
  CHECK(r.root.body == "hello\r\nworld\r\n");
  REQUIRE(r.root.header("subject"));
  CHECK(*r.root.header("SUBJECT") == "hi");
  CHECK(r.root.defects == kDefectNone);
}

TEST_CASE("parse: nested multiparts and message/rfc822 get paths and depths", "[unit]") {
  std::string raw =
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "preamble is ignored\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
      "--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
      "--inner--\r\n"
      "--outer\r\n"
      "Content-Type: message/rfc822\r\n\r\n"
      "Subject: inner\r\nContent-Type: text/plain\r\n\r\nenclosed\r\n"
      "--outer--\r\n"
      "epilogue is ignored\r\n";
  auto r = parseWith(raw);
  REQUIRE_FALSE(r.failure);
  REQUIRE(r.root.children.size() == 2);
  const Entity* alt = findPath(r.root, "1");
  REQUIRE(alt);
  CHECK(alt->mimeType() == "multipart/alternative");
  CHECK(alt->depth == 1);
  REQUIRE(findPath(r.root, "1.2"));
  CHECK(findPath(r.root, "1.2")->body == "<p>html</p>");
  CHECK(findPath(r.root, "1.2")->depth == 2);
  const Entity* msg = findPath(r.root, "2");
  REQUIRE(msg);
  CHECK(msg->isMessage());
  REQUIRE(msg->children.size() == 1);
  const Entity& inner = msg->children[0];
  CHECK(inner.path == "2.1");
  CHECK(inner.depth == 2);
  CHECK(*inner.header("Subject") == "inner");
  CHECK(inner.body == "enclosed");
  CHECK(r.root.defects == kDefectNone);
}

TEST_CASE("parse: boundary matching per RFC 2046", "[unit]") {
  SECTION("transport padding after the delimiter, prefix boundaries do not match") {
    std::string raw =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b  \t\r\n\r\none\r\n--bb not a delimiter\r\n"
        "--b\r\n\r\ntwo\r\n--b--  \r\n";
    auto r = parseWith(raw);
    REQUIRE(r.root.children.size() == 2);
    CHECK(r.root.children[0].body == "one\r\n--bb not a delimiter");
    CHECK(r.root.children[1].body == "two");
  }
  SECTION("multipart/digest children default to message/rfc822") {
    std::string raw =
        "Content-Type: multipart/digest; boundary=d\r\n\r\n"
        "--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n"
        "--d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n--d--\r\n";
    auto r = parseWith(raw);
    REQUIRE(r.root.children.size() == 2);
    CHECK(r.root.children[0].mimeType() == "message/rfc822");
    REQUIRE(r.root.children[0].children.size() == 1);
    CHECK(r.root.children[0].children[0].path == "1.1");
    CHECK(r.root.children[0].children[0].body == "body one");
    CHECK(r.root.children[1].mimeType() == "text/plain");
  }
  SECTION("missing final boundary: the last part runs to the end") {
    auto r = parseWith(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
        "--b\r\n\r\nlast\r\n");
    REQUIRE_FALSE(r.failure);
    REQUIRE(r.root.children.size() == 2);
    CHECK(r.root.children[1].body == "last\r\n");
    CHECK((r.root.defects & kDefectMissingFinalBoundary));
  }
  SECTION("no boundary parameter: a text/plain leaf") {
    auto r = parseWith("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\ntext\r\n");
    CHECK((r.root.defects & kDefectNoBoundaryParam));
    CHECK(r.root.mimeType() == "text/plain");
    CHECK(r.root.children.empty());
    CHECK(r.root.body == "--x\r\n\r\ntext\r\n");
  }
  SECTION("start boundary not found") {
    auto r = parseWith("Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here\r\n");
    CHECK((r.root.defects & kDefectStartBoundaryNotFound));
    CHECK(r.root.children.empty());
    CHECK(r.root.body == "no parts here\r\n");
  }
}

TEST_CASE("parse: line endings, NULs and 8-bit headers are recorded", "[unit][adversarial]") {
  SECTION("bare LF") {
    auto r =
        parseWith("Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n");
    REQUIRE(r.root.children.size() == 1);
    CHECK(r.root.children[0].body == "one");
    CHECK((r.root.defects & kDefectBareNewline));
  }
  SECTION("bare CR") {
    auto r =
        parseWith("Subject: x\rContent-Type: multipart/mixed; boundary=b\r\r--b\r\rone\r--b--\r");
    REQUIRE(r.root.children.size() == 1);
    CHECK(r.root.children[0].body == "one");
    CHECK((r.root.defects & kDefectBareNewline));
  }
  SECTION("NUL bytes in header and body") {
    auto r = parseWith(std::string("Subject: a\0b\r\n\r\nbo\0dy", 21));
    CHECK((r.root.defects & kDefectNulBytes));
    CHECK(r.root.body == std::string("bo\0dy", 5));
  }
  SECTION("8-bit header") {
    auto r = parseWith("Subject: \x93\xfa\x96\x7b\x8c\xea\r\n\r\nx");
    CHECK((r.root.defects & kDefectEightBitHeader));
  }
}

TEST_CASE("parse: damaged header blocks", "[unit][adversarial]") {
  SECTION("folding is unfolded") {
    auto r = parseWith("Subject: one\r\n two\r\n\tthree\r\n\r\n");
    CHECK(*r.root.header("Subject") == "one two\tthree");
  }
  SECTION("first line is a continuation") {
    auto r = parseWith(" stray\r\nSubject: ok\r\n\r\nbody");
    CHECK((r.root.defects & kDefectFirstLineContinuation));
    CHECK(*r.root.header("Subject") == "ok");
    CHECK(r.root.body == "body");
  }
  SECTION("a line without a colon starts the body") {
    auto r = parseWith("Subject: ok\r\nthis is body text\r\nmore\r\n");
    CHECK((r.root.defects & kDefectHeaderSyntax));
    CHECK((r.root.defects & kDefectMissingHeaderBodySeparator));
    CHECK(r.root.body == "this is body text\r\nmore\r\n");
  }
  SECTION("an mbox From_ line is skipped") {
    auto r = parseWith("From someone Mon Jan  1 00:00:00 2024\r\nSubject: ok\r\n\r\nbody");
    CHECK(*r.root.header("Subject") == "ok");
    CHECK(r.root.body == "body");
  }
  SECTION("headers only, no separator") {
    auto r = parseWith("Subject: ok\r\nFrom: a@b");
    REQUIRE_FALSE(r.failure);
    CHECK(r.root.headers.size() == 2);
    CHECK(r.root.body.empty());
  }
  SECTION("empty input") {
    auto r = parseWith("");
    REQUIRE_FALSE(r.failure);
    CHECK(r.root.mimeType() == "text/plain");
  }
}

TEST_CASE("parse: Content-Type syntax", "[unit]") {
  SECTION("case, comments and quoted strings") {
    auto r = parseWith(
        "Content-Type: (comment) Text/HTML (more) ; CharSet=\"ISO-2022-JP\" (c);"
        " Name=\"a \\\"quoted\\\" ; name.txt\"\r\n\r\n");
    CHECK(r.root.mimeType() == "text/html");
    CHECK(r.root.charset == "iso-2022-jp");
    CHECK(r.root.params.at("name") == "a \"quoted\" ; name.txt");
    CHECK(r.root.filename == "a \"quoted\" ; name.txt");
  }
  SECTION("an unusable Content-Type falls back to text/plain") {
    auto r = parseWith("Content-Type: garbage\r\n\r\nx");
    CHECK(r.root.mimeType() == "text/plain");
    CHECK((r.root.defects & kDefectHeaderSyntax));
  }
  SECTION("transfer encoding and disposition are lower-cased") {
    auto r = parseWith(
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: BASE64 (x)\r\n"
        "Content-Disposition: ATTACHMENT; filename=\"a.bin\"\r\n\r\nAAEC\r\n");
    CHECK(r.root.transfer_encoding == "base64");
    CHECK(r.root.disposition == "attachment");
    CHECK(r.root.filename == "a.bin");
    CHECK(r.root.body == std::string("\0\1\2", 3));
  }
  SECTION("disposition filename wins over content-type name") {
    auto r = parseWith(
        "Content-Type: application/pdf; name=b.pdf\r\n"
        "Content-Disposition: attachment; filename=a.pdf\r\n\r\n");
    CHECK(r.root.filename == "a.pdf");
  }
}

TEST_CASE("parse: RFC 2231 and RFC 2047 file names", "[unit]") {
  SECTION("continuations out of order with charset and percent escapes") {
    auto r = parseWith(
        "Content-Type: application/pdf\r\nContent-Disposition: attachment;\r\n"
        " filename*1*=%E5%91%8A%E6%9B%B8.pdf;\r\n filename*0*=UTF-8'ja'%E5%A0%B1\r\n\r\n");
    CHECK(r.root.filename == "報告書.pdf");
  }
  SECTION("mixed encoded and plain sections") {
    auto r =
        parseWith("Content-Type: text/plain; name*0*=us-ascii''a%20b; name*1=\" c.txt\"\r\n\r\n");
    CHECK(r.root.filename == "a b c.txt");
  }
  SECTION("ISO-2022-JP in RFC 2231") {
    auto r = parseWith(
        "Content-Type: text/plain; name*=ISO-2022-JP''%1B%24BJs9p%3Dq%1B%28B.txt\r\n\r\n");
    CHECK(r.root.filename == "報告書.txt");
  }
  SECTION("RFC 2047 inside a quoted name (ISO-2022-JP)") {
    auto r = parseWith(
        "Content-Type: application/octet-stream;\r\n"
        " name=\"=?ISO-2022-JP?B?GyRCSnM5cD1xIUpOYU9CGyhCNhskQkcvRVkhSxsoQi50eHQ=?=\"\r\n\r\n");
    CHECK(r.root.filename == "報告書（令和6年度）.txt");
  }
  SECTION("RFC 2047 split over several words inside quotes") {
    auto r = parseWith(
        "Content-Disposition: attachment; filename=\"=?UTF-8?B?5aCx5ZGK?=\r\n"
        " =?UTF-8?B?5pu4LnBkZg==?=\"\r\n\r\n");
    CHECK(r.root.filename == "報告書.pdf");
  }
  SECTION("raw Shift_JIS file name is decoded by detection") {
    auto r = parseWith("Content-Type: text/plain; name=\"\x95\xf1\x8d\x90\x8f\x91.txt\"\r\n\r\n");
    CHECK(r.root.filename == "報告書.txt");
    CHECK((r.root.defects & kDefectEightBitHeader));
  }
  SECTION("the extended form wins over the plain one") {
    auto r = parseWith(
        "Content-Type: text/plain; name=\"fallback.txt\"; name*=UTF-8''%E5%A0%B1.txt\r\n\r\n");
    CHECK(r.root.filename == "報.txt");
  }
}

TEST_CASE("parse: transfer encodings and their defects", "[unit][adversarial]") {
  SECTION("broken base64 is decoded leniently and flagged") {
    auto r = parseWith("Content-Transfer-Encoding: base64\r\n\r\naGVs!!bG8=\r\ngarbage\r\n");
    CHECK((r.root.defects & kDefectBadBase64));
    CHECK(r.root.body.substr(0, 5) == "hello");
  }
  SECTION("good base64 with whitespace is clean") {
    auto r = parseWith("Content-Transfer-Encoding: base64\r\n\r\naGVs\r\n bG8=\r\n");
    CHECK(r.root.defects == kDefectNone);
    CHECK(r.root.body == "hello");
  }
  SECTION("broken quoted-printable") {
    auto r = parseWith("Content-Transfer-Encoding: quoted-printable\r\n\r\na=ZZb=3D=\r\nc");
    CHECK((r.root.defects & kDefectBadQuotedPrintable));
    CHECK(r.root.body == "a=ZZb=c");
  }
  SECTION("unknown encodings keep the body raw") {
    for (const char* cte : {"base9000", "hexa", "x-uuencode"}) {
      auto r = parseWith(std::string("Content-Transfer-Encoding: ") + cte + "\r\n\r\nraw =41 data");
      CHECK((r.root.defects & kDefectUnknownEncoding));
      CHECK(r.root.body == "raw =41 data");
    }
  }
  SECTION("base64-encoded message/rfc822 is decoded and recursed into") {
    auto r = parseWith(
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "U3ViamVjdDogaW5uZXINCg0KYm9keQ==\r\n");
    REQUIRE(r.root.children.size() == 1);
    CHECK(*r.root.children[0].header("Subject") == "inner");
    CHECK(r.root.children[0].body == "body");
  }
}

TEST_CASE("parse: encrypted and signed content is flagged", "[unit]") {
  for (const char* type : {"multipart/encrypted; boundary=x", "application/pkcs7-mime",
                           "application/pgp-encrypted", "multipart/signed; boundary=x"}) {
    auto r = parseWith(std::string("Content-Type: ") + type + "\r\n\r\n--x\r\n\r\na\r\n--x--\r\n");
    INFO(type);
    CHECK((r.root.defects & kDefectEncryptedOrSigned));
  }
  auto plain = parseWith("Content-Type: application/pdf\r\n\r\nx");
  CHECK_FALSE((plain.root.defects & kDefectEncryptedOrSigned));
}

TEST_CASE("parse: lenient Content-Type forms seen in the wild", "[unit][adversarial]") {
  SECTION("missing ';' before a parameter") {
    auto r = parseWith("Content-Type: application/pdf name=\"invoice.pdf\"\r\n\r\n");
    CHECK(r.root.mimeType() == "application/pdf");
    CHECK(r.root.filename == "invoice.pdf");
    CHECK((r.root.defects & kDefectHeaderSyntax));
  }
  SECTION("quoted media type") {
    auto r = parseWith("Content-Type: \"Application/PDF\"; name=\"a.pdf\"\r\n\r\n");
    CHECK(r.root.mimeType() == "application/pdf");
    CHECK(r.root.filename == "a.pdf");
  }
  SECTION("unterminated quote and empty parameter names make progress") {
    auto r = parseWith("Content-Type: text/plain; =x; ==; name=\"open.txt\r\n\r\nbody");
    CHECK(r.root.mimeType() == "text/plain");
    CHECK(r.root.filename == "open.txt");
    CHECK((r.root.defects & kDefectHeaderSyntax));
    CHECK(r.root.body == "body");
  }
  SECTION("comments around the slash") {
    auto r = parseWith("Content-Type: text (c) / (d) html\r\n\r\n");
    CHECK(r.root.mimeType() == "text/html");
  }
}
