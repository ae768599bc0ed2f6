// toUtf8 / canonicalCharset / detectCharset: known answers built by hand, lying labels, hostile
// input. Byte strings are written out in hex so the tests do not depend on the decoder's tables.
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mugai/text/charset.h"
#include "support/test_support.h"

using mugai::text::canonicalCharset;
using mugai::text::detectCharset;
using mugai::text::isValidUtf8;
using mugai::text::toUtf8;

namespace {

// ①㈱№Ⅲ∑髙﨑～ｱｲｳ日本語テスト in CP932 (髙 via its NEC-selected IBM code EEE0, 﨑 ED95).
const std::string kCp932 =
    "\x87\x40\x87\x8A\x87\x82\x87\x56\x87\x94\xEE\xE0\xED\x95\x81\x60\xB1\xB2\xB3"
    "\x93\xFA\x96\x7B\x8C\xEA\x83\x65\x83\x58\x83\x67";
const std::string kUtf8 = "①㈱№Ⅲ∑髙﨑～ｱｲｳ日本語テスト";

// The same text as ISO-2022-JP-MS (CP50220 with ESC ( I for half-width katakana).
const std::string kIso2022Jp =
    "\x1B$B\x2D\x21\x2D\x6A\x2D\x62\x2D\x37\x2D\x74\x7C\x62\x79\x75\x21\x41"
    "\x1B(I\x31\x32\x33"
    "\x1B$B\x46\x7C\x4B\x5C\x38\x6C\x25\x46\x25\x39\x25\x48\x1B(B";

// The same text as EUC-JP in CP51932 (NEC row 13 at ADxx, NEC-selected IBM at F9-FC).
const std::string kEucJp =
    "\xAD\xA1\xAD\xEA\xAD\xE2\xAD\xB7\xAD\xF4\xFC\xE2\xF9\xF5\xA1\xC1\x8E\xB1\x8E\xB2\x8E\xB3"
    "\xC6\xFC\xCB\xDC\xB8\xEC\xA5\xC6\xA5\xB9\xA5\xC8";

// A real Japanese sentence (kana and kanji) in each encoding, for the lying-label tests.
const std::string kSentenceUtf8 = "お世話になっております。会議の資料を送ります。";
const std::string kSentenceSjis =
    "\x82\xA8\x90\xA2\x98\x62\x82\xC9\x82\xC8\x82\xC1\x82\xC4\x82\xA8\x82\xE8\x82\xDC\x82\xB7"
    "\x81\x42\x89\xEF\x8B\x63\x82\xCC\x8E\x91\x97\xBF\x82\xF0\x91\x97\x82\xE8\x82\xDC\x82\xB7"
    "\x81\x42";
const std::string kSentenceEuc =
    "\xA4\xAA\xC0\xA4\xCF\xC3\xA4\xCB\xA4\xCA\xA4\xC3\xA4\xC6\xA4\xAA\xA4\xEA\xA4\xDE\xA4\xB9"
    "\xA1\xA3\xB2\xF1\xB5\xC4\xA4\xCE\xBB\xF1\xCE\xC1\xA4\xF2\xC1\xF7\xA4\xEA\xA4\xDE\xA4\xB9"
    "\xA1\xA3";
const std::string kSentenceJis =
    "\x1B$B\x24\x2A\x40\x24\x4F\x43\x24\x4B\x24\x4A\x24\x43\x24\x46\x24\x2A\x24\x6A\x24\x5E"
    "\x24\x39\x21\x23\x32\x71\x35\x44\x24\x4E\x3B\x71\x4E\x41\x24\x72\x41\x77\x24\x6A\x24\x5E"
    "\x24\x39\x21\x23\x1B(B";

std::string u8(const char8_t* s) { return reinterpret_cast<const char*>(s); }

}  // namespace

TEST_CASE("canonicalCharset resolves aliases case-insensitively", "[unit]") {
  for (const char* l : {"shift_jis", "Shift_JIS", "SHIFT-JIS", "sjis", "x-sjis", "MS_Kanji",
                        "windows-31j", "cp932", "csShiftJIS", " \"Shift_JIS\" "}) {
    INFO(l);
    CHECK(canonicalCharset(l) == "CP932");
  }
  for (const char* l : {"euc-jp", "EUC-JP", "x-euc-jp", "eucjp", "eucJP-ms", "cp51932"}) {
    INFO(l);
    CHECK(canonicalCharset(l) == "EUC-JP");
  }
  CHECK(canonicalCharset("ISO-2022-JP") == "ISO-2022-JP");
  CHECK(canonicalCharset("iso-2022-jp*ja") == "ISO-2022-JP");  // RFC 2231 language suffix
  CHECK(canonicalCharset("csISO2022JP") == "ISO-2022-JP");
  CHECK(canonicalCharset("iso-2022-jp-2") == "ISO-2022-JP-2");
  CHECK(canonicalCharset("ISO-2022-JP-3") == "ISO-2022-JP-3");
  CHECK(canonicalCharset("utf8") == "UTF-8");
  CHECK(canonicalCharset("UTF-8") == "UTF-8");
  CHECK(canonicalCharset("us-ascii") == "US-ASCII");
  CHECK(canonicalCharset("ASCII") == "US-ASCII");
  CHECK(canonicalCharset("latin1") == "ISO-8859-1");
  CHECK(canonicalCharset("ISO_8859-1:1987") == "ISO-8859-1");
  CHECK(canonicalCharset("iso-8859-15") == "ISO-8859-15");
  CHECK(canonicalCharset("ISO-8859-2") == "ISO-8859-2");
  CHECK(canonicalCharset("windows-1252") == "windows-1252");
  CHECK(canonicalCharset("cp1251") == "windows-1251");
  CHECK(canonicalCharset("koi8-r") == "KOI8-R");
  CHECK(canonicalCharset("gb2312") == "GBK");
  CHECK(canonicalCharset("GBK") == "GBK");
  CHECK(canonicalCharset("gb18030") == "GB18030");
  CHECK(canonicalCharset("big5") == "Big5");
  CHECK(canonicalCharset("euc-kr") == "EUC-KR");
  CHECK(canonicalCharset("iso-2022-kr") == "ISO-2022-KR");

  CHECK(canonicalCharset("fakescii").empty());
  CHECK(canonicalCharset("").empty());
  CHECK(canonicalCharset("iso-8859-99").empty());
  CHECK(canonicalCharset("windows-1259").empty());
  CHECK(canonicalCharset(std::string(10000, 'a')).empty());
  CHECK(canonicalCharset("utf\xFF" "8").empty());
}

TEST_CASE("Shift_JIS is decoded as CP932: NEC row 13, IBM extensions, wave dash", "[unit]") {
  for (const char* label : {"Shift_JIS", "x-sjis", "MS_Kanji", "windows-31j", "cp932"}) {
    INFO(label);
    const auto r = toUtf8(kCp932, label);
    CHECK(r.utf8 == kUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.invalid == 0);
    CHECK_FALSE(r.guessed);
  }
  // 0x8160 is U+FF5E FULLWIDTH TILDE in CP932 (not U+301C WAVE DASH).
  CHECK(toUtf8("\x81\x60", "shift_jis").utf8 == "\xEF\xBD\x9E");
  // IBM extension (FBFC) and NEC-selected IBM extension (EEE0) both give 髙 U+9AD9.
  CHECK(toUtf8("\xFB\xFC\xEE\xE0", "shift_jis").utf8 == "髙髙");
  // 0x5C and 0x7E stay ASCII (paths and URLs must survive).
  CHECK(toUtf8("C:\\dir\\~user \x82\xA0", "shift_jis").utf8 == "C:\\dir\\~user あ");
}

TEST_CASE("ISO-2022-JP decodes NEC row 13 and IBM rows 89-92 (CP50220)", "[unit]") {
  const auto r = toUtf8(kIso2022Jp, "ISO-2022-JP");
  CHECK(r.utf8 == kUtf8);
  CHECK(r.charset == "ISO-2022-JP");
  CHECK(r.invalid == 0);
  CHECK_FALSE(r.guessed);

  CHECK(toUtf8("\x1B$B\x2D\x21\x1B(B", "iso-2022-jp").utf8 == "①");
  CHECK(toUtf8("\x1B$B\x7C\x62\x1B(B", "iso-2022-jp").utf8 == "髙");
  CHECK(toUtf8("\x1B$B\x21\x41\x1B(B", "iso-2022-jp").utf8 == "～");
  // ESC $ @ (JIS C 6226-1978) designates the same set.
  CHECK(toUtf8("\x1B$@\x30\x21\x1B(B", "iso-2022-jp").utf8 == "亜");
  // JIS X 0201 Roman: 0x5C is YEN SIGN, 0x7E OVERLINE; other bytes are ASCII.
  CHECK(toUtf8("\x1B(Ja\\~\x1B(B\\", "iso-2022-jp").utf8 == "a¥‾\\");
  // JIS X 0201 katakana by ESC ( I and by SO/SI.
  CHECK(toUtf8("\x1B(I\x31\x5F\x1B(B", "iso-2022-jp").utf8 == "ｱﾟ");
  CHECK(toUtf8("a\x0E\x31\x32\x0F" "b", "iso-2022-jp").utf8 == "aｱｲb");
  // JIS X 0212 (ISO-2022-JP-1/2) and JIS X 0213 (ISO-2022-JP-3).
  CHECK(toUtf8("\x1B$(D\x30\x21\x1B(B", "iso-2022-jp-2").utf8 == "丂");
  CHECK(toUtf8("\x1B$(Q\x24\x77\x1B(B", "iso-2022-jp-3").utf8 == u8(u8"\u304B\u309A"));
  // ISO-2022-JP-2 G2 Latin-1 via single shift ESC N.
  CHECK(toUtf8("\x1B.A\x1BNi", "iso-2022-jp-2").utf8 == "é");
  // Line breaks inside a double-byte run survive (broken mailers forget ESC ( B).
  CHECK(toUtf8("\x1B$B\x30\x21\r\n\x30\x21\x1B(B", "iso-2022-jp").utf8 == "亜\r\n亜");
}

TEST_CASE("ISO-2022-JP: broken input becomes U+FFFD and is counted", "[unit]") {
  SECTION("truncated escape at the end") {
    const auto r = toUtf8("abc\x1B$", "iso-2022-jp");
    CHECK(r.utf8 == "abc\uFFFD$");
    CHECK(r.invalid == 1);
  }
  SECTION("lone ESC at the end") {
    const auto r = toUtf8("abc\x1B", "iso-2022-jp");
    CHECK(r.utf8 == "abc\uFFFD");
    CHECK(r.invalid == 1);
  }
  SECTION("unknown escape") {
    const auto r = toUtf8("\x1B(Zx", "iso-2022-jp");
    CHECK(r.utf8 == "\uFFFD(Zx");
    CHECK(r.invalid == 1);
  }
  SECTION("odd byte at the end of a double-byte run") {
    const auto r = toUtf8("\x1B$B\x30\x21\x30", "iso-2022-jp");
    CHECK(r.utf8 == "亜\uFFFD");
    CHECK(r.invalid == 1);
  }
  SECTION("unassigned JIS code (row 9)") {
    const auto r = toUtf8("\x1B$B\x29\x21\x1B(Bok", "iso-2022-jp");
    CHECK(r.utf8 == "\uFFFDok");
    CHECK(r.invalid == 1);
  }
  SECTION("a stray 8-bit byte in otherwise fine ISO-2022-JP keeps the label") {
    const auto r = toUtf8(kSentenceJis + "\xA4", "iso-2022-jp");
    CHECK(r.utf8 == kSentenceUtf8 + "\uFFFD");
    CHECK(r.invalid == 1);
    CHECK(r.charset == "ISO-2022-JP");
    CHECK_FALSE(r.guessed);
  }
}

TEST_CASE("EUC-JP is decoded as CP51932 / eucJP-ms", "[unit]") {
  for (const char* label : {"EUC-JP", "x-euc-jp", "eucjp"}) {
    INFO(label);
    const auto r = toUtf8(kEucJp, label);
    CHECK(r.utf8 == kUtf8);
    CHECK(r.charset == "EUC-JP");
    CHECK(r.invalid == 0);
    CHECK_FALSE(r.guessed);
  }
  CHECK(toUtf8("\xA1\xC1", "euc-jp").utf8 == "～");
  CHECK(toUtf8("\x8F\xB0\xA1", "euc-jp").utf8 == "丂");                   // JIS X 0212
  CHECK(toUtf8("\xF5\xA1", "euc-jp").utf8 == u8(u8"\uE000"));            // user-defined -> PUA
  const auto bad = toUtf8("\xA4\xA2\xA4" "a", "euc-jp");                // lead + ASCII
  CHECK(bad.utf8 == "あ\uFFFDa");
  CHECK(bad.invalid == 1);
}

TEST_CASE("other declared charsets go through iconv", "[unit]") {
  CHECK(toUtf8("caf\xE9", "iso-8859-1").utf8 == "café");
  CHECK(toUtf8("\x80 \x93quoted\x94", "windows-1252").utf8 == "€ “quoted”");
  CHECK(toUtf8("\xF0\xD2\xC9\xD7\xC5\xD4", "koi8-r").utf8 == "Привет");
  CHECK(toUtf8("\xC4\xE3\xBA\xC3", "gb2312").utf8 == "你好");
  CHECK(toUtf8("\xBE\xC8\xB3\xE7", "euc-kr").utf8 == "안녕");
  CHECK(toUtf8("\xA7\x41\xA6\x6E", "big5").utf8 == "你好");
  const auto r16 = toUtf8(std::string("\xFF\xFE\x42\x30\x00\x4E", 6), "utf-16");
  CHECK(r16.utf8 == "あ一");
  CHECK(r16.invalid == 0);
}

TEST_CASE("UTF-8 and ASCII fast paths", "[unit]") {
  auto r = toUtf8("hello", "us-ascii");
  CHECK(r.utf8 == "hello");
  CHECK(r.charset == "US-ASCII");
  CHECK_FALSE(r.guessed);

  r = toUtf8(kUtf8, "UTF-8");
  CHECK(r.utf8 == kUtf8);
  CHECK(r.charset == "UTF-8");
  CHECK_FALSE(r.guessed);

  r = toUtf8("\xEF\xBB\xBF" "abc", "utf-8");  // BOM dropped
  CHECK(r.utf8 == "abc");

  r = toUtf8("plain", "");  // undeclared ASCII is the RFC 2045 default, not a guess
  CHECK(r.utf8 == "plain");
  CHECK(r.charset == "US-ASCII");
  CHECK_FALSE(r.guessed);

  r = toUtf8("", "shift_jis");
  CHECK(r.utf8.empty());
  CHECK(r.invalid == 0);

  // A UTF-8 text cut in the middle of a character keeps its label.
  r = toUtf8(kSentenceUtf8.substr(0, kSentenceUtf8.size() - 1), "utf-8");
  CHECK(r.charset == "UTF-8");
  CHECK_FALSE(r.guessed);
  CHECK(r.invalid == 1);
  CHECK(isValidUtf8(r.utf8));
}

TEST_CASE("undeclared 8-bit text is detected", "[unit]") {
  struct Case {
    const std::string* bytes;
    const char* charset;
  };
  for (const Case& c : {Case{&kSentenceSjis, "CP932"}, Case{&kSentenceEuc, "EUC-JP"},
                        Case{&kSentenceJis, "ISO-2022-JP"}, Case{&kSentenceUtf8, "UTF-8"}}) {
    INFO(c.charset);
    const auto r = toUtf8(*c.bytes, "");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == c.charset);
    CHECK(r.guessed);
    CHECK(r.invalid == 0);
    CHECK(detectCharset(*c.bytes) == c.charset);
  }
  CHECK(detectCharset("hello") == "US-ASCII");
  CHECK(detectCharset("") == "US-ASCII");
  CHECK(detectCharset(kCp932) == "CP932");
  CHECK(detectCharset(kEucJp) == "EUC-JP");
  CHECK(detectCharset(kIso2022Jp) == "ISO-2022-JP");
  CHECK(detectCharset("Caf\xE9 cr\xE8me br\xFBl\xE9" "e") == "windows-1252");

  const auto latin = toUtf8("Caf\xE9 cr\xE8me", "");
  CHECK(latin.utf8 == "Café crème");
  CHECK(latin.charset == "windows-1252");
  CHECK(latin.guessed);
}

TEST_CASE("unknown or lying labels fall back to detection and say so", "[unit]") {
  SECTION("unknown label") {
    const auto r = toUtf8(kSentenceSjis, "fakescii");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
    const auto a = toUtf8("just ascii", "fakescii");
    CHECK(a.utf8 == "just ascii");
    CHECK(a.guessed);
  }
  SECTION("Shift_JIS label on EUC-JP text (decodes 'cleanly' to half-width garbage)") {
    const auto r = toUtf8(kSentenceEuc, "Shift_JIS");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "EUC-JP");
    CHECK(r.guessed);
  }
  SECTION("EUC-JP label on Shift_JIS text") {
    const auto r = toUtf8(kSentenceSjis, "euc-jp");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
  }
  SECTION("UTF-8 label on Shift_JIS text") {
    const auto r = toUtf8(kSentenceSjis, "utf-8");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
    CHECK(r.invalid == 0);
  }
  SECTION("ISO-2022-JP label on raw Shift_JIS") {
    const auto r = toUtf8(kSentenceSjis, "iso-2022-jp");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
  }
  SECTION("us-ascii label on ISO-2022-JP and on Shift_JIS") {
    auto r = toUtf8(kSentenceJis, "us-ascii");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "ISO-2022-JP");
    CHECK(r.guessed);
    r = toUtf8(kSentenceSjis, "us-ascii");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
  }
  SECTION("latin1 label on UTF-8 Japanese and on Shift_JIS") {
    auto r = toUtf8(kSentenceUtf8, "iso-8859-1");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "UTF-8");
    CHECK(r.guessed);
    r = toUtf8(kSentenceSjis, "iso-8859-1");
    CHECK(r.utf8 == kSentenceUtf8);
    CHECK(r.charset == "CP932");
    CHECK(r.guessed);
  }
  SECTION("honest labels are kept") {
    auto r = toUtf8("Caf\xE9 cr\xE8me br\xFBl\xE9" "e", "iso-8859-1");
    CHECK(r.charset == "ISO-8859-1");
    CHECK_FALSE(r.guessed);
    r = toUtf8("\xF0\xD2\xC9\xD7\xC5\xD4 \xED\xC9\xD2", "koi8-r");
    CHECK(r.charset == "KOI8-R");
    CHECK_FALSE(r.guessed);
    r = toUtf8(kSentenceSjis, "shift_jis");
    CHECK_FALSE(r.guessed);
    r = toUtf8(kSentenceEuc, "euc-jp");
    CHECK_FALSE(r.guessed);
    // A kanji-only string is valid in both CP932 and EUC-JP readings: trust the label.
    r = toUtf8("\xBB\xB3\xC5\xC4\xC2\xC0\xCF\xBA", "euc-jp");  // 山田太郎
    CHECK(r.utf8 == "山田太郎");
    CHECK_FALSE(r.guessed);
  }
  SECTION("a corrupt byte in real Shift_JIS text does not flip the charset") {
    std::string damaged = kSentenceSjis;
    damaged.insert(10, 1, '\xFF');
    const auto r = toUtf8(damaged, "shift_jis");
    CHECK(r.charset == "CP932");
    CHECK_FALSE(r.guessed);
    CHECK(r.invalid == 1);
  }
}

TEST_CASE("invalid bytes in multibyte charsets are replaced and counted", "[unit]") {
  auto r = toUtf8("\x82\xA0\xFF\x82\xA2", "shift_jis");  // 0xFF is never valid
  CHECK(r.utf8 == "あ\uFFFDい");
  CHECK(r.invalid == 1);
  r = toUtf8("\x82\xA0\x82", "shift_jis");  // truncated pair
  CHECK(r.utf8 == "あ\uFFFD");
  CHECK(r.invalid == 1);
  r = toUtf8("\x82\xA0\x82" "0", "shift_jis");  // lead + non-trail ASCII: the ASCII survives
  CHECK(r.utf8 == "あ\uFFFD0");
  CHECK(r.invalid == 1);
  // CP932 leaves 0x8540 unassigned; JIS X 0213 (Shift_JIS-2004) has the euro sign there, and
  // a code CP932 rejects is retried as Shift_JISX0213 before giving up.
  r = toUtf8("\x82\xA0\x85\x40", "shift_jis");
  CHECK(r.utf8 == "あ€");
  CHECK(r.invalid == 0);
}

TEST_CASE("hostile input: 1 MB of random bytes under every label", "[unit]") {
  std::mt19937 rng(20240501);
  std::string junk(1 << 20, '\0');
  for (auto& c : junk) c = static_cast<char>(rng() & 0xFF);
  for (const char* label : {"", "utf-8", "us-ascii", "shift_jis", "euc-jp", "iso-2022-jp",
                            "iso-2022-jp-2", "gb18030", "big5", "utf-16", "utf-7", "iso-2022-kr",
                            "fakescii", "windows-1252"}) {
    INFO(label);
    const auto r = toUtf8(junk, label);
    CHECK(isValidUtf8(r.utf8));
    CHECK(r.utf8.size() <= junk.size() * 4 + 64);
    CHECK(r.invalid > 0);
  }
}

TEST_CASE("hostile input: pathological repetitions stay linear and valid", "[unit]") {
  const std::size_t n = 1 << 20;
  const std::vector<std::string> inputs = {
      std::string(n, '\x1B'),
      [&] { std::string s; while (s.size() < n) s += "\x1B$B"; return s; }(),
      [&] { std::string s; while (s.size() < n) s += "\x1B$(D\x21"; return s; }(),
      std::string(n, '\x8F'),
      std::string(n, '\x8E'),
      std::string(n, '\xFF'),
      std::string(n, '\x0E'),
  };
  for (const auto& in : inputs) {
    for (const char* label : {"", "iso-2022-jp", "euc-jp", "shift_jis", "utf-8"}) {
      const auto r = toUtf8(in, label);
      CHECK(isValidUtf8(r.utf8));
      CHECK(r.utf8.size() <= in.size() * 4 + 64);
    }
  }
}

TEST_CASE("decoding is thread-safe (per-thread iconv descriptors)", "[unit]") {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 300; ++i) {
        if (toUtf8(kCp932, "shift_jis").utf8 != kUtf8) ++failures[t];
        if (toUtf8(kEucJp, "euc-jp").utf8 != kUtf8) ++failures[t];
        if (toUtf8(kIso2022Jp, "iso-2022-jp").utf8 != kUtf8) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) CHECK(f == 0);
}

TEST_CASE("throughput of typical Japanese message bodies", "[unit]") {
  std::string body;
  while (body.size() < 4096) body += kSentenceSjis + "\r\n";
  std::string jis;
  while (jis.size() < 4096) jis += kSentenceJis + "\r\n";
  const int rounds = 2000;
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t total = 0;
  for (int i = 0; i < rounds; ++i) {
    total += toUtf8(body, "shift_jis").utf8.size();
    total += toUtf8(jis, "iso-2022-jp").utf8.size();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double per_sec = 2 * rounds / secs;
  WARN("decoded " << per_sec << " 4 KB Japanese bodies/s");
  CHECK(total > 0);
  CHECK(per_sec > 1000);  // far below the real figure; catches accidental quadratic behaviour
}
