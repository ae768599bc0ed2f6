// Third-party Japanese corpora: legacy encodings must decode byte-for-byte to the UTF-8 reference.
#include <string>
#include <vector>

#include "mugai/text/charset.h"
#include "support/test_support.h"

namespace {

using mugai::text::toUtf8;

struct Case {
  const char* file;
  const char* reference;
  const char* label;
  const char* charset;  // expected DecodeResult::charset
  bool detectable = true;  // detection only knows CP932/EUC-JP/ISO-2022-JP, not JIS X 0213
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

  if (!c.detectable) return;
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

namespace {

std::u32string codePoints(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

/// Positions where `got` and `want` differ (same length required by the caller).
std::vector<std::size_t> differences(const std::u32string& got, const std::u32string& want) {
  std::vector<std::size_t> d;
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] != want[i]) d.push_back(i);
  }
  return d;
}

}  // namespace

// JIS X 0213 (Shift_JIS-2004 / EUC-JIS-2004) text. Under its own label it must be exact. Under a
// plain "Shift_JIS" / "EUC-JP" label (a common mislabel) codes that CP932 / eucJP-ms reject are
// retried as JIS X 0213, so nearly everything survives; what cannot survive are the codes both
// standards assign differently: the last line of these files uses plane-1 rows 85-94 and plane 2,
// which are IBM extensions in CP932 and user-defined (PUA) in eucJP-ms. We assert exactly that.
TEST_CASE("cpython cjkencodings: JIS X 0213 variants", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  const auto dir = *corpus / "japanese" / "cpython-cjkencodings";
  checkExact(dir, {"shift_jisx0213.txt", "shift_jisx0213-utf8.txt", "Shift_JISX0213",
                   "Shift_JISX0213", false});
  checkExact(dir, {"euc_jisx0213.txt", "euc_jisx0213-utf8.txt", "EUC-JIS-2004", "EUC-JISX0213",
                   false});

  SECTION("labelled Shift_JIS") {
    const std::string want = mugai::test::readFile(dir / "shift_jisx0213-utf8.txt");
    const auto r = toUtf8(mugai::test::readFile(dir / "shift_jisx0213.txt"), "Shift_JIS");
    CHECK(r.charset == "CP932");
    CHECK(r.invalid == 0);
    const auto got_cp = codePoints(r.utf8), want_cp = codePoints(want);
    REQUIRE(got_cp.size() == want_cp.size());
    const auto diff = differences(got_cp, want_cp);
    CHECK(diff.size() == 1);  // FC5A: CP932 IBM extension U+92D5 vs JIS X 0213 U+296F0
    const std::size_t last_line = want.rfind('\n', want.size() - 2);
    CHECK(r.utf8.substr(0, last_line) == want.substr(0, last_line));
    for (std::size_t i : diff) CHECK(want_cp[i] != U'\uFFFD');
  }
  SECTION("labelled EUC-JP") {
    const std::string want = mugai::test::readFile(dir / "euc_jisx0213-utf8.txt");
    const auto r = toUtf8(mugai::test::readFile(dir / "euc_jisx0213.txt"), "EUC-JP");
    CHECK(r.charset == "EUC-JP");
    CHECK(r.invalid == 0);
    const auto got_cp = codePoints(r.utf8), want_cp = codePoints(want);
    REQUIRE(got_cp.size() == want_cp.size());
    const auto diff = differences(got_cp, want_cp);
    CHECK(diff.size() <= 4);
    const std::size_t last_line = want.rfind('\n', want.size() - 2);
    CHECK(r.utf8.substr(0, last_line) == want.substr(0, last_line));
    for (std::size_t i : diff) {
      INFO("position " << i);
      CHECK((got_cp[i] >= 0xE000 && got_cp[i] <= 0xF8FF));  // eucJP-ms user-defined area
    }
  }
}

// Mail built from the rashomon text: an 8-bit Shift_JIS body with no MIME headers at all (the
// MIME layer hands the body over undeclared, or as the RFC 2045 default "us-ascii").
TEST_CASE("derived mail: undeclared 8-bit Shift_JIS body is detected", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  const auto dir = *corpus / "japanese" / "derived-mail";
  const std::string eml = mugai::test::readFile(dir / "rashomon-sjis-8bit-nomime.eml");
  const std::string json = mugai::test::readFile(dir / "rashomon-sjis-8bit-nomime.expected.json");
  const std::size_t sep = eml.find("\r\n\r\n");
  REQUIRE(sep != std::string::npos);
  std::string body = eml.substr(sep + 4);

  // body_utf8 from the JSON (only \n and \" escapes occur in it).
  const std::string key = "\"body_utf8\": \"";
  const std::size_t start = json.find(key);
  REQUIRE(start != std::string::npos);
  std::string expected;
  for (std::size_t i = start + key.size(); i < json.size() && json[i] != '"'; ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      ++i;
      expected.push_back(json[i] == 'n' ? '\n' : json[i]);
    } else {
      expected.push_back(json[i]);
    }
  }
  REQUIRE(expected.size() > 100);

  for (const char* label : {"", "us-ascii"}) {
    INFO("label '" << label << "'");
    const auto r = toUtf8(body, label);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
    CHECK(r.invalid == 0);
    std::string text;
    for (const char c : r.utf8) {
      if (c != '\r') text.push_back(c);
    }
    CHECK(text.substr(0, expected.size()) == expected);
  }
}
