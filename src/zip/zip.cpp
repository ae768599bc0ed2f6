// Bounded ZIP reader and raw-copying writer (see zip.h for Trust / Limits / Errors).
#include "src/zip/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "mugai/core/digest.h"

namespace mugai::zip {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kLocalSize = 30;
constexpr std::uint32_t k32 = 0xffffffffu;

std::uint16_t rd16(std::string_view d, std::size_t o) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(d[o]) |
                                    (static_cast<unsigned char>(d[o + 1]) << 8));
}
std::uint32_t rd32(std::string_view d, std::size_t o) {
  return static_cast<std::uint32_t>(rd16(d, o)) |
         (static_cast<std::uint32_t>(rd16(d, o + 2)) << 16);
}
std::uint64_t rd64(std::string_view d, std::size_t o) {
  return static_cast<std::uint64_t>(rd32(d, o)) |
         (static_cast<std::uint64_t>(rd32(d, o + 4)) << 32);
}
void wr16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void wr32(std::string& s, std::uint32_t v) {
  wr16(s, static_cast<std::uint16_t>(v & 0xffff));
  wr16(s, static_cast<std::uint16_t>(v >> 16));
}

/// The fields a local header and its central directory entry share, from "version needed" to the
/// name length (APPNOTE 4.3.7 and 4.3.12); sizes are classic 32-bit, checked by the caller.
template <class Entry>
void wrSharedFields(std::string& s, const Entry& c) {
  wr16(s, c.method == 0 ? 10 : 20);  // version needed
  wr16(s, c.flags);
  wr16(s, c.method);
  wr16(s, c.mod_time);
  wr16(s, c.mod_date);
  wr32(s, c.crc);
  wr32(s, static_cast<std::uint32_t>(c.csize));
  wr32(s, static_cast<std::uint32_t>(c.usize));
  wr16(s, static_cast<std::uint16_t>(c.name.size()));
}

/// Member names are untrusted: keep them printable and short in details.
std::string shown(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 120)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

Failure fail(Reason r, std::string detail) { return Failure{r, std::move(detail)}; }

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// Reads the ZIP64 extended information extra field (0x0001): only the fields whose 32-bit
/// value was 0xffffffff are present, in this order.
bool applyZip64Extra(std::string_view extra, Entry& e, bool usize32, bool csize32, bool off32) {
  std::size_t p = 0;
  while (p + 4 <= extra.size()) {
    std::uint16_t id = rd16(extra, p), len = rd16(extra, p + 2);
    if (p + 4 + len > extra.size()) return false;
    if (id == 0x0001) {
      std::string_view f = extra.substr(p + 4, len);
      std::size_t q = 0;
      auto take = [&](std::uint64_t& v) {
        if (q + 8 > f.size()) return false;
        v = rd64(f, q);
        q += 8;
        return true;
      };
      if (usize32 && !take(e.uncompressed_size)) return false;
      if (csize32 && !take(e.compressed_size)) return false;
      if (off32 && !take(e.local_offset)) return false;
      return true;
    }
    p += 4 + len;
  }
  return !(usize32 || csize32 || off32);
}

/// Streams the inflated bytes of `raw` into `sink` (called with chunks); stops with a failure
/// when more than `limit` bytes come out or the stream is broken.
template <typename Sink>
std::optional<Failure> inflateRaw(std::string_view raw, std::uint64_t limit,
                                  const std::string& name, Sink&& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return fail(Reason::CdrFailed, "zlib init failed");
  unsigned char buf[65536];
  std::uint64_t total = 0;
  std::size_t fed = 0;
  int rc = Z_OK;
  std::optional<Failure> result;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && fed < raw.size()) {
      std::size_t n = std::min<std::size_t>(raw.size() - fed, 1u << 30);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      result = fail(Reason::ParseMalformed, "broken deflate data in " + shown(name));
      break;
    }
    std::size_t got = sizeof buf - zs.avail_out;
    total += got;
    if (total > limit) {
      result =
          fail(Reason::ParseMalformed, "member expands beyond its declared size: " + shown(name));
      break;
    }
    if (got) sink(reinterpret_cast<const char*>(buf), got);
    if (rc == Z_OK && got == 0 && zs.avail_in == 0 && fed >= raw.size()) {
      result = fail(Reason::ParseMalformed, "truncated deflate data in " + shown(name));
      break;
    }
  }
  inflateEnd(&zs);
  if (!result && total != limit)
    result = fail(Reason::ParseMalformed,
                  "member size differs from its directory entry: " + shown(name));
  return result;
}

}  // namespace

ReadLimits ReadLimits::fromLimits(const Limits& l) {
  ReadLimits r;
  r.max_entries = l.document_object_limit;
  r.max_expanded = l.expanded_size_limit;
  r.max_ratio = l.expansion_ratio_limit;
  return r;
}

std::optional<std::uint64_t> countEntriesQuickly(std::string_view data) {
  std::uint64_t declared = 0, walked = 0, local = 0;
  bool zip = data.size() >= 4 && rd32(data, 0) == kLocalSig;
  if (data.size() >= kEndSize) {
    std::size_t lowest = data.size() > kEndSize + 65535 ? data.size() - kEndSize - 65535 : 0;
    std::size_t eocd = std::string_view::npos;
    for (std::size_t p = data.size() - kEndSize + 1; p-- > lowest;) {
      if (rd32(data, p) == kEndSig) {
        eocd = p;
        break;
      }
    }
    if (eocd != std::string_view::npos) {
      zip = true;
      declared = rd16(data, eocd + 10);
      std::uint64_t cd_offset = rd32(data, eocd + 16);
      if (eocd >= 20 && rd32(data, eocd - 20) == kZip64LocatorSig) {
        std::uint64_t z = rd64(data, eocd - 20 + 8);
        if (z <= eocd - 20 && eocd - 20 - z >= 56 && rd32(data, z) == kZip64EndSig) {
          declared = std::max(declared, rd64(data, z + 32));
          cd_offset = rd64(data, z + 48);
        }
      }
      for (std::uint64_t p = cd_offset;
           p + kCentralSize <= data.size() && rd32(data, p) == kCentralSig;) {
        ++walked;
        p += kCentralSize + rd16(data, p + 28) + rd16(data, p + 30) + rd16(data, p + 32);
      }
    }
  }
  if (!zip) return std::nullopt;
  static constexpr char kSig[4] = {'P', 'K', 3, 4};
  for (std::size_t p = 0; (p = data.find(std::string_view(kSig, 4), p)) != std::string_view::npos;
       p += 4)
    ++local;
  return std::max({declared, walked, local});
}

bool safeName(std::string_view name) {
  if (name.empty() || name.size() > 1024) return false;
  if (name.front() == '/') return false;
  if (name.size() >= 2 && name[1] == ':') return false;  // drive letter
  for (char c : name) {
    if (c == '\0' || c == '\\') return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view comp = name.substr(start, slash - start);
    if (comp == ".." || comp == ".") return false;
    if (comp.empty() && slash != name.size()) return false;  // "a//b"
    start = slash + 1;
  }
  return true;
}

namespace {

/// Where the central directory is, from the end record (and the ZIP64 one when it says so).
struct Directory {
  std::uint64_t count = 0, size = 0, offset = 0;
  std::uint64_t end_limit = 0;  ///< the directory ends before this (the end record)
};

std::optional<Failure> findDirectory(std::string_view data, const ReadLimits& limits,
                                     Directory& d) {
  if (data.size() < kEndSize) return fail(Reason::ParseMalformed, "too short for a ZIP archive");
  // The end record sits in the last 22 + 65535 bytes (comment). Take the last one whose comment
  // length reaches exactly the end of the data.
  std::size_t lowest = data.size() > kEndSize + 65535 ? data.size() - kEndSize - 65535 : 0;
  std::size_t eocd = std::string_view::npos;
  for (std::size_t p = data.size() - kEndSize + 1; p-- > lowest;) {
    if (rd32(data, p) == kEndSig && p + kEndSize + rd16(data, p + 20) == data.size()) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::string_view::npos)
    return fail(Reason::ParseMalformed, "no end of central directory record");
  std::uint16_t disk = rd16(data, eocd + 4), cd_disk = rd16(data, eocd + 6);
  std::uint64_t count_disk = rd16(data, eocd + 8);
  d.count = rd16(data, eocd + 10);
  d.size = rd32(data, eocd + 12);
  d.offset = rd32(data, eocd + 16);
  d.end_limit = eocd;
  if (d.count == 0xffff || d.size == k32 || d.offset == k32 || count_disk == 0xffff) {
    // ZIP64 (simple case only): locator right before the end record, one disk.
    if (eocd < 20 || rd32(data, eocd - 20) != kZip64LocatorSig)
      return fail(Reason::CdrFailed, "ZIP64 archive without a locator");
    std::uint64_t z = rd64(data, eocd - 20 + 8);
    if (rd32(data, eocd - 20 + 4) != 0 || rd32(data, eocd - 20 + 16) > 1 || z > eocd - 20 ||
        eocd - 20 - z < 56 || rd32(data, z) != kZip64EndSig)
      return fail(Reason::CdrFailed, "unsupported ZIP64 end record");
    if (rd32(data, z + 16) != 0 || rd32(data, z + 20) != 0)
      return fail(Reason::CdrFailed, "multi-disk ZIP64 archive");
    count_disk = rd64(data, z + 24);
    d.count = rd64(data, z + 32);
    d.size = rd64(data, z + 40);
    d.offset = rd64(data, z + 48);
    d.end_limit = z;
    disk = cd_disk = 0;
  }
  if (disk != 0 || cd_disk != 0 || count_disk != d.count)
    return fail(Reason::CdrFailed, "multi-disk archive");
  if (d.count > limits.max_entries)
    return fail(Reason::LimitDocumentObjects,
                "package has " + std::to_string(d.count) + " members");
  if (d.offset > d.end_limit || d.size > d.end_limit - d.offset)
    return fail(Reason::ParseMalformed, "central directory outside the archive");
  if (d.count * kCentralSize > d.size)
    return fail(Reason::ParseMalformed, "central directory too small for its count");
  return std::nullopt;
}

/// One central directory entry at `p` (moved past it).
std::optional<Failure> readCentral(std::string_view data, std::size_t& p, std::size_t cd_end,
                                   Entry& e) {
  if (p + kCentralSize > cd_end || rd32(data, p) != kCentralSig)
    return fail(Reason::ParseMalformed, "truncated central directory");
  e.flags = rd16(data, p + 8);
  e.method = rd16(data, p + 10);
  e.mod_time = rd16(data, p + 12);
  e.mod_date = rd16(data, p + 14);
  e.crc = rd32(data, p + 16);
  e.compressed_size = rd32(data, p + 20);
  e.uncompressed_size = rd32(data, p + 24);
  std::size_t nlen = rd16(data, p + 28), xlen = rd16(data, p + 30), clen = rd16(data, p + 32);
  std::uint16_t start_disk = rd16(data, p + 34);
  e.local_offset = rd32(data, p + 42);
  if (p + kCentralSize + nlen + xlen + clen > cd_end)
    return fail(Reason::ParseMalformed, "truncated central directory");
  e.name.assign(data.substr(p + kCentralSize, nlen));
  std::string_view extra = data.substr(p + kCentralSize + nlen, xlen);
  bool u32 = e.uncompressed_size == k32, c32 = e.compressed_size == k32,
       o32 = e.local_offset == k32;
  if ((u32 || c32 || o32 || start_disk == 0xffff) && !applyZip64Extra(extra, e, u32, c32, o32))
    return fail(Reason::CdrFailed, "unsupported ZIP64 member " + shown(e.name));
  p += kCentralSize + nlen + xlen + clen;
  return std::nullopt;
}

/// What a member may be: not encrypted, a safe and unique name, stored or deflated, within the
/// expansion limits (`expanded` counts the members so far).
std::optional<Failure> checkMember(const Entry& e, const ReadLimits& limits,
                                   std::set<std::string>& seen, std::uint64_t& expanded) {
  if ((e.flags & 0x0001) || (e.flags & 0x0040) || e.method == 99)
    return fail(Reason::ContentEncrypted, "encrypted member " + shown(e.name));
  if (!safeName(e.name)) return fail(Reason::ParseMalformed, "unsafe member name " + shown(e.name));
  // Names ASCII-lower-cased: OPC part names are case-insensitive.
  if (!seen.insert(lowerAscii(e.name)).second)
    return fail(Reason::ParseMalformed, "duplicate member " + shown(e.name));
  if (e.method != 0 && e.method != 8)
    return fail(Reason::CdrFailed, "unsupported compression method " + std::to_string(e.method) +
                                       " in " + shown(e.name));
  if (e.method == 0 && e.compressed_size != e.uncompressed_size)
    return fail(Reason::ParseMalformed, "stored member with two sizes: " + shown(e.name));
  if (e.uncompressed_size > limits.max_expanded ||
      expanded + e.uncompressed_size > limits.max_expanded)
    return fail(Reason::LimitExpandedSize, "package expands beyond expanded_size_limit");
  expanded += e.uncompressed_size;
  const std::uint64_t ratio = e.uncompressed_size / std::max<std::uint64_t>(e.compressed_size, 1);
  if (e.uncompressed_size > limits.ratio_floor && ratio >= limits.max_ratio)
    return fail(Reason::LimitExpansionRatio,
                "member " + shown(e.name) + " expands " + std::to_string(ratio) + "x");
  return std::nullopt;
}

/// The member's local header agrees with its directory entry; sets e.data_offset.
std::optional<Failure> checkLocalHeader(std::string_view data, std::uint64_t cd_offset, Entry& e) {
  if (e.local_offset > cd_offset || cd_offset - e.local_offset < kLocalSize ||
      rd32(data, static_cast<std::size_t>(e.local_offset)) != kLocalSig)
    return fail(Reason::ParseMalformed, "bad local header for " + shown(e.name));
  std::size_t lo = static_cast<std::size_t>(e.local_offset);
  std::uint16_t lflags = rd16(data, lo + 6), lmethod = rd16(data, lo + 8);
  std::uint32_t lcrc = rd32(data, lo + 14), lcsize = rd32(data, lo + 18),
                lusize = rd32(data, lo + 22);
  std::size_t lnlen = rd16(data, lo + 26), lxlen = rd16(data, lo + 28);
  if (lo + kLocalSize + lnlen + lxlen > cd_offset)
    return fail(Reason::ParseMalformed, "bad local header for " + shown(e.name));
  const std::string disagrees = "local header disagrees with the directory for " + shown(e.name);
  if (data.substr(lo + kLocalSize, lnlen) != e.name || lmethod != e.method ||
      (lflags & 0x0041) != (e.flags & 0x0041))
    return fail(Reason::ParseMalformed, disagrees);
  if (!(lflags & 0x0008)) {
    bool sizes_ok = (lcsize == k32 || lcsize == e.compressed_size) &&
                    (lusize == k32 || lusize == e.uncompressed_size);
    if (lcrc != e.crc || !sizes_ok) return fail(Reason::ParseMalformed, disagrees);
  }
  e.data_offset = lo + kLocalSize + lnlen + lxlen;
  if (e.compressed_size > cd_offset - e.data_offset)
    return fail(Reason::ParseMalformed, "member data runs past the directory: " + shown(e.name));
  return std::nullopt;
}

/// Members may not share bytes (overlapping-entry bombs): sorted by offset, each one ends before
/// the next begins.
std::optional<Failure> checkNoOverlap(const std::vector<Entry>& entries) {
  std::vector<const Entry*> order;
  order.reserve(entries.size());
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const Entry* x, const Entry* y) { return x->local_offset < y->local_offset; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (order[i]->local_offset < order[i - 1]->data_offset + order[i - 1]->compressed_size)
      return fail(Reason::ParseMalformed, "overlapping members " + shown(order[i - 1]->name) +
                                              " and " + shown(order[i]->name));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Archive> Archive::open(std::string_view data, const ReadLimits& limits,
                                     Failure* failure) {
  auto bad = [&](Failure f) {
    *failure = std::move(f);
    return std::nullopt;
  };
  Directory d;
  if (auto f = findDirectory(data, limits, d)) return bad(*f);
  Archive a(data);
  a.entries_.reserve(static_cast<std::size_t>(d.count));
  std::set<std::string> seen;
  std::uint64_t expanded = 0;
  std::size_t p = static_cast<std::size_t>(d.offset);
  const std::size_t cd_end = static_cast<std::size_t>(d.offset + d.size);
  for (std::uint64_t i = 0; i < d.count; ++i) {
    Entry e;
    if (auto f = readCentral(data, p, cd_end, e)) return bad(*f);
    if (auto f = checkMember(e, limits, seen, expanded)) return bad(*f);
    if (auto f = checkLocalHeader(data, d.offset, e)) return bad(*f);
    a.entries_.push_back(std::move(e));
  }
  if (auto f = checkNoOverlap(a.entries_)) return bad(*f);
  return a;
}

const Entry* Archive::find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::optional<Failure> Archive::extract(const Entry& e, Budget& budget, std::string* out) const {
  if (auto r = budget.chargeDecoded(e.uncompressed_size)) return fail(*r, "budget exhausted");
  out->clear();
  out->reserve(static_cast<std::size_t>(e.uncompressed_size));
  std::string_view raw = this->raw(e);
  if (e.method == 0) {
    out->assign(raw);
  } else if (auto f = inflateRaw(raw, e.uncompressed_size, e.name,
                                 [&](const char* p, std::size_t n) { out->append(p, n); })) {
    return f;
  }
  uLong crc = crc32_z(0, reinterpret_cast<const Bytef*>(out->data()), out->size());
  if (crc != e.crc) return fail(Reason::ParseMalformed, "CRC mismatch in " + shown(e.name));
  return std::nullopt;
}

std::string Archive::head(const Entry& e, std::size_t n) const {
  std::string_view raw = this->raw(e);
  if (e.method == 0) return std::string(raw.substr(0, n));
  std::string out(n, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return {};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(std::min<std::size_t>(raw.size(), 1u << 30));
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(n);
  int rc = Z_OK;
  while (zs.avail_out > 0 && rc == Z_OK) rc = inflate(&zs, Z_NO_FLUSH);
  out.resize(n - zs.avail_out);
  inflateEnd(&zs);
  return out;
}

std::optional<Failure> Archive::verify(const Entry& e) const {
  std::string_view raw = this->raw(e);
  uLong crc = 0;
  if (e.method == 0) {
    crc = crc32_z(0, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  } else if (auto f =
                 inflateRaw(raw, e.uncompressed_size, e.name, [&](const char* p, std::size_t n) {
                   crc = crc32_z(crc, reinterpret_cast<const Bytef*>(p), n);
                 })) {
    return f;
  }
  if (crc != e.crc) return fail(Reason::ParseMalformed, "CRC mismatch in " + shown(e.name));
  return std::nullopt;
}

std::string Archive::sha256(const Entry& e) const {
  std::string_view raw = this->raw(e);
  Sha256 h;
  uLong crc = 0;
  auto take = [&](const char* p, std::size_t n) {
    h.update(p, n);
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(p), n);
  };
  if (e.method == 0) {
    take(raw.data(), raw.size());
  } else if (inflateRaw(raw, e.uncompressed_size, e.name, take)) {
    return {};
  }
  if (crc != e.crc) return {};
  return h.hex();
}

bool Writer::addEntry(const Central& c, std::string_view payload) {
  if (!ok_ || c.csize >= k32 || c.usize >= k32 || out_.size() >= k32 || c.name.size() > 0xffff ||
      central_.size() >= 0xffff) {
    ok_ = false;
    return false;
  }
  Central stored = c;
  stored.offset = out_.size();
  wr32(out_, kLocalSig);
  wrSharedFields(out_, c);
  wr16(out_, 0);  // extra
  out_.append(c.name);
  out_.append(payload);
  central_.push_back(std::move(stored));
  return true;
}

bool Writer::copyRaw(const Archive& from, const Entry& e) {
  // Bit 3 (data descriptor) is dropped: sizes and CRC go in the local header. Bits 1-2 (deflate
  // option) and 11 (UTF-8 names) are kept; nothing else is meaningful for methods 0/8.
  Central c{e.name,
            e.method,
            static_cast<std::uint16_t>(e.flags & 0x0806),
            e.mod_time,
            e.mod_date,
            e.crc,
            e.compressed_size,
            e.uncompressed_size,
            0};
  return addEntry(c, from.raw(e));
}

bool Writer::addStored(std::string_view name, std::string_view data, bool utf8_name) {
  uLong crc = crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size());
  Central c{std::string(name),
            0,
            static_cast<std::uint16_t>(utf8_name ? 0x0800 : 0),
            0,
            0x21,
            static_cast<std::uint32_t>(crc),
            data.size(),
            data.size(),
            0};
  return addEntry(c, data);
}

bool Writer::addDeflated(std::string_view name, std::string_view data, bool utf8_name) {
  z_stream zs{};
  // Level 1: a rewritten part is deflated on the gateway's hot path; level 6 costs ~4x the CPU
  // for ~20% less (bench/README.md, issue 11).
  if (deflateInit2(&zs, 1, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    ok_ = false;
    return false;
  }
  std::string packed(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_out = static_cast<uInt>(packed.size());
  int rc = deflate(&zs, Z_FINISH);
  std::size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END || data.size() >= k32) {
    ok_ = false;
    return false;
  }
  if (n >= data.size()) return addStored(name, data, utf8_name);
  packed.resize(n);
  uLong crc = crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size());
  // 1980-01-01 00:00: rebuilt members carry no time of ours (reproducible output).
  Central c{std::string(name),
            8,
            static_cast<std::uint16_t>(utf8_name ? 0x0800 : 0),
            0,
            0x21,
            static_cast<std::uint32_t>(crc),
            n,
            data.size(),
            0};
  return addEntry(c, packed);
}

std::optional<std::string> Writer::finish() {
  if (!ok_) return std::nullopt;
  std::uint64_t cd_offset = out_.size();
  for (const Central& c : central_) {
    wr32(out_, kCentralSig);
    wr16(out_, 20);  // made by: MS-DOS, 2.0
    wrSharedFields(out_, c);
    wr16(out_, 0);                                // extra
    wr16(out_, 0);                                // comment
    wr16(out_, 0);                                // disk
    wr16(out_, 0);                                // internal attributes
    wr32(out_, c.name.back() == '/' ? 0x10 : 0);  // external: MS-DOS directory bit
    wr32(out_, static_cast<std::uint32_t>(c.offset));
    out_.append(c.name);
  }
  std::uint64_t cd_size = out_.size() - cd_offset;
  if (out_.size() >= k32) return std::nullopt;
  wr32(out_, kEndSig);
  wr16(out_, 0);
  wr16(out_, 0);
  wr16(out_, static_cast<std::uint16_t>(central_.size()));
  wr16(out_, static_cast<std::uint16_t>(central_.size()));
  wr32(out_, static_cast<std::uint32_t>(cd_size));
  wr32(out_, static_cast<std::uint32_t>(cd_offset));
  wr16(out_, 0);
  ok_ = false;
  return std::move(out_);
}

}  // namespace mugai::zip
