// TNEF (winmail.dat, application/ms-tnef): our own bounded reader (MS-OXTNEF). It takes out the
// attachments (name and bytes) and the message body; the walker sends each through the policy.
//
// Why not libytnef: it prints diagnostics for hostile input with printf() to standard output
// (which is the message stream of `mugai mail -o -` and the service's log), it has had a long
// list of memory-safety CVEs, and it holds every attribute in memory without limits. What we
// need is small: a flat list of checksummed attributes and one MAPI property encoding.
#include <cstdint>
#include <cstring>
#include <optional>

#include "mugai/text/charset.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

constexpr std::uint32_t kSignature = 0x223E9F78;
// Attribute ids (the low 16 bits of the attribute; MS-OXTNEF 2.1.3.2).
constexpr std::uint16_t kAttSubject = 0x8004, kAttBody = 0x800C, kAttAttachData = 0x800F,
                        kAttAttachTitle = 0x8010, kAttAttachRendData = 0x9002,
                        kAttMapiProps = 0x9003, kAttAttachment = 0x9005;
// MAPI property ids (MS-OXPROPS).
constexpr std::uint16_t kPrBody = 0x1000, kPrRtfCompressed = 0x1009, kPrBodyHtml = 0x1013,
                        kPrAttachDataBin = 0x3701, kPrAttachLongFilename = 0x3707;

struct Reader {
  std::string_view d;
  std::size_t pos = 0;
  bool ok = true;
  std::uint32_t u32() {
    if (d.size() - pos < 4) return ok = false, 0;
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[pos + static_cast<std::size_t>(i)]);
    pos += 4;
    return v;
  }
  std::string_view take(std::size_t n) {
    if (d.size() - pos < n) return ok = false, std::string_view();
    std::string_view v = d.substr(pos, n);
    pos += n;
    return v;
  }
  void skip(std::size_t n) { take(n); }
};

std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

std::uint32_t le32(std::string_view d, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[at + static_cast<std::size_t>(i)]);
  return v;
}

/// PR_RTF_COMPRESSED ([MS-OXRTFCP] 2.1.3): a 16-byte header (compressed size counted from
/// offset 4, raw size, "MELA" = stored or "LZFu", CRC), then for LZFu a control byte per eight
/// tokens (bit set: a big-endian 16-bit dictionary reference, 12-bit offset and 4-bit length - 2;
/// clear: a literal) over a 4096-byte ring that starts with a fixed RTF prefix; a reference to
/// the current write position ends the stream. Nothing when damaged or larger than `max`.
std::optional<std::string> decompressRtf(std::string_view c, std::size_t max) {
  static constexpr char kPrefix[] =
      "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern "
      "\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0"
      "\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
  static_assert(sizeof(kPrefix) - 1 == 207, "MS-OXRTFCP's dictionary prefix is 207 bytes");
  if (c.size() < 16) return std::nullopt;
  std::uint32_t comp = le32(c, 0), raw = le32(c, 4), magic = le32(c, 8);
  if (raw > max) return std::nullopt;
  if (magic == 0x414C454Du) {  // "MELA": stored
    if (raw > c.size() - 16) return std::nullopt;
    return std::string(c.substr(16, raw));
  }
  if (magic != 0x75465A4Cu || comp < 12) return std::nullopt;  // "LZFu"
  std::string_view in = c.substr(16, std::min<std::size_t>(comp - 12, c.size() - 16));
  unsigned char dict[4096] = {};
  std::memcpy(dict, kPrefix, 207);
  std::size_t wp = 207, i = 0;
  std::string out;
  auto put = [&](unsigned char ch) {
    out += static_cast<char>(ch);
    dict[wp] = ch;
    wp = (wp + 1) % 4096;
  };
  while (i < in.size()) {
    unsigned char control = static_cast<unsigned char>(in[i++]);
    for (int bit = 0; bit < 8; ++bit) {
      if (i >= in.size()) return out.size() <= raw ? std::optional<std::string>(out) : std::nullopt;
      if (control & (1u << bit)) {
        if (i + 2 > in.size()) return std::nullopt;
        unsigned v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 8) |
                     static_cast<unsigned char>(in[i + 1]);
        i += 2;
        std::size_t off = v >> 4, len = (v & 0xF) + 2;
        if (off == wp) return out;  // the end
        for (std::size_t k = 0; k < len; ++k) put(dict[(off + k) % 4096]);
      } else {
        put(static_cast<unsigned char>(in[i++]));
      }
      if (out.size() > raw) return std::nullopt;
    }
  }
  return out;
}

/// A MAPI string value as UTF-8, trailing NULs gone.
std::string mapiString(std::uint16_t type, std::string_view v) {
  std::string s = text::toUtf8(v, type == 0x1F ? "UTF-16LE" : "").utf8;
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

/// Calls f(id, type, first value) for each property of a MAPI property list (MS-OXTNEF 2.1.3.4).
template <typename F>
std::optional<std::string> mapiProps(std::string_view data, std::size_t max_props, F f) {
  Reader r{data};
  std::uint32_t count = r.u32();
  if (!r.ok || count > max_props) return "MAPI property list too long or cut short";
  for (std::uint32_t i = 0; i < count && r.ok; ++i) {
    std::uint32_t tag = r.u32();
    std::uint16_t type = static_cast<std::uint16_t>(tag & 0xFFFF), id = static_cast<std::uint16_t>(tag >> 16);
    if (id >= 0x8000) {  // a named property: GUID, then an id or a name
      r.skip(16);
      std::uint32_t kind = r.u32();
      if (kind == 0) r.skip(4);
      else if (kind == 1) r.skip(pad4(r.u32()));
      else return "bad named property";
    }
    bool multi = (type & 0x1000) != 0;
    auto base = static_cast<std::uint16_t>(type & 0x0FFF);
    bool variable = base == 0x1E || base == 0x1F || base == 0x102 || base == 0x0D;
    std::size_t fixed = base == 0x2 || base == 0x3 || base == 0x4 || base == 0xA || base == 0xB ? 4
                        : base == 0x5 || base == 0x6 || base == 0x7 || base == 0x14 || base == 0x40 ? 8
                        : base == 0x48 ? 16 : 0;
    if (!variable && fixed == 0) return "unknown MAPI property type";
    std::uint32_t values = (multi || variable) ? r.u32() : 1;
    if (values > max_props) return "too many MAPI values";
    for (std::uint32_t v = 0; v < values && r.ok; ++v) {
      std::string_view value;
      if (variable) {
        std::uint32_t len = r.u32();
        value = r.take(len);
        r.skip(pad4(len) - len);
        if (base == 0x0D && value.size() >= 16) value.remove_prefix(16);  // the object's IID
      } else {
        value = r.take(fixed);
      }
      if (v == 0 && r.ok) f(id, base, value);
    }
  }
  if (!r.ok) return "MAPI property list cut short";
  return std::nullopt;
}

}  // namespace

TnefContents readTnef(std::string_view data, std::size_t max_files, std::size_t max_props,
                      std::size_t max_rtf_bytes) {
  TnefContents out;
  Reader r{data};
  if (r.u32() != kSignature || !r.ok) return out.detail = "not TNEF", out;
  r.skip(2);  // legacy key
  auto current = [&]() -> TnefFile& {
    if (out.files.empty()) out.files.emplace_back();
    return out.files.back();
  };
  std::size_t attributes = 0;
  while (r.ok && r.pos < data.size()) {
    if (++attributes > max_props) return out.limit = true, out.detail = "too many TNEF attributes", out;
    std::string_view level = r.take(1);
    std::uint32_t attr = r.u32();
    std::uint32_t len = r.u32();
    std::string_view value = r.take(len);
    std::string_view sum = r.take(2);
    if (!r.ok || level.empty()) return out.detail = "TNEF attribute cut short", out;
    std::uint16_t check = 0;
    for (unsigned char c : value) check = static_cast<std::uint16_t>(check + c);
    if (static_cast<unsigned char>(sum[0]) != (check & 0xFF) || static_cast<unsigned char>(sum[1]) != (check >> 8))
      return out.detail = "TNEF attribute checksum is wrong", out;
    auto id = static_cast<std::uint16_t>(attr & 0xFFFF);
    std::optional<std::string> err;
    if (id == kAttAttachRendData) {
      if (out.files.size() >= max_files) return out.limit = true, out.detail = "too many TNEF attachments", out;
      out.files.emplace_back();
    } else if (id == kAttAttachTitle) {
      if (current().name.empty()) current().name = mapiString(0x1E, value);
    } else if (id == kAttAttachData) {
      current().data = std::string(value);
    } else if (id == kAttSubject) {
      out.subject = mapiString(0x1E, value);
    } else if (id == kAttBody) {
      out.body_text = mapiString(0x1E, value);
    } else if (id == kAttAttachment) {
      TnefFile& f = current();
      err = mapiProps(value, max_props, [&](std::uint16_t pid, std::uint16_t type, std::string_view v) {
        if (pid == kPrAttachLongFilename && (type == 0x1E || type == 0x1F)) f.name = mapiString(type, v);
        if (pid == kPrAttachDataBin && (type == 0x102 || type == 0x0D) && f.data.empty()) f.data = std::string(v);
      });
    } else if (id == kAttMapiProps) {
      err = mapiProps(value, max_props, [&](std::uint16_t pid, std::uint16_t type, std::string_view v) {
        if (pid == kPrBody && (type == 0x1E || type == 0x1F) && out.body_text.empty()) out.body_text = mapiString(type, v);
        if (pid == kPrBodyHtml) out.body_html = type == 0x1F ? mapiString(type, v) : std::string(v);
        if (pid == kPrRtfCompressed && type == 0x102) {
          out.rtf_body = true;
          if (auto rtf = decompressRtf(v, max_rtf_bytes)) out.body_rtf = std::move(*rtf);
        }
      });
    }
    if (err) return out.detail = *err, out;
  }
  if (!r.ok) return out.detail = "TNEF cut short", out;
  out.ok = true;
  return out;
}

}  // namespace mugai::pipeline
