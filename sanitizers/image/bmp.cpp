// BMP: our own bounded reader (no Debian library decodes BMP without pulling in a whole toolkit)
// -> PNG. Supported: BITMAPCOREHEADER, BITMAPINFOHEADER and its V2..V5 extensions; 1/4/8-bit
// palette, 16/24/32-bit BI_RGB and BI_BITFIELDS; bottom-up and top-down. RLE, embedded JPEG/PNG
// and other compressions fail closed (cdr.failed). The output is always PNG (RGB, or RGBA when
// the alpha mask says so): no profile, no gap bytes, nothing after the pixels survives.
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "sanitizers/image/codec.h"

namespace mugai::sanitizers::image {
namespace {

std::uint32_t le32(std::string_view d, std::size_t o) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[o])) |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[o + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[o + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[o + 3])) << 24;
}
std::uint16_t le16(std::string_view d, std::size_t o) {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(d[o]) |
                                    static_cast<std::uint8_t>(d[o + 1]) << 8);
}

/// Extracts the channel selected by `mask` and scales it to 0..255.
std::uint8_t channel(std::uint32_t v, std::uint32_t mask) {
  if (mask == 0) return 0;
  int shift = 0;
  while (((mask >> shift) & 1u) == 0) ++shift;
  std::uint32_t m = mask >> shift;
  int bits = 0;
  while (bits < 32 && ((m >> bits) & 1u)) ++bits;
  std::uint64_t x = (v & mask) >> shift;
  std::uint64_t maxv = (bits >= 32) ? 0xffffffffu : ((1u << bits) - 1);
  return static_cast<std::uint8_t>((x * 255 + maxv / 2) / maxv);
}

/// What the file header and the info header say.
struct BmpHeader {
  std::uint32_t off_bits = 0, hsize = 0, compression = 0, clr_used = 0;
  std::int64_t w = 0, h = 0;
  unsigned bpp = 0, planes = 0;
  bool core = false, top_down = false;
};

std::optional<Failure> bad(std::string detail) { return Failure{Reason::CdrFailed, std::move(detail)}; }

/// The headers: a supported header size, positive dimensions within the pixel limit, one
/// plane, and a bit depth we read.
std::optional<Failure> readHeader(std::string_view in, Ctx& ctx, BmpHeader& hd) {
  if (in.size() < 26 || in[0] != 'B' || in[1] != 'M') return bad("BMP: not a BMP file");
  hd.off_bits = le32(in, 10);
  hd.hsize = le32(in, 14);
  const std::uint32_t hsize = hd.hsize;
  if (hsize != 12 && hsize != 40 && hsize != 52 && hsize != 56 && hsize != 64 && hsize != 108 &&
      hsize != 124) {
    return bad("BMP: unsupported header size " + std::to_string(hsize));
  }
  if (in.size() < 14 + std::uint64_t{hsize}) return bad("BMP: truncated header");
  hd.core = hsize == 12;
  if (hd.core) {
    hd.w = le16(in, 18);
    hd.h = le16(in, 20);
    hd.planes = le16(in, 22);
    hd.bpp = le16(in, 24);
  } else {
    hd.w = static_cast<std::int32_t>(le32(in, 18));
    hd.h = static_cast<std::int32_t>(le32(in, 22));
    hd.planes = le16(in, 26);
    hd.bpp = le16(in, 28);
    hd.compression = le32(in, 30);
    hd.clr_used = le32(in, 46);
  }
  hd.top_down = hd.h < 0;
  if (hd.h < 0) hd.h = -hd.h;
  if (hd.w <= 0 || hd.h <= 0 || hd.planes != 1) return bad("BMP: bad dimensions");
  if (auto f = ctx.checkPixels(
          pixelCount(static_cast<std::uint64_t>(hd.w), static_cast<std::uint64_t>(hd.h)))) {
    return f;
  }
  const unsigned bpp = hd.bpp;
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
    return bad("BMP: unsupported bit depth " + std::to_string(bpp));
  }
  return std::nullopt;
}

/// The channel masks of 16- and 32-bit pixels.
struct Masks {
  std::uint32_t r = 0, g = 0, b = 0, a = 0;
};

/// BI_RGB's default masks, or BI_BITFIELDS (3) / BI_ALPHABITFIELDS (6) from the header or after
/// it (then `table`, where the palette would start, moves past them). Other compressions (RLE,
/// JPEG, PNG) fail closed.
std::optional<Failure> readMasks(std::string_view in, const BmpHeader& hd, Masks& m,
                                 std::size_t& table) {
  if (hd.compression == 0) {
    if (hd.bpp == 16) m = {0x7c00, 0x03e0, 0x001f, 0};
    if (hd.bpp == 24 || hd.bpp == 32) m = {0xff0000, 0x00ff00, 0x0000ff, 0};
    return std::nullopt;
  }
  if ((hd.compression == 3 || hd.compression == 6) && (hd.bpp == 16 || hd.bpp == 32)) {
    std::size_t mo = 14 + 40;
    if (hd.hsize == 40) {
      std::size_t n = hd.compression == 6 ? 16 : 12;
      if (in.size() < mo + n) return bad("BMP: truncated masks");
      table += n;
    }
    if (in.size() < mo + 12) return bad("BMP: truncated masks");
    m.r = le32(in, mo);
    m.g = le32(in, mo + 4);
    m.b = le32(in, mo + 8);
    if ((hd.hsize >= 56 || hd.compression == 6) && in.size() >= mo + 16) m.a = le32(in, mo + 12);
    return std::nullopt;
  }
  return bad("BMP: unsupported compression " + std::to_string(hd.compression) + " (RLE/JPEG/PNG)");
}

/// The palette of a 1-, 4- or 8-bit file as 256 RGB triples (entries it does not set are black).
std::optional<Failure> readPalette(std::string_view in, const BmpHeader& hd, std::size_t table,
                                   std::vector<std::uint8_t>& pal) {
  std::uint32_t n = hd.clr_used ? hd.clr_used : (1u << hd.bpp);
  if (n > 256) return bad("BMP: palette too large");
  std::size_t entry = hd.core ? 3 : 4;
  if (in.size() < table + std::uint64_t{n} * entry) return bad("BMP: truncated palette");
  pal.assign(256 * 3, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(in.data() + table + i * entry);
    pal[i * 3] = p[2];
    pal[i * 3 + 1] = p[1];
    pal[i * 3 + 2] = p[0];
  }
  return std::nullopt;
}

/// One row of `width` pixels into `o`, `channels` (3, or 4 with an alpha mask) bytes each.
void decodeRow(const std::uint8_t* row, std::uint64_t width, const BmpHeader& hd, const Masks& m,
               const std::vector<std::uint8_t>& pal, unsigned channels, std::uint8_t* o) {
  for (std::uint64_t x = 0; x < width; ++x, o += channels) {
    if (hd.bpp <= 8) {
      unsigned idx = 0;
      if (hd.bpp == 8)
        idx = row[x];
      else if (hd.bpp == 4)
        idx = (row[x / 2] >> ((x & 1) ? 0 : 4)) & 0x0f;
      else
        idx = (row[x / 8] >> (7 - (x & 7))) & 1;
      o[0] = pal[idx * 3];
      o[1] = pal[idx * 3 + 1];
      o[2] = pal[idx * 3 + 2];
    } else if (hd.bpp == 24 && hd.compression == 0) {
      o[0] = row[x * 3 + 2];
      o[1] = row[x * 3 + 1];
      o[2] = row[x * 3];
    } else {
      std::uint32_t v = hd.bpp == 16
                            ? (row[x * 2] | (row[x * 2 + 1] << 8))
                            : static_cast<std::uint32_t>(row[x * 4] | (row[x * 4 + 1] << 8) |
                                                         (row[x * 4 + 2] << 16)) |
                                  (static_cast<std::uint32_t>(row[x * 4 + 3]) << 24);
      o[0] = channel(v, m.r);
      o[1] = channel(v, m.g);
      o[2] = channel(v, m.b);
      if (m.a) o[3] = channel(v, m.a);
    }
  }
}

}  // namespace

CodecResult rebuildBmp(std::string_view in, Ctx& ctx) {
  BmpHeader hd;
  if (auto f = readHeader(in, ctx, hd)) return fail(*f);
  Masks m;
  std::size_t table = 14 + hd.hsize;  // where the palette (or the masks of a 40-byte header) start
  if (auto f = readMasks(in, hd, m, table)) return fail(*f);
  if (hd.hsize >= 108 && in.size() >= 14 + 60) {
    std::uint32_t cs = le32(in, 14 + 56);
    if (cs == 0x4d424544 /*'MBED'*/ || cs == 0x4c494e4b /*'LINK'*/) ctx.removed("ICC profile");
  }
  std::vector<std::uint8_t> pal;  // RGB triples
  if (hd.bpp <= 8) {
    if (auto f = readPalette(in, hd, table, pal)) return fail(*f);
  }
  const std::uint64_t W = static_cast<std::uint64_t>(hd.w), H = static_cast<std::uint64_t>(hd.h);
  std::uint64_t stride = ((W * hd.bpp + 31) / 32) * 4;
  if (hd.off_bits < 14 + hd.hsize || hd.off_bits > in.size() || stride * H > in.size() - hd.off_bits) {
    return fail("BMP: truncated pixel data");
  }
  std::uint64_t end = hd.off_bits + stride * H;
  if (end < in.size()) ctx.removed("trailing data " + std::to_string(in.size() - end) + " bytes");

  Raster r;
  r.width = static_cast<std::uint32_t>(W);
  r.height = static_cast<std::uint32_t>(H);
  r.channels = m.a ? 4 : 3;
  if (auto f = ctx.charge(W * H * static_cast<std::uint64_t>(r.channels))) return fail(*f);
  r.px.resize(static_cast<std::size_t>(W * H) * static_cast<std::size_t>(r.channels));
  for (std::uint64_t y = 0; y < H; ++y) {
    const auto* row = reinterpret_cast<const std::uint8_t*>(
        in.data() + hd.off_bits + (hd.top_down ? y : H - 1 - y) * stride);
    decodeRow(row, W, hd, m, pal, static_cast<unsigned>(r.channels),
              &r.px[static_cast<std::size_t>(y * W) * static_cast<std::size_t>(r.channels)]);
    if ((y & 255) == 0) {
      if (auto f = ctx.deadline()) return fail(*f);
    }
  }
  if (m.a) {  // an alpha mask over all-zero alpha is an XRGB file written by a careless encoder
    bool any = false;
    for (std::size_t i = 3; i < r.px.size() && !any; i += 4) any = r.px[i] != 0;
    if (!any) {
      for (std::size_t i = 3; i < r.px.size(); i += 4) r.px[i] = 255;
    }
  }
  CodecResult res = encodePngRaster(r, ctx);
  res.encoded.extension = "png";
  return res;
}

}  // namespace mugai::sanitizers::image
