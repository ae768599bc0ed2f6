// One target per charset decoder (src/text): CP932, ISO-2022-JP (and -1/-2/-3), EUC-JP (and
// JIS X 0213), UTF-8 (validation and repair), the other iconv charsets, and detection with any
// declared label. Checked on every input: the output is valid UTF-8, no bigger than the header's
// promise (about 4x the input), and the log escaper keeps it on one line.
#include <string>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/text/charset.h"

namespace {

using namespace mugai;

void decode(std::string_view bytes, std::string_view label) {
  text::DecodeResult r = text::toUtf8(bytes, label);
  if (!text::isValidUtf8(r.utf8)) fuzz::fail("toUtf8 gave invalid UTF-8");
  if (r.utf8.size() > 4 * bytes.size() + 16) fuzz::fail("toUtf8 output over 4x its input");
  std::string line = text::logEscape(r.utf8, 256);
  if (line.find_first_of("\r\n") != std::string::npos) fuzz::fail("logEscape let a line break through");
}

void decodeWith(const std::uint8_t* data, std::size_t size, std::initializer_list<const char*> labels) {
  fuzz::Input in(data, size);
  std::uint8_t pick = in.byte();
  const char* label = *(labels.begin() + pick % labels.size());
  decode(in.rest(), label);
}

}  // namespace

MUGAI_FUZZ_TARGET(charset_cp932) {
  decodeWith(data, size, {"Shift_JIS", "CP932", "Shift_JISX0213"});
  return 0;
}

MUGAI_FUZZ_TARGET(charset_iso2022jp) {
  decodeWith(data, size, {"ISO-2022-JP", "ISO-2022-JP-1", "ISO-2022-JP-2", "ISO-2022-JP-3"});
  return 0;
}

MUGAI_FUZZ_TARGET(charset_eucjp) {
  decodeWith(data, size, {"EUC-JP", "EUC-JISX0213"});
  return 0;
}

MUGAI_FUZZ_TARGET(charset_utf8) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  decode(bytes, "UTF-8");
  std::size_t replaced = 0;
  std::string fixed = text::sanitizeUtf8(bytes, &replaced);
  if (!text::isValidUtf8(fixed)) fuzz::fail("sanitizeUtf8 gave invalid UTF-8");
  if ((replaced == 0) != text::isValidUtf8(bytes)) fuzz::fail("sanitizeUtf8 and isValidUtf8 disagree");
  if (replaced == 0 && fixed != bytes) fuzz::fail("sanitizeUtf8 changed valid UTF-8");
  return 0;
}

MUGAI_FUZZ_TARGET(charset_iconv) {
  decodeWith(data, size,
             {"GBK", "GB18030", "Big5", "EUC-KR", "ISO-2022-KR", "ISO-2022-CN", "UTF-16", "UTF-16LE",
              "UTF-16BE", "UTF-7", "KOI8-R", "KOI8-U", "windows-1252", "ISO-8859-1", "ISO-8859-2",
              "ISO-8859-7", "ISO-8859-8", "windows-874", "US-ASCII"});
  return 0;
}

/// The declared label is fuzzed too: up to the first NUL (or 40 bytes) is the label.
MUGAI_FUZZ_TARGET(charset_detect) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  std::size_t cut = all.find('\0');
  if (cut == std::string_view::npos || cut > 40) cut = 0;
  std::string_view label = all.substr(0, cut);
  std::string_view bytes = all.substr(cut == 0 ? 0 : cut + 1);
  decode(bytes, label);
  std::string guess = text::detectCharset(bytes);
  if (guess.empty()) fuzz::fail("detectCharset gave no answer");
  (void)text::canonicalCharset(label);
  return 0;
}
