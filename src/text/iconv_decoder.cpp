// glibc iconv wrapper: per-thread descriptor cache, U+FFFD substitution, linear growth.
#include <iconv.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "src/text/text_internal.h"

namespace mugai::text::internal {
namespace {

const iconv_t kNoConverter = reinterpret_cast<iconv_t>(-1);

/// iconv descriptors are not thread-safe, so each thread keeps its own, opened once per charset
/// (failures are remembered too, so an unsupported name costs one iconv_open per thread).
class IconvCache {
 public:
  IconvCache() = default;
  IconvCache(const IconvCache&) = delete;
  IconvCache& operator=(const IconvCache&) = delete;
  ~IconvCache() {
    for (auto& e : entries_) {
      if (e.cd != kNoConverter) iconv_close(e.cd);
    }
  }

  iconv_t get(const char* name) {
    for (auto& e : entries_) {
      if (e.name == name) {
        if (e.cd != kNoConverter) iconv(e.cd, nullptr, nullptr, nullptr, nullptr);
        return e.cd;
      }
    }
    iconv_t cd = iconv_open("UTF-8", name);
    entries_.push_back({name, cd});
    return cd;
  }

 private:
  struct Entry {
    std::string name;
    iconv_t cd;
  };
  std::vector<Entry> entries_;
};

IconvCache& cache() {
  thread_local IconvCache c;
  return c;
}

bool inRange(unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; }

/// Size of the unit to drop at p (at least 1, at most what is left).
std::size_t skipLength(const unsigned char* p, std::size_t n, SkipKind kind) {
  if (n < 2) return n;
  const unsigned char b0 = p[0], b1 = p[1];
  switch (kind) {
    case SkipKind::kSingle:
      return 1;
    case SkipKind::kShiftJis:
      return ((inRange(b0, 0x81, 0x9F) || inRange(b0, 0xE0, 0xFC)) &&
              (inRange(b1, 0x40, 0x7E) || inRange(b1, 0x80, 0xFC)))
                 ? 2
                 : 1;
    case SkipKind::kEucJp:
      if (b0 == 0x8F && n >= 3 && inRange(b1, 0xA1, 0xFE) && inRange(p[2], 0xA1, 0xFE)) return 3;
      if (b0 == 0x8E) return inRange(b1, 0xA1, 0xDF) ? 2 : 1;
      return (inRange(b0, 0xA1, 0xFE) && inRange(b1, 0xA1, 0xFE)) ? 2 : 1;
    case SkipKind::kGb18030:
      if (inRange(b0, 0x81, 0xFE) && inRange(b1, 0x30, 0x39) && n >= 4 &&
          inRange(p[2], 0x81, 0xFE) && inRange(p[3], 0x30, 0x39)) {
        return 4;
      }
      [[fallthrough]];
    case SkipKind::kDoubleByte:
      return (inRange(b0, 0x81, 0xFE) && (inRange(b1, 0x40, 0x7E) || inRange(b1, 0x80, 0xFE)))
                 ? 2
                 : 1;
  }
  return 1;
}

/// Runs one conversion of [in, in+len) with `cd` (already reset), appending to out. Returns the
/// number of input bytes consumed; stops at the first rejected byte, with errno-like *err.
/// Output goes through a fixed per-thread scratch buffer, so the cost of a call is proportional
/// to what it converts (a rejected byte every other byte must not cost a big allocation each).
std::size_t convert(iconv_t cd, const char* in, std::size_t len, std::string& out, int* err) {
  thread_local std::array<char, 16 * 1024> scratch;
  *err = 0;
  char* inp = const_cast<char*>(in);
  std::size_t inleft = len;
  while (true) {
    char* outp = scratch.data();
    std::size_t outleft = scratch.size();
    const std::size_t rc = inleft ? iconv(cd, &inp, &inleft, &outp, &outleft)
                                  : iconv(cd, nullptr, nullptr, &outp, &outleft);  // flush state
    const int e = rc == static_cast<std::size_t>(-1) ? errno : 0;
    out.append(scratch.data(), static_cast<std::size_t>(outp - scratch.data()));
    if (e == E2BIG) continue;
    if (e != 0) {
      *err = e;
      return len - inleft;
    }
    if (inleft == 0) {
      // One more call with null input flushes pending shift state or a buffered character.
      outp = scratch.data();
      outleft = scratch.size();
      iconv(cd, nullptr, nullptr, &outp, &outleft);
      out.append(scratch.data(), static_cast<std::size_t>(outp - scratch.data()));
      return len;
    }
  }
}

}  // namespace

bool iconvDecode(std::string_view in, const char* iconv_name, SkipKind skip, std::string& out,
                 std::size_t* invalid, const char* fallback_name) {
  IconvCache& c = cache();
  iconv_t cd = c.get(iconv_name);
  if (cd == kNoConverter) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t pos = 0;
  while (pos < in.size()) {
    int err = 0;
    pos += convert(cd, in.data() + pos, in.size() - pos, out, &err);
    if (err == 0) break;
    // EILSEQ: rejected unit; EINVAL: truncated at the end. Either way drop one unit.
    const std::size_t unit = skipLength(bytes + pos, in.size() - pos, skip);
    bool rescued = false;
    if (fallback_name && unit > 1) {
      iconv_t fb = c.get(fallback_name);
      if (fb != kNoConverter) {
        const std::size_t mark = out.size();
        int fb_err = 0;
        const std::size_t used = convert(fb, in.data() + pos, unit, out, &fb_err);
        rescued = fb_err == 0 && used == unit && out.size() > mark;
        if (!rescued) out.resize(mark);
      }
      cd = c.get(iconv_name);  // get() resets the shift state of the primary converter
    } else {
      iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
    if (!rescued) {
      appendReplacement(out);
      if (invalid) ++*invalid;
    }
    pos += unit;
  }
  return true;
}

}  // namespace mugai::text::internal
