// base64 and quoted-printable, both directions.
#include <catch2/catch.hpp>
#include <string>

#include "mugai/mime/mime.h"

using namespace mugai::mime;

namespace {

std::string allBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

}  // namespace

TEST_CASE("base64: exact consumption", "[unit]") {
  std::string out;
  CHECK(decodeBase64("aGVsbG8=", out));
  CHECK(out == "hello");
  out.clear();
  CHECK(decodeBase64(" aGVs\r\nbG8h\r\n", out));
  CHECK(out == "hello!");
  out.clear();
  CHECK(decodeBase64("", out));
  CHECK(out.empty());
}

TEST_CASE("base64: damage is reported and decoded leniently", "[unit][adversarial]") {
  struct Case {
    const char* in;
    const char* lenient;
  };
  auto c = GENERATE(Case{"aGVs*bG8=", "hello"},        // bad character
                    Case{"aGVsbG8", "hello"},          // missing padding
                    Case{"aGVsbG8=garbage", "hello"},  // data after padding
                    Case{"aGVsbG8===", "hello"},       // too much padding
                    Case{"=aGVs", "hel"},              // padding first
                    Case{"aGVsb", "hel"});             // one stray sextet
  std::string out;
  INFO(c.in);
  CHECK_FALSE(decodeBase64(c.in, out));
  CHECK(out.substr(0, std::string(c.lenient).size()) == c.lenient);
}

TEST_CASE("base64: encode round trip and line length", "[unit]") {
  std::string data = allBytes() + allBytes();
  std::string enc = encodeBase64(data);
  std::size_t start = 0;
  while (start < enc.size()) {
    std::size_t end = enc.find("\r\n", start);
    if (end == std::string::npos) end = enc.size();
    CHECK(end - start <= 76);
    start = end + 2;
  }
  std::string dec;
  CHECK(decodeBase64(enc, dec));
  CHECK(dec == data);
  CHECK(encodeBase64("hello", 0) == "aGVsbG8=");
  CHECK(encodeBase64("") == "");
}

TEST_CASE("quoted-printable: decoding", "[unit]") {
  std::string out;
  CHECK(decodeQuotedPrintable("caf=C3=A9 =\r\nsoft\r\nhard  \r\nend=3d", out));
  CHECK(out == "café soft\r\nhard\r\nend=");
  out.clear();
  CHECK(decodeQuotedPrintable("a=  \r\nb=\nc", out));  // soft breaks with padding, bare LF
  CHECK(out == "abc");
}

TEST_CASE("quoted-printable: damage is reported", "[unit][adversarial]") {
  std::string out;
  CHECK_FALSE(decodeQuotedPrintable("a=G1b=", out));
  CHECK(out == "a=G1b");
  out.clear();
  CHECK_FALSE(decodeQuotedPrintable("x=4", out));
  CHECK(out == "x=4");
}

TEST_CASE("quoted-printable: encoding is 7-bit, short-lined and reversible", "[unit]") {
  std::string text = "日本語のテキスト " + std::string(200, 'x') +
                     " tail \r\n.leading dot\r\n"
                     "From the start\r\ntrailing space \r\n=equals\tand tab\t";
  std::string enc = encodeQuotedPrintable(text);
  for (unsigned char c : enc) CHECK(c < 0x80);
  std::size_t start = 0;
  while (start < enc.size()) {
    std::size_t end = enc.find("\r\n", start);
    if (end == std::string::npos) end = enc.size();
    CHECK(end - start <= 76);
    CHECK(enc.compare(start, 1, ".") != 0);
    CHECK(enc.compare(start, 5, "From ") != 0);
    start = end + 2;
  }
  std::string dec;
  CHECK(decodeQuotedPrintable(enc, dec));
  CHECK(dec == text);
  std::string lf;
  CHECK(decodeQuotedPrintable(encodeQuotedPrintable("a\nb\rc"), lf));
  CHECK(lf == "a\r\nb\r\nc");  // text line breaks are canonical CRLF
}
