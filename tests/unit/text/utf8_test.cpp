// isValidUtf8 / sanitizeUtf8: RFC 3629 strictness and maximal-subpart replacement.
#include <string>

#include "mugai/text/charset.h"
#include "support/test_support.h"

using mugai::text::isValidUtf8;
using mugai::text::sanitizeUtf8;

TEST_CASE("isValidUtf8 accepts well-formed UTF-8", "[unit]") {
  CHECK(isValidUtf8(""));
  CHECK(isValidUtf8("plain ascii, long enough to use the word-at-a-time path"));
  CHECK(isValidUtf8("\xC2\x80"));                 // U+0080
  CHECK(isValidUtf8("\xDF\xBF"));                 // U+07FF
  CHECK(isValidUtf8("\xE0\xA0\x80"));             // U+0800
  CHECK(isValidUtf8("\xED\x9F\xBF"));             // U+D7FF
  CHECK(isValidUtf8("\xEE\x80\x80"));             // U+E000
  CHECK(isValidUtf8("\xEF\xBF\xBD"));             // U+FFFD
  CHECK(isValidUtf8("\xF0\x90\x80\x80"));         // U+10000
  CHECK(isValidUtf8("\xF4\x8F\xBF\xBF"));         // U+10FFFF
  CHECK(isValidUtf8("日本語の①㈱№Ⅲ髙﨑～"));
  CHECK(isValidUtf8(std::string("a\0b", 3)));     // NUL is a valid code point
}

TEST_CASE("isValidUtf8 rejects overlongs, surrogates, out-of-range and truncation", "[unit]") {
  CHECK_FALSE(isValidUtf8("\xC0\xAF"));           // overlong '/'
  CHECK_FALSE(isValidUtf8("\xC1\xBF"));
  CHECK_FALSE(isValidUtf8("\xE0\x80\xAF"));       // overlong 3-byte
  CHECK_FALSE(isValidUtf8("\xE0\x9F\xBF"));
  CHECK_FALSE(isValidUtf8("\xF0\x80\x80\xAF"));   // overlong 4-byte
  CHECK_FALSE(isValidUtf8("\xF0\x8F\xBF\xBF"));
  CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));       // U+D800
  CHECK_FALSE(isValidUtf8("\xED\xBF\xBF"));       // U+DFFF
  CHECK_FALSE(isValidUtf8("\xF4\x90\x80\x80"));   // U+110000
  CHECK_FALSE(isValidUtf8("\xF5\x80\x80\x80"));
  CHECK_FALSE(isValidUtf8("\xFF"));
  CHECK_FALSE(isValidUtf8("\x80"));               // lone continuation
  CHECK_FALSE(isValidUtf8("abc\xE3\x81"));        // truncated at the end
  CHECK_FALSE(isValidUtf8("\xE3\x81" "abc"));     // truncated in the middle
  CHECK_FALSE(isValidUtf8("0123456789abcdef\xFE" "0123456789abcdef"));
}

TEST_CASE("sanitizeUtf8 replaces each maximal invalid subpart with one U+FFFD", "[unit]") {
  std::size_t n = 99;
  CHECK(sanitizeUtf8("clean ①", &n) == "clean ①");
  CHECK(n == 0);

  CHECK(sanitizeUtf8("a\xFF" "b", &n) == "a\uFFFD" "b");
  CHECK(n == 1);

  // Truncated 3-byte sequence followed by ASCII: one replacement, ASCII kept.
  CHECK(sanitizeUtf8("\xE3\x81" "A", &n) == "\uFFFD" "A");
  CHECK(n == 1);

  // Surrogate: ED is a lead but A0 is not a valid second byte after it -> ED, A0, 80 each bad.
  CHECK(sanitizeUtf8("\xED\xA0\x80", &n) == "\uFFFD\uFFFD\uFFFD");
  CHECK(n == 3);

  // Overlong C0 AF: two bad bytes.
  CHECK(sanitizeUtf8("\xC0\xAF", &n) == "\uFFFD\uFFFD");
  CHECK(n == 2);

  // Unicode's own example (Table 3-8): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  CHECK(sanitizeUtf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", &n) ==
        "a\uFFFD\uFFFD\uFFFD" "b\uFFFD" "c\uFFFD\uFFFD" "d");
  CHECK(n == 6);

  // Null pointer for the count is allowed.
  CHECK(sanitizeUtf8("\x80") == "\uFFFD");
}

TEST_CASE("sanitizeUtf8 output is always valid and linear in size", "[unit]") {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
  std::size_t n = 0;
  const std::string out = sanitizeUtf8(junk, &n);
  CHECK(isValidUtf8(out));
  CHECK(n > 0);
  CHECK(out.size() <= junk.size() * 3);
}

TEST_CASE("logEscape shows controls, CR/LF, bidi and invalid bytes, keeps printable UTF-8",
          "[unit]") {
  using mugai::text::logEscape;
  CHECK(logEscape("a@example.com") == "a@example.com");
  CHECK(logEscape("日本語 ok") == "日本語 ok");
  CHECK(logEscape("x\r\nmugai: id=forged") == "x<U+000D><U+000A>mugai: id=forged");
  CHECK(logEscape("tab\there\x7f") == "tab<U+0009>here<U+007F>");
  CHECK(logEscape("evil\xE2\x80\xAEgpj.exe") == "evil<U+202E>gpj.exe");  // RIGHT-TO-LEFT OVERRIDE
  CHECK(logEscape("\xE2\x81\xA6x\xE2\x81\xA9") == "<U+2066>x<U+2069>");  // isolates
  CHECK(logEscape("\xEF\xBB\xBF\xE2\x80\x8B") == "<U+FEFF><U+200B>");    // BOM, zero width space
  CHECK(logEscape("\xC2\x85") == "<U+0085>");                            // C1 NEL
  CHECK(logEscape("bad\xFF\xC3") == "bad<0xFF><0xC3>");
  CHECK(logEscape("abcdef", 3) == "abc...");
  CHECK(logEscape("ab日本", 4) == "ab...");  // never cuts inside a character
}
