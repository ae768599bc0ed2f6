// ISO-2022-JP (with CP50220 / ISO-2022-JP-MS extensions) and EUC-JP (CP51932 / eucJP-ms).
//
// Both encodings carry JIS X 0208 row/cell codes. Rather than trusting glibc's ISO-2022-JP or
// EUC-JP tables (which lack NEC row 13 and the IBM extensions Windows users type every day), each
// JIS X 0208 code is converted arithmetically to its Shift_JIS byte pair and the result decoded as
// CP932. Consecutive characters of the same kind are batched, so iconv is called once per run.
#include "src/text/text_internal.h"

namespace mugai::text::internal {
namespace {

constexpr const char* kCp932 = "CP932";
constexpr const char* kEucJpMs = "EUC-JP-MS";
constexpr const char* kEucJisx0213 = "EUC-JISX0213";
constexpr const char* kSjisx0213 = "SHIFT_JISX0213";
constexpr std::size_t kFlushAt = 64 * 1024;

struct Target {
  const char* iconv_name;
  SkipKind skip;
  const char* fallback;
};

// EUC-JP text is often really EUC-JIS-2004: codes CP932 / eucJP-ms reject are retried as
// JIS X 0213.
// ISO-2022-JP has its own designations for JIS X 0213, so under ESC $ B it stays strict.
constexpr Target kCp932Target{kCp932, SkipKind::kShiftJis, kSjisx0213};
constexpr Target kCp932StrictTarget{kCp932, SkipKind::kShiftJis, nullptr};
constexpr Target kEucJpMsTarget{kEucJpMs, SkipKind::kEucJp, kEucJisx0213};
constexpr Target kEucJpMsStrictTarget{kEucJpMs, SkipKind::kEucJp, nullptr};
constexpr Target kJisx0213Target{kEucJisx0213, SkipKind::kEucJp, nullptr};
constexpr Target kGb2312Target{"GB2312", SkipKind::kEucJp, nullptr};
constexpr Target kKsc5601Target{"EUC-KR", SkipKind::kEucJp, nullptr};
constexpr Target kGreekTarget{"ISO-8859-7", SkipKind::kSingle, nullptr};

/// Collects bytes destined for one iconv converter and flushes them when the converter changes.
class Sink {
 public:
  Sink(std::string& out, std::size_t* invalid) : out_(out), invalid_(invalid) {
    buf_.reserve(256);
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() { flush(); }

  void put(const Target& t, unsigned char b) {
    select(t);
    buf_.push_back(static_cast<char>(b));
  }
  void put(const Target& t, unsigned char b0, unsigned char b1) {
    select(t);
    buf_.push_back(static_cast<char>(b0));
    buf_.push_back(static_cast<char>(b1));
  }
  void put(const Target& t, unsigned char b0, unsigned char b1, unsigned char b2) {
    select(t);
    buf_.push_back(static_cast<char>(b0));
    buf_.push_back(static_cast<char>(b1));
    buf_.push_back(static_cast<char>(b2));
  }
  /// ASCII is identical in CP932 (glibc maps 0x5C/0x7E to U+005C/U+007E), so it joins that run.
  void ascii(unsigned char b) {
    if (target_ == &kCp932Target || target_ == &kCp932StrictTarget) {
      buf_.push_back(static_cast<char>(b));
    } else {
      flush();
      out_.push_back(static_cast<char>(b));
    }
  }
  void codePoint(char32_t cp) {
    flush();
    appendUtf8(out_, cp);
  }
  void bad() {
    flush();
    appendReplacement(out_);
    if (invalid_) ++*invalid_;
  }
  void flush() {
    if (!buf_.empty() && target_) {
      if (!iconvDecode(buf_, target_->iconv_name, target_->skip, out_, invalid_,
                       target_->fallback)) {
        // Converter unavailable in this libc: every byte is undecodable.
        for (std::size_t i = 0; i < buf_.size(); ++i) appendReplacement(out_);
        if (invalid_) *invalid_ += buf_.size();
      }
    }
    buf_.clear();
  }

 private:
  void select(const Target& t) {
    if (target_ != &t || buf_.size() >= kFlushAt) {
      flush();
      target_ = &t;
    }
  }

  std::string& out_;
  std::size_t* invalid_;
  std::string buf_;
  const Target* target_ = nullptr;
};

/// JIS X 0208 row/cell (0x21-0x7E each) to the Shift_JIS pair (CP932 for rows 13 and 89-92).
inline void jisToSjis(unsigned char j1, unsigned char j2, unsigned char* s1, unsigned char* s2) {
  *s1 = static_cast<unsigned char>(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
  if (j1 & 1) {
    *s2 = static_cast<unsigned char>(j2 + (j2 <= 0x5F ? 0x1F : 0x20));
  } else {
    *s2 = static_cast<unsigned char>(j2 + 0x7E);
  }
}

/// One JIS X 0208 character (j1, j2 in 0x21-0x7E). Rows 1-84 and the NEC-selected IBM rows 89-92
/// go through CP932; the user-defined rows 85-88 and 93-94 map to the PUA as eucJP-ms does.
inline void putJis0208(Sink& sink, unsigned char j1, unsigned char j2, bool strict) {
  if ((j1 >= 0x75 && j1 <= 0x78) || j1 >= 0x7D) {
    sink.put(strict ? kEucJpMsStrictTarget : kEucJpMsTarget, j1 | 0x80, j2 | 0x80);
    return;
  }
  unsigned char s1, s2;
  jisToSjis(j1, j2, &s1, &s2);
  sink.put(strict ? kCp932StrictTarget : kCp932Target, s1, s2);
}

inline bool isGl(unsigned char b) { return b >= 0x21 && b <= 0x7E; }
inline bool isGr(unsigned char b) { return b >= 0xA1 && b <= 0xFE; }

enum class G0 : std::uint8_t {
  kAscii,
  kRoman,     // JIS X 0201 Roman: 0x5C is YEN SIGN, 0x7E is OVERLINE
  kKatakana,  // JIS X 0201 katakana
  kJis0208,
  kJis0212,
  kJisx0213Plane1,
  kJisx0213Plane2,
  kGb2312,
  kKsc5601,
};

enum class G2 : std::uint8_t { kNone, kLatin1, kGreek };

bool isDoubleByte(G0 g) {
  return g != G0::kAscii && g != G0::kRoman && g != G0::kKatakana;
}

/// What the escapes and shifts read so far have designated.
struct JisState {
  G0 g0 = G0::kAscii;
  G2 g2 = G2::kNone;
  bool shifted_out = false;  // SO ... SI: JIS X 0201 katakana (CP50221/CP50222 style)
};

/// The escape sequence at p[0] (ESC), `left` bytes to the end: its length, or 0 when it is
/// unknown or truncated. A designation changes `st`; a single shift (ESC N) writes its character.
std::size_t readEscape(const unsigned char* p, std::size_t left, JisState& st, Sink& sink) {
  const unsigned char a = left > 1 ? p[1] : 0;
  const unsigned char c = left > 2 ? p[2] : 0;
  const unsigned char d = left > 3 ? p[3] : 0;
  if (a == '(' && c) {
    switch (c) {
      case 'B': st.g0 = G0::kAscii; return 3;
      case 'J':
      case 'H': st.g0 = G0::kRoman; return 3;
      case 'I': st.g0 = G0::kKatakana; return 3;
      default: return 0;
    }
  }
  if (a == '$' && (c == '@' || c == 'B')) {
    st.g0 = G0::kJis0208;
    return 3;
  }
  if (a == '$' && c == 'A') {
    st.g0 = G0::kGb2312;
    return 3;
  }
  if (a == '$' && c == '(' && d) {
    switch (d) {
      case '@':
      case 'B': st.g0 = G0::kJis0208; return 4;
      case 'C': st.g0 = G0::kKsc5601; return 4;
      case 'D': st.g0 = G0::kJis0212; return 4;
      case 'O':
      case 'Q': st.g0 = G0::kJisx0213Plane1; return 4;
      case 'P': st.g0 = G0::kJisx0213Plane2; return 4;
      default: return 0;
    }
  }
  if (a == '&' && c == '@') return 3;  // the JIS X 0208-1990 announcer: the ESC $ B after it counts
  if (a == '.' && (c == 'A' || c == 'F')) {
    st.g2 = c == 'A' ? G2::kLatin1 : G2::kGreek;
    return 3;
  }
  if (a == 'N' && c >= 0x20 && c <= 0x7F && st.g2 != G2::kNone) {
    if (st.g2 == G2::kLatin1) {
      sink.codePoint(static_cast<char32_t>(c | 0x80));
    } else {
      sink.put(kGreekTarget, static_cast<unsigned char>(c | 0x80));
    }
    return 3;
  }
  return 0;
}

/// One GL byte (0x21-0x7E) in a single-byte set: ASCII, JIS X 0201 Roman or katakana.
void putSingle(unsigned char b, const JisState& st, Sink& sink) {
  if (st.shifted_out || st.g0 == G0::kKatakana) {
    if (b <= 0x5F) {
      sink.put(kCp932StrictTarget, static_cast<unsigned char>(b | 0x80));
    } else {
      sink.bad();
    }
  } else if (st.g0 == G0::kRoman && b == 0x5C) {
    sink.codePoint(0x00A5);
  } else if (st.g0 == G0::kRoman && b == 0x7E) {
    sink.codePoint(0x203E);
  } else {
    sink.ascii(b);
  }
}

/// One character (two GL bytes) in a double-byte set.
void putDouble(G0 g0, unsigned char j1, unsigned char j2, Sink& sink) {
  switch (g0) {
    case G0::kJis0208: putJis0208(sink, j1, j2, true); break;
    case G0::kJis0212: sink.put(kEucJpMsStrictTarget, 0x8F, j1 | 0x80, j2 | 0x80); break;
    case G0::kJisx0213Plane1: sink.put(kJisx0213Target, j1 | 0x80, j2 | 0x80); break;
    case G0::kJisx0213Plane2: sink.put(kJisx0213Target, 0x8F, j1 | 0x80, j2 | 0x80); break;
    case G0::kGb2312: sink.put(kGb2312Target, j1 | 0x80, j2 | 0x80); break;
    case G0::kKsc5601: sink.put(kKsc5601Target, j1 | 0x80, j2 | 0x80); break;
    default: sink.bad(); break;
  }
}

}  // namespace

bool hasJisEscape(std::string_view s) {
  for (std::size_t i = s.find('\x1B'); i != std::string_view::npos; i = s.find('\x1B', i + 1)) {
    if (i + 2 >= s.size()) break;
    const char a = s[i + 1], b = s[i + 2];
    if (a == '$' && (b == 'B' || b == '@')) return true;
    if (a == '(' && (b == 'J' || b == 'I')) return true;
    if (a == '$' && b == '(' && i + 3 < s.size()) {
      const char c = s[i + 3];
      if (c == 'D' || c == 'O' || c == 'P' || c == 'Q' || c == 'B') return true;
    }
  }
  return false;
}

void decodeIso2022Jp(std::string_view in, std::string& out, std::size_t* invalid) {
  Sink sink(out, invalid);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  JisState st;
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b == 0x1B) {
      const std::size_t len = readEscape(p + i, n - i, st, sink);
      if (len == 0) sink.bad();  // unknown or truncated escape: drop the ESC, re-read what follows
      i += len ? len : 1;
    } else if (b == 0x0E || b == 0x0F) {  // SO, SI
      st.shifted_out = b == 0x0E;
      ++i;
    } else if (b >= 0x80) {
      sink.bad();
      ++i;
    } else if (b < 0x21 || b == 0x7F) {
      // Controls and space pass through in every mode: broken mailers often forget ESC ( B
      // before a line break, and the line break must survive.
      sink.ascii(b);
      ++i;
    } else if (st.shifted_out || !isDoubleByte(st.g0)) {
      putSingle(b, st, sink);
      ++i;
    } else if (i + 1 >= n || !isGl(p[i + 1])) {
      sink.bad();  // a double-byte set needs a second GL byte
      ++i;
    } else {
      putDouble(st.g0, b, p[i + 1], sink);
      i += 2;
    }
  }
}

void decodeEucJp(std::string_view in, std::string& out, std::size_t* invalid) {
  Sink sink(out, invalid);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      sink.ascii(b);
      ++i;
    } else if (b == 0x8E && i + 1 < n && p[i + 1] >= 0xA1 && p[i + 1] <= 0xDF) {
      sink.put(kCp932Target, p[i + 1]);  // half-width katakana, same byte in CP932
      i += 2;
    } else if (b == 0x8F && i + 2 < n && isGr(p[i + 1]) && isGr(p[i + 2])) {
      sink.put(kEucJpMsTarget, b, p[i + 1], p[i + 2]);  // JIS X 0212 (and eucJP-ms IBM ext.)
      i += 3;
    } else if (isGr(b) && i + 1 < n && isGr(p[i + 1])) {
      putJis0208(sink, b & 0x7F, p[i + 1] & 0x7F, false);
      i += 2;
    } else {
      sink.bad();
      ++i;
    }
  }
}

}  // namespace mugai::text::internal
