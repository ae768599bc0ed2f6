// toUtf8 / canonicalCharset: label resolution, fast paths, and the "is the label lying?" policy.
#include "mugai/text/charset.h"
#include "mugai/text/url.h"

#include <array>
#include <cctype>
#include <cstring>

#include "src/text/text_internal.h"

namespace mugai::text {
namespace {

using internal::SkipKind;

enum class Kind : std::uint8_t { kAscii, kUtf8, kIconv, kCp932, kEucJp, kIso2022Jp };

/// Family decides how far a clean decode is trusted when detection disagrees.
enum class Family : std::uint8_t {
  kLatin,     // ASCII, UTF-8 and single-byte charsets: decode never fails, so never proves much
  kJapanese,  // CP932 / EUC-JP / ISO-2022-JP: mislabelled among each other all the time
  kOther,     // other CJK, UTF-16, stateful: switched away from only on decode errors
};

struct Charset {
  const char* canonical;
  const char* iconv_name;
  Kind kind;
  SkipKind skip;
  Family family;
  bool ascii_compatible;  // pure-ASCII input decodes to itself
};

// clang-format off
constexpr std::array kCharsets = {
  Charset{"US-ASCII", "", Kind::kAscii, SkipKind::kSingle, Family::kLatin, true},
  Charset{"UTF-8", "", Kind::kUtf8, SkipKind::kSingle, Family::kLatin, true},
  Charset{"CP932", "CP932", Kind::kCp932, SkipKind::kShiftJis, Family::kJapanese, true},
  Charset{"EUC-JP", "", Kind::kEucJp, SkipKind::kEucJp, Family::kJapanese, true},
  Charset{"ISO-2022-JP", "", Kind::kIso2022Jp, SkipKind::kSingle, Family::kJapanese, false},
  Charset{"ISO-2022-JP-1", "", Kind::kIso2022Jp, SkipKind::kSingle, Family::kJapanese, false},
  Charset{"ISO-2022-JP-2", "", Kind::kIso2022Jp, SkipKind::kSingle, Family::kJapanese, false},
  Charset{"ISO-2022-JP-3", "", Kind::kIso2022Jp, SkipKind::kSingle, Family::kJapanese, false},
  Charset{"Shift_JISX0213", "SHIFT_JISX0213", Kind::kIconv, SkipKind::kShiftJis,
          Family::kJapanese, true},
  Charset{"EUC-JISX0213", "EUC-JISX0213", Kind::kIconv, SkipKind::kEucJp, Family::kJapanese,
          true},
  Charset{"ISO-8859-1", "ISO-8859-1", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-2", "ISO-8859-2", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-3", "ISO-8859-3", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-4", "ISO-8859-4", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-5", "ISO-8859-5", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-6", "ISO-8859-6", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-7", "ISO-8859-7", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-8", "ISO-8859-8", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-9", "ISO-8859-9", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-10", "ISO-8859-10", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-11", "ISO-8859-11", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-13", "ISO-8859-13", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-14", "ISO-8859-14", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-15", "ISO-8859-15", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"ISO-8859-16", "ISO-8859-16", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1250", "CP1250", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1251", "CP1251", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1252", "CP1252", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1253", "CP1253", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1254", "CP1254", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1255", "CP1255", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1256", "CP1256", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1257", "CP1257", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-1258", "CP1258", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"windows-874", "CP874", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"KOI8-R", "KOI8-R", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"KOI8-U", "KOI8-U", Kind::kIconv, SkipKind::kSingle, Family::kLatin, true},
  Charset{"GBK", "GBK", Kind::kIconv, SkipKind::kDoubleByte, Family::kOther, true},
  Charset{"GB18030", "GB18030", Kind::kIconv, SkipKind::kGb18030, Family::kOther, true},
  Charset{"Big5", "BIG5-HKSCS", Kind::kIconv, SkipKind::kDoubleByte, Family::kOther, true},
  Charset{"EUC-KR", "CP949", Kind::kIconv, SkipKind::kDoubleByte, Family::kOther, true},
  Charset{"ISO-2022-KR", "ISO-2022-KR", Kind::kIconv, SkipKind::kSingle, Family::kOther, false},
  Charset{"ISO-2022-CN", "ISO-2022-CN-EXT", Kind::kIconv, SkipKind::kSingle, Family::kOther,
          false},
  Charset{"UTF-16", "UTF-16", Kind::kIconv, SkipKind::kSingle, Family::kOther, false},
  Charset{"UTF-16LE", "UTF-16LE", Kind::kIconv, SkipKind::kSingle, Family::kOther, false},
  Charset{"UTF-16BE", "UTF-16BE", Kind::kIconv, SkipKind::kSingle, Family::kOther, false},
  Charset{"UTF-7", "UTF-7", Kind::kIconv, SkipKind::kSingle, Family::kOther, false},
};

/// Aliases, keyed by the label lower-cased with '-', '_', ' ', '.', ':' removed.
struct Alias {
  const char* key;
  const char* canonical;
};
constexpr Alias kAliases[] = {
  {"usascii", "US-ASCII"}, {"ascii", "US-ASCII"}, {"ansix3.41968", "US-ASCII"},
  {"ansix341968", "US-ASCII"}, {"iso646us", "US-ASCII"}, {"us", "US-ASCII"},
  {"csascii", "US-ASCII"}, {"646", "US-ASCII"},
  {"utf8", "UTF-8"}, {"unicode11utf8", "UTF-8"}, {"xunicode20utf8", "UTF-8"},
  {"shiftjis", "CP932"}, {"sjis", "CP932"}, {"xsjis", "CP932"}, {"mskanji", "CP932"},
  {"csshiftjis", "CP932"}, {"windows31j", "CP932"}, {"cp932", "CP932"}, {"ms932", "CP932"},
  {"xmscp932", "CP932"}, {"ibm943", "CP932"}, {"sjiswin", "CP932"}, {"sjisopen", "CP932"},
  {"shiftjisms", "CP932"}, {"xshiftjis", "CP932"}, {"windows932", "CP932"},
  {"eucjp", "EUC-JP"}, {"xeucjp", "EUC-JP"}, {"eucjpms", "EUC-JP"}, {"eucjpwin", "EUC-JP"},
  {"eucjpopen", "EUC-JP"}, {"cp51932", "EUC-JP"}, {"ujis", "EUC-JP"}, {"xeuc", "EUC-JP"},
  {"cseucpkdfmtjapanese", "EUC-JP"}, {"extendedunixcodepackedformatforjapanese", "EUC-JP"},
  {"iso2022jp", "ISO-2022-JP"}, {"csiso2022jp", "ISO-2022-JP"}, {"cp50220", "ISO-2022-JP"},
  {"cp50221", "ISO-2022-JP"}, {"cp50222", "ISO-2022-JP"}, {"iso2022jpms", "ISO-2022-JP"},
  {"xiso2022jp", "ISO-2022-JP"}, {"jis", "ISO-2022-JP"}, {"iso2022jp1", "ISO-2022-JP-1"},
  {"iso2022jp2", "ISO-2022-JP-2"}, {"csiso2022jp2", "ISO-2022-JP-2"},
  {"iso2022jp3", "ISO-2022-JP-3"}, {"iso2022jp2004", "ISO-2022-JP-3"},
  {"shiftjisx0213", "Shift_JISX0213"}, {"shiftjis2004", "Shift_JISX0213"},
  {"sjisx0213", "Shift_JISX0213"}, {"eucjisx0213", "EUC-JISX0213"},
  {"eucjis2004", "EUC-JISX0213"},
  {"latin1", "ISO-8859-1"}, {"l1", "ISO-8859-1"}, {"cp819", "ISO-8859-1"},
  {"ibm819", "ISO-8859-1"}, {"csisolatin1", "ISO-8859-1"}, {"isoir100", "ISO-8859-1"},
  {"latin2", "ISO-8859-2"}, {"l2", "ISO-8859-2"}, {"latin3", "ISO-8859-3"},
  {"latin4", "ISO-8859-4"}, {"cyrillic", "ISO-8859-5"}, {"arabic", "ISO-8859-6"},
  {"greek", "ISO-8859-7"}, {"hebrew", "ISO-8859-8"}, {"latin5", "ISO-8859-9"},
  {"latin6", "ISO-8859-10"}, {"tis620", "ISO-8859-11"}, {"latin9", "ISO-8859-15"},
  {"latin0", "ISO-8859-15"}, {"l9", "ISO-8859-15"}, {"latin10", "ISO-8859-16"},
  {"koi8r", "KOI8-R"}, {"cskoi8r", "KOI8-R"}, {"koi8", "KOI8-R"}, {"koi8u", "KOI8-U"},
  {"gb2312", "GBK"}, {"gbk", "GBK"}, {"xgbk", "GBK"}, {"cp936", "GBK"}, {"ms936", "GBK"},
  {"windows936", "GBK"}, {"euccn", "GBK"}, {"xeuccn", "GBK"}, {"csgb2312", "GBK"},
  {"chinese", "GBK"}, {"gb231280", "GBK"}, {"gb18030", "GB18030"},
  {"big5", "Big5"}, {"xxbig5", "Big5"}, {"cnbig5", "Big5"}, {"csbig5", "Big5"},
  {"big5hkscs", "Big5"}, {"cp950", "Big5"},
  {"euckr", "EUC-KR"}, {"cseuckr", "EUC-KR"}, {"ksc5601", "EUC-KR"}, {"ksc56011987", "EUC-KR"},
  {"cp949", "EUC-KR"}, {"uhc", "EUC-KR"}, {"windows949", "EUC-KR"}, {"korean", "EUC-KR"},
  {"iso2022kr", "ISO-2022-KR"}, {"csiso2022kr", "ISO-2022-KR"},
  {"iso2022cn", "ISO-2022-CN"}, {"iso2022cnext", "ISO-2022-CN"},
  {"utf16", "UTF-16"}, {"utf16le", "UTF-16LE"}, {"utf16be", "UTF-16BE"}, {"utf7", "UTF-7"},
  {"unicode11utf7", "UTF-7"}, {"cp874", "windows-874"}, {"windows874", "windows-874"},
};
// clang-format on

const Charset* findCanonical(std::string_view canonical) {
  for (const Charset& c : kCharsets) {
    if (canonical == c.canonical) return &c;
  }
  return nullptr;
}

std::string normalizeLabel(std::string_view label) {
  // RFC 2231 allows "charset*language"; quotes and blanks come from sloppy headers.
  const std::size_t star = label.find('*');
  if (star != std::string_view::npos) label = label.substr(0, star);
  std::string key;
  key.reserve(label.size());
  for (const char ch : label) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '-' || c == '_' || c == ' ' || c == '.' || c == ':' || c == '"' || c == '\'' ||
        c == '\t') {
      continue;
    }
    if (c >= 0x80 || key.size() >= 64) return {};
    key.push_back(static_cast<char>(std::tolower(c)));
  }
  return key;
}

std::string canonicalFromKey(const std::string& key) {
  if (key.empty()) return {};
  for (const Alias& a : kAliases) {
    if (key == a.key) return a.canonical;
  }
  // Numbered families: iso8859N, iso_8859-N:yyyy, windows125N / cp125N / x-cp125N.
  auto digitsAfter = [&](std::string_view prefix) -> std::string {
    if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) return {};
    return key.substr(prefix.size());
  };
  for (const char* prefix : {"iso8859", "iso"}) {
    std::string rest = digitsAfter(prefix);
    if (std::strcmp(prefix, "iso") == 0 && rest.rfind("8859", 0) != 0) continue;
    if (std::strcmp(prefix, "iso") == 0) rest = rest.substr(4);
    // Drop a trailing year ("iso_8859-1:1987" -> "11987").
    if (rest.size() > 4) rest.resize(rest.size() - 4);
    const std::string name = "ISO-8859-" + rest;
    if (!rest.empty() && findCanonical(name)) return name;
  }
  for (const char* prefix : {"windows", "cp", "xcp", "mscp"}) {
    const std::string rest = digitsAfter(prefix);
    if (rest.size() == 4 && rest.compare(0, 3, "125") == 0 && rest[3] >= '0' && rest[3] <= '8') {
      return "windows-" + rest;
    }
  }
  return {};
}

const Charset* lookupLabel(std::string_view label) {
  const std::string canon = canonicalFromKey(normalizeLabel(label));
  return canon.empty() ? nullptr : findCanonical(canon);
}

bool isBlank(std::string_view s) {
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '"' && c != '\'') return false;
  }
  return true;
}

void decodeAscii(std::string_view bytes, DecodeResult& r) {
  r.utf8.reserve(bytes.size());
  for (const char c : bytes) {
    if (static_cast<unsigned char>(c) < 0x80) {
      r.utf8.push_back(c);
    } else {
      internal::appendReplacement(r.utf8);
      ++r.invalid;
    }
  }
}

/// Decodes with `cs`; returns false only when the libc lacks the converter.
bool decodeWith(std::string_view bytes, const Charset& cs, DecodeResult& r) {
  r.utf8.clear();
  r.invalid = 0;
  r.charset = cs.canonical;
  switch (cs.kind) {
    case Kind::kAscii:
      decodeAscii(bytes, r);
      return true;
    case Kind::kUtf8:
      if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);  // BOM is not content
      r.utf8 = sanitizeUtf8(bytes, &r.invalid);
      return true;
    case Kind::kCp932:
      r.utf8.reserve(bytes.size() * 3 / 2 + 16);
      return internal::iconvDecode(bytes, "CP932", SkipKind::kShiftJis, r.utf8, &r.invalid,
                                   "SHIFT_JISX0213");
    case Kind::kEucJp:
      r.utf8.reserve(bytes.size() * 3 / 2 + 16);
      internal::decodeEucJp(bytes, r.utf8, &r.invalid);
      return true;
    case Kind::kIso2022Jp:
      r.utf8.reserve(bytes.size() + 16);
      internal::decodeIso2022Jp(bytes, r.utf8, &r.invalid);
      return true;
    case Kind::kIconv:
      return internal::iconvDecode(bytes, cs.iconv_name, cs.skip, r.utf8, &r.invalid);
  }
  return false;
}

std::size_t highByteCount(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += static_cast<unsigned char>(c) >= 0x80;
  return n;
}

/// Decodes by detection alone (no usable label).
void decodeDetected(std::string_view bytes, DecodeResult& r) {
  const internal::Detection d = internal::detect(bytes, true);
  const Charset* cs = findCanonical(d.charset);
  if (!cs || !decodeWith(bytes, *cs, r)) {
    decodeWith(bytes, *findCanonical("windows-1252"), r);
  }
}

/// The label decoded; should detection be allowed to overrule it?
bool labelIsWrong(std::string_view bytes, const Charset& declared, const DecodeResult& got,
                  const internal::Detection& d, const DecodeResult& alt) {
  if (alt.invalid > got.invalid) return false;
  // Pure 7-bit input under a label that is not ASCII-compatible (ISO-2022-*, UTF-7): the label's
  // own decoder knows the escapes; "US-ASCII" would only pass raw ESC bytes through.
  if (d.charset == "US-ASCII") return false;
  if (d.strong) {
    if (got.invalid > 0) return alt.invalid < got.invalid;
    switch (declared.family) {
      case Family::kLatin:
        // A clean single-byte decode proves nothing; strong evidence (valid multibyte UTF-8,
        // kana-bearing Japanese, ISO-2022-JP escapes) wins.
        return true;
      case Family::kJapanese: {
        if (declared.kind == Kind::kCp932 || declared.kind == Kind::kEucJp) {
          // Keep the label when its own reading is plausible Japanese (kana present, no errors).
          const internal::JaStats st =
              internal::japaneseStats(bytes, declared.kind == Kind::kCp932);
          return !(st.bad == 0 && st.kana > 0);
        }
        return false;
      }
      case Family::kOther:
        return false;
    }
  }
  // Weak guess (statistics or the windows-1252 default): only when the label clearly fails.
  if (got.invalid == 0 || alt.invalid >= got.invalid) return false;
  if (declared.kind == Kind::kAscii) return true;  // any 8-bit byte disproves US-ASCII
  if (declared.kind == Kind::kIso2022Jp && d.charset == "windows-1252" &&
      internal::hasJisEscape(bytes)) {
    return false;  // real ISO-2022-JP with stray bytes: keep the Japanese
  }
  return got.invalid * 2 >= highByteCount(bytes);
}

DecodeResult decode(std::string_view bytes, std::string_view declared_charset) {
  DecodeResult r;
  const Charset* cs = lookupLabel(declared_charset);
  const bool undeclared = isBlank(declared_charset);

  if (!cs) {
    if (internal::isAscii(bytes) && !internal::hasJisEscape(bytes)) {
      r.utf8.assign(bytes);
      r.charset = "US-ASCII";
    } else {
      decodeDetected(bytes, r);
    }
    r.guessed = !undeclared || r.charset != "US-ASCII";
    return r;
  }

  // Fast paths: the overwhelmingly common cases cost one validation pass and one copy.
  if (cs->ascii_compatible && !internal::hasJisEscape(bytes)) {
    if (internal::isAscii(bytes)) {
      r.utf8.assign(bytes);
      r.charset = cs->canonical;
      return r;
    }
    if (cs->kind == Kind::kUtf8 && isValidUtf8(bytes)) {
      if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
      r.utf8.assign(bytes);
      r.charset = cs->canonical;
      return r;
    }
  }

  if (!decodeWith(bytes, *cs, r)) {
    decodeDetected(bytes, r);
    r.guessed = true;
    return r;
  }
  const bool suspicious = r.invalid > 0 || cs->family != Family::kOther ||
                          (cs->ascii_compatible && internal::hasJisEscape(bytes));
  if (!suspicious || (cs->kind == Kind::kIso2022Jp && r.invalid == 0)) return r;

  const internal::Detection d = internal::detect(bytes, true);
  if (d.charset == cs->canonical) return r;
  const Charset* alt_cs = findCanonical(d.charset);
  if (!alt_cs) return r;
  DecodeResult alt;
  if (!decodeWith(bytes, *alt_cs, alt)) return r;
  if (labelIsWrong(bytes, *cs, r, d, alt)) {
    alt.guessed = true;
    return alt;
  }
  return r;
}

}  // namespace

std::string canonicalCharset(std::string_view label) {
  try {
    const Charset* cs = lookupLabel(label);
    return cs ? cs->canonical : std::string();
  } catch (...) {
    return {};
  }
}

DecodeResult toUtf8(std::string_view bytes, std::string_view declared_charset) {
  try {
    return decode(bytes, declared_charset);
  } catch (...) {
    // Only allocation failure can get here; report everything as undecodable.
    DecodeResult r;
    r.charset = "US-ASCII";
    r.guessed = true;
    r.invalid = bytes.size();
    return r;
  }
}

void preloadConverters() {
  // Non-ASCII bytes through each known charset (pure ASCII never reaches iconv): the thread's
  // iconv cache keeps each descriptor (and so its gconv module) open for the life of the thread.
  for (const Charset& cs : kCharsets) toUtf8("\x82\xa0\xa4\xa2\x1b$B$\"\x1b(Ba", cs.canonical);
  // ICU's UTS #46 data for link hosts (url.cpp), loaded once and kept.
  if (auto u = parseUrl("https://\xD0\xB0.example/")) (void)hostMixesScripts(hostToUnicode(*u->host));
}

}  // namespace mugai::text
