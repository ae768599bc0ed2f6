// Issue 10, class 8: structure that the parser would read differently from the recipient's
// client is refused (parse.ambiguous), never guessed and never "clean". Each sample of the red
// team with variants; and the unambiguous neighbours of each still parse.
#include <catch2/catch.hpp>

#include "mime_test_util.h"

using namespace mugai;
using mugai::mime::test::parseWith;

namespace {

const std::string kPe = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==";

std::string mixed(const std::string& part_headers, const std::string& body = kPe) {
  return "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n" + part_headers + "\r\n" + body +
         "\r\n--b--\r\n";
}

void requireAmbiguous(const std::string& raw, const std::string& says) {
  auto r = parseWith(raw);
  INFO(raw);
  REQUIRE(r.failure == Reason::ParseAmbiguous);
  CHECK(r.detail.find(says) != std::string::npos);
}

}  // namespace

TEST_CASE("ambiguity: two Content-Transfer-Encoding headers", "[mime][ambiguity]") {
  // The red team's sample: the first said 7bit, so the base64 PE arrived as clean body text.
  requireAmbiguous(mixed("Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n"
                         "Content-Transfer-Encoding: base64\r\n"), "two Content-Transfer-Encoding");
  // Variants: other case and comments, on the top-level entity, and quoted-printable vs base64.
  requireAmbiguous(mixed("content-transfer-encoding: base64\r\nCONTENT-TRANSFER-ENCODING: 8bit (x)\r\n"),
                   "two Content-Transfer-Encoding");
  requireAmbiguous("From: a@example.com\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n" + kPe + "\r\n", "the message");
  // The same value twice is not ambiguous.
  auto same = parseWith(mixed("Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: BASE64\r\n"));
  CHECK_FALSE(same.failure);
}

TEST_CASE("ambiguity: duplicate Content-Type, Content-Disposition and parameters", "[mime][ambiguity]") {
  requireAmbiguous(mixed("Content-Type: text/plain\r\nContent-Type: application/x-msdownload\r\n"
                         "Content-Transfer-Encoding: base64\r\n"), "two Content-Type");
  requireAmbiguous(mixed("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.txt\r\n"
                         "Content-Disposition: attachment; filename=run.exe\r\nContent-Transfer-Encoding: base64\r\n"),
                   "different file names");
  // Lotus Notes writes "inline" and then "attachment; filename=...": repaired to the attachment
  // reading (the one that meets the whole attachment policy), with a defect in the report.
  auto notes = parseWith(mixed("Content-Type: text/plain; name=t.txt\r\nContent-Disposition: inline\r\n"
                               "Content-Disposition: attachment; filename=\"t.txt\"\r\n", "text"));
  REQUIRE_FALSE(notes.failure);
  const mime::Entity* part = mime::test::findPath(notes.root, "2");
  REQUIRE(part);
  CHECK(part->disposition == "attachment");
  CHECK(part->filename == "t.txt");
  CHECK((part->defects & mime::kDefectRepairedAmbiguity) != 0);
  requireAmbiguous(mixed("Content-Type: application/octet-stream; name=a.txt; name=a.exe\r\n"
                         "Content-Transfer-Encoding: base64\r\n"), "parameter 'name'");
  requireAmbiguous("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x; boundary=y\r\n\r\n"
                   "--x\r\n\r\na\r\n--x--\r\n", "parameter 'boundary'");
  requireAmbiguous("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x; boundary*0=y\r\n\r\n"
                   "--x\r\n\r\na\r\n--x--\r\n", "parameter 'boundary'");
  auto same = parseWith(mixed("Content-Type: text/plain\r\ncontent-type: TEXT/PLAIN\r\n", "hi"));
  CHECK_FALSE(same.failure);
}

TEST_CASE("ambiguity: a boundary with white space at either end", "[mime][ambiguity]") {
  std::string body = "\r\n--b \r\nContent-Type: text/plain\r\n\r\nhidden\r\n--b --\r\n";
  requireAmbiguous("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b \"\r\n" + body,
                   "white space");
  requireAmbiguous("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b\t\"\r\n" + body,
                   "white space");
  requireAmbiguous("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\" b\"\r\n" + body,
                   "white space");
  // A space inside a boundary is allowed (RFC 2046 bchars) and unambiguous.
  auto inner = parseWith("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"a b\"\r\n\r\n"
                         "--a b\r\nContent-Type: text/plain\r\n\r\nx\r\n--a b--\r\n");
  CHECK_FALSE(inner.failure);
  CHECK(inner.root.children.size() == 1);
}

TEST_CASE("ambiguity: an invalid header name that ends the header block before MIME headers", "[mime][ambiguity]") {
  // The red team's sample: one 8-bit header name; we ended the headers there and the whole MIME
  // source became one clean text body, while clients read on.
  std::string rest = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                     "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                     kPe + "\r\n--b--\r\n";
  requireAmbiguous("From: a@example.com\r\nX-T\xc3\xa9st: 1\r\n" + rest, "not valid");
  // Variants: a control byte, a space inside the name, and inside a part's header block.
  requireAmbiguous("From: a@example.com\r\nX-\x01" "Bad: 1\r\n" + rest, "not valid");
  requireAmbiguous("From: a@example.com\r\nX Bad: 1\r\n" + rest, "not valid");
  requireAmbiguous(mixed("X-\xff: y\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"),
                   "part 2");
  // A body that starts without the empty line and has no MIME header after it: text, as before.
  auto plain = parseWith("From: a@example.com\r\nDear Sir: the meeting\r\nis at ten.\r\n");
  CHECK_FALSE(plain.failure);
  CHECK(plain.root.body.find("Dear Sir") != std::string::npos);
  // MIME-looking text after the empty line is body for every reader.
  auto body = parseWith("From: a@example.com\r\nX-\xe9: 1\r\n\r\nContent-Type: text/html\r\n");
  CHECK_FALSE(body.failure);
}
