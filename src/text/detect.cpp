// Charset detection tuned for Japanese mail: ISO-2022-JP escapes, UTF-8, then CP932 vs EUC-JP by
// structure and kana frequency, then uchardet / windows-1252 for everything else.
#include <uchardet.h>

#include <memory>

#include "mugai/text/charset.h"
#include "src/text/text_internal.h"

namespace mugai::text::internal {
namespace {

constexpr std::size_t kUchardetSample = 64 * 1024;  // enough evidence, bounded cost
constexpr std::size_t kUchardetMinHighBytes = 8;

bool in(unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; }

struct Utf8Stats {
  std::size_t multibyte = 0;
  std::size_t bad = 0;
};

/// Counts well-formed multibyte sequences and ill-formed ones; a sequence cut off by the end of
/// the input is not held against UTF-8 (mail is often cut at a byte limit).
Utf8Stats utf8Stats(std::string_view s) {
  Utf8Stats st;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    i += asciiPrefix(p + i, n - i);
    if (i >= n) break;
    const int len = sequenceAt(p + i, n - i);
    if (len > 0) {
      ++st.multibyte;
      i += static_cast<std::size_t>(len);
      continue;
    }
    const auto sub = static_cast<std::size_t>(-len);
    if (i + sub >= n && p[i] >= 0xC2 && p[i] <= 0xF4) break;  // valid prefix cut by the end
    ++st.bad;
    i += sub;
  }
  return st;
}

/// Canonical name for an uchardet answer, restricted to the public six unless `extended`.
std::string fromUchardet(const char* name, bool extended) {
  if (!name || !*name) return {};
  std::string canon = canonicalCharset(name);
  if (canon == "CP932" || canon == "EUC-JP" || canon == "UTF-8" || canon == "ISO-2022-JP") {
    return canon;
  }
  if (canon.empty() || canon == "US-ASCII" || canon == "ISO-8859-1" || canon == "ISO-8859-15" ||
      canon == "windows-1252" || !extended) {
    return "windows-1252";
  }
  return canon;
}

struct UchardetDeleter {
  void operator()(uchardet_t u) const { uchardet_delete(u); }
};

std::string askUchardet(std::string_view bytes, bool extended) {
  thread_local std::unique_ptr<std::remove_pointer_t<uchardet_t>, UchardetDeleter> ud(
      uchardet_new());
  if (!ud) return {};
  uchardet_reset(ud.get());
  const std::string_view sample = bytes.substr(0, kUchardetSample);
  if (uchardet_handle_data(ud.get(), sample.data(), sample.size()) != 0) return {};
  uchardet_data_end(ud.get());
  return fromUchardet(uchardet_get_charset(ud.get()), extended);
}

std::size_t highBytes(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += static_cast<unsigned char>(c) >= 0x80;
  return n;
}

}  // namespace

namespace {

/// One Shift_JIS character at p[0] (not ASCII), `left` bytes to the end, counted into `st`: the
/// bytes it takes, or 0 when it is cut off at the end.
std::size_t sjisChar(const unsigned char* p, std::size_t left, JaStats& st) {
  const unsigned char b = p[0];
  if (in(b, 0xA1, 0xDF)) {
    ++st.half;
    return 1;
  }
  if (!(in(b, 0x81, 0x9F) || in(b, 0xE0, 0xFC))) {
    ++st.bad;
    return 1;
  }
  if (left < 2) return 0;  // truncated at the end
  const unsigned char t = p[1];
  if (!(in(t, 0x40, 0x7E) || in(t, 0x80, 0xFC))) {
    ++st.bad;
    return 1;
  }
  const bool unassigned = b == 0x85 || b == 0x86 || b == 0xEB || b == 0xEC || b == 0xEF ||
                          (b == 0x82 && t < 0x4F) || (b == 0x83 && t > 0xD6) ||
                          (b == 0x84 && t > 0xBE) || (b == 0x87 && t > 0x9C) ||
                          (b == 0x88 && t < 0x9F) || (b == 0xEA && t > 0xA4) ||
                          (b == 0xFC && t > 0x4B);
  if (unassigned) {
    ++st.bad;
  } else if (!in(b, 0xF0, 0xF9)) {  // user-defined area is neither evidence nor error
    ++st.good;
    if ((b == 0x82 && in(t, 0x9F, 0xF1)) || (b == 0x83 && in(t, 0x40, 0x96))) ++st.kana;
  }
  return 2;
}

/// The same for EUC-JP: half-width katakana (SS2), JIS X 0212 (SS3) and JIS X 0208 pairs.
std::size_t eucChar(const unsigned char* p, std::size_t left, JaStats& st) {
  const unsigned char b = p[0];
  const unsigned char t = left > 1 ? p[1] : 0;
  if (b == 0x8E) {
    if (left > 1 && in(t, 0xA1, 0xDF)) {
      ++st.half;
      return 2;
    }
    ++st.bad;
    return 1;
  }
  if (b == 0x8F) {
    if (left < 3) return 0;
    if (in(t, 0xA1, 0xFE) && in(p[2], 0xA1, 0xFE)) {
      ++st.good;
      return 3;
    }
    ++st.bad;
    return 1;
  }
  if (!in(b, 0xA1, 0xFE)) {
    ++st.bad;
    return 1;
  }
  if (left < 2) return 0;
  if (!in(t, 0xA1, 0xFE)) {
    ++st.bad;
    return 1;
  }
  const bool unassigned = (in(b, 0xA9, 0xAF) && b != 0xAD) || (b == 0xA8 && t > 0xC0) ||
                          (b == 0xF4 && t > 0xA6);
  if (unassigned) {
    ++st.bad;
  } else if (!(in(b, 0xF5, 0xF8) || b >= 0xFD)) {
    ++st.good;
    if ((b == 0xA4 && t <= 0xF3) || (b == 0xA5 && t <= 0xF6)) ++st.kana;
  }
  return 2;
}

}  // namespace

JaStats japaneseStats(std::string_view bytes, bool sjis) {
  JaStats st;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    i += asciiPrefix(p + i, n - i);
    if (i >= n) break;
    const std::size_t took = sjis ? sjisChar(p + i, n - i, st) : eucChar(p + i, n - i, st);
    if (took == 0) break;  // a character cut off at the end
    i += took;
  }
  return st;
}

Detection detect(std::string_view bytes, bool extended) {
  if (isAscii(bytes)) {
    if (hasJisEscape(bytes)) return {"ISO-2022-JP", true};
    return {"US-ASCII", true};
  }
  const Utf8Stats u = utf8Stats(bytes);
  if (u.bad == 0) return {"UTF-8", u.multibyte > 0};

  const JaStats s = japaneseStats(bytes, true);
  const JaStats e = japaneseStats(bytes, false);
  // Strong: structurally clean with kana, or kana-rich with rare damage (1 error per 16 chars).
  const auto strongJa = [](const JaStats& st) {
    return st.kana > 0 && (st.bad == 0 || (st.kana >= 4 && st.bad * 16 <= st.good));
  };
  const bool s_strong = strongJa(s);
  const bool e_strong = strongJa(e);
  if (s_strong && e_strong) {
    return {e.kana > s.kana ? "EUC-JP" : "CP932", true};
  }
  if (u.multibyte >= 4 && u.bad * 8 <= u.multibyte && !s_strong && !e_strong) {
    return {"UTF-8", true};
  }
  if (s_strong) return {"CP932", true};
  if (e_strong) return {"EUC-JP", true};

  // No kana: short kanji-only strings (names, subjects) or not Japanese at all.
  const std::size_t high = highBytes(bytes);
  std::string guess;
  if (high >= kUchardetMinHighBytes) guess = askUchardet(bytes, extended);
  if (guess == "CP932" && s.bad == 0) return {guess, false};
  if (guess == "EUC-JP" && e.bad == 0) return {guess, false};
  if (e.bad == 0 && e.good >= 2 && e.half == 0) return {"EUC-JP", false};
  if (s.bad == 0 && s.good >= 2 && s.half == 0) return {"CP932", false};
  if (u.multibyte > u.bad) return {"UTF-8", false};
  if (!guess.empty() && guess != "CP932" && guess != "EUC-JP" && guess != "UTF-8" &&
      guess != "ISO-2022-JP") {
    return {guess, false};
  }
  return {"windows-1252", false};
}

}  // namespace mugai::text::internal

namespace mugai::text {

std::string detectCharset(std::string_view bytes) {
  try {
    return internal::detect(bytes, false).charset;
  } catch (...) {
    return "windows-1252";
  }
}

}  // namespace mugai::text
