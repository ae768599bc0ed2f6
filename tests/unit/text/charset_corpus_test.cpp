// Third-party Japanese corpora: legacy encodings must decode byte-for-byte to the UTF-8 reference.
#include <string>

#include "mugai/text/charset.h"
#include "support/test_support.h"

namespace {

using mugai::text::toUtf8;

struct Case {
  const char* file;
  const char* reference;
  const char* label;
  const char* charset;  // expected DecodeResult::charset
};

void checkExact(const std::filesystem::path& dir, const Case& c) {
  INFO(c.file << " declared " << c.label);
  const std::string bytes = mugai::test::readFile(dir / c.file);
  const std::string expected = mugai::test::readFile(dir / c.reference);
  REQUIRE_FALSE(bytes.empty());
  const auto r = toUtf8(bytes, c.label);
  CHECK(r.invalid == 0);
  CHECK_FALSE(r.guessed);
  CHECK(r.charset == c.charset);
  CHECK(r.utf8 == expected);
  CHECK(mugai::text::isValidUtf8(r.utf8));

  // Undeclared, the same bytes must be detected as the same charset and decode identically.
  const auto guessed = toUtf8(bytes, "");
  CHECK(guessed.utf8 == expected);
  CHECK(guessed.invalid == 0);
  CHECK(guessed.guessed);
}

}  // namespace

TEST_CASE("cpython cjkencodings: Shift_JIS, EUC-JP, ISO-2022-JP decode byte-for-byte",
          "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  const auto dir = *corpus / "japanese" / "cpython-cjkencodings";
  checkExact(dir, {"shift_jis.txt", "shift_jis-utf8.txt", "Shift_JIS", "CP932"});
  checkExact(dir, {"euc_jp.txt", "euc_jp-utf8.txt", "EUC-JP", "EUC-JP"});
  checkExact(dir, {"iso2022_jp.txt", "iso2022_jp-utf8.txt", "ISO-2022-JP", "ISO-2022-JP"});
}

TEST_CASE("x/text rashomon: EUC-JP, ISO-2022-JP, Shift_JIS equal the UTF-8 text", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  const auto dir = *corpus / "japanese" / "x-text";
  checkExact(dir, {"rashomon-euc-jp.txt", "rashomon-utf-8.txt", "euc-jp", "EUC-JP"});
  checkExact(dir, {"rashomon-iso-2022-jp.txt", "rashomon-utf-8.txt", "iso-2022-jp", "ISO-2022-JP"});
  checkExact(dir, {"rashomon-shift-jis.txt", "rashomon-utf-8.txt", "shift-jis", "CP932"});
}
