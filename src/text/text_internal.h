// Internal helpers shared by the charset implementation files (not part of the public API).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mugai/text/charset.h"

namespace mugai::text::internal {

/// How many bytes to drop when a multibyte decoder rejects input at a given position.
enum class SkipKind : std::uint8_t {
  kSingle,      // single-byte charsets, UTF-8 handled elsewhere
  kShiftJis,    // lead 81-9F/E0-FC + trail 40-7E/80-FC
  kEucJp,       // A1-FE A1-FE, 8E A1-DF, 8F A1-FE A1-FE
  kDoubleByte,  // generic lead 81-FE + trail 40-7E/80-FE (GBK, Big5, UHC)
  kGb18030,     // kDoubleByte plus 4-byte 81-FE 30-39 81-FE 30-39
};

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

inline void appendReplacement(std::string& out) { out.append(kReplacement); }

using ::mugai::text::appendUtf8;  // public: mugai/text/charset.h

/// Length of the well-formed UTF-8 sequence at p (1-4), or minus the length of the maximal
/// ill-formed subpart (at least 1). n must be > 0.
int sequenceAt(const unsigned char* p, std::size_t n);

/// Number of leading ASCII bytes of [p, p+n).
std::size_t asciiPrefix(const unsigned char* p, std::size_t n);

/// True when every byte is < 0x80.
bool isAscii(std::string_view s);

/// Decodes `in` with glibc iconv (`iconv_name` -> UTF-8), appending to `out`. Rejected sequences
/// become U+FFFD (one per skipped unit, see SkipKind) and are counted in *invalid. When
/// `fallback_name` is non-empty, a unit rejected by the primary converter is first retried with
/// that converter (used to let JIS X 0213 characters through a CP932 decode). Returns false when
/// the converter cannot be opened (nothing appended).
bool iconvDecode(std::string_view in, const char* iconv_name, SkipKind skip, std::string& out,
                 std::size_t* invalid, const char* fallback_name = nullptr);

/// ISO-2022-JP family (incl. -1/-2/-3, CP50220/ISO-2022-JP-MS extensions) to UTF-8.
void decodeIso2022Jp(std::string_view in, std::string& out, std::size_t* invalid);

/// EUC-JP as CP51932/eucJP-ms (NEC row 13, NEC-selected IBM rows 89-92, JIS X 0212).
void decodeEucJp(std::string_view in, std::string& out, std::size_t* invalid);

/// True when `s` contains an ISO-2022-JP designation escape (ESC $ B, ESC ( J, ...).
bool hasJisEscape(std::string_view s);

/// Result of the internal detector: `strong` means the evidence is unambiguous (valid multibyte
/// UTF-8, kana-bearing CP932/EUC-JP, JIS escapes), weak means a statistical or default guess.
struct Detection {
  std::string charset;  // canonical name
  bool strong = false;
};

/// `extended` allows uchardet answers outside the six public names (Big5, KOI8-R, ...).
Detection detect(std::string_view bytes, bool extended);

/// Japanese plausibility statistics of `bytes` read as CP932 (`sjis`) or EUC-JP.
struct JaStats {
  std::size_t good = 0;  // valid double-byte characters
  std::size_t kana = 0;  // hiragana/katakana/Japanese punctuation among them
  std::size_t half = 0;  // half-width katakana
  std::size_t bad = 0;   // invalid or unassigned sequences
};
JaStats japaneseStats(std::string_view bytes, bool sjis);

}  // namespace mugai::text::internal
