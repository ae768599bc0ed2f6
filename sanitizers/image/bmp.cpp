// BMP: our own bounded reader (no Debian library decodes BMP without pulling in a whole toolkit)
// -> PNG. Supported: BITMAPCOREHEADER, BITMAPINFOHEADER and its V2..V5 extensions; 1/4/8-bit
// palette, 16/24/32-bit BI_RGB and BI_BITFIELDS; bottom-up and top-down. RLE, embedded JPEG/PNG
// and other compressions fail closed (cdr.failed). The output is always PNG (RGB, or RGBA when
// the alpha mask says so): no profile, no gap bytes, nothing after the pixels survives.
#include <cstring>

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

}  // namespace

CodecResult rebuildBmp(std::string_view in, Ctx& ctx) {
  if (in.size() < 26 || in[0] != 'B' || in[1] != 'M') return fail("BMP: not a BMP file");
  std::uint32_t off_bits = le32(in, 10);
  std::uint32_t hsize = le32(in, 14);
  if (hsize != 12 && hsize != 40 && hsize != 52 && hsize != 56 && hsize != 64 && hsize != 108 &&
      hsize != 124) {
    return fail("BMP: unsupported header size " + std::to_string(hsize));
  }
  if (in.size() < 14 + std::uint64_t{hsize}) return fail("BMP: truncated header");
  std::int64_t w = 0, h = 0;
  unsigned bpp = 0, planes = 0;
  std::uint32_t compression = 0, clr_used = 0;
  bool core = hsize == 12;
  if (core) {
    w = le16(in, 18);
    h = le16(in, 20);
    planes = le16(in, 22);
    bpp = le16(in, 24);
  } else {
    w = static_cast<std::int32_t>(le32(in, 18));
    h = static_cast<std::int32_t>(le32(in, 22));
    planes = le16(in, 26);
    bpp = le16(in, 28);
    compression = le32(in, 30);
    clr_used = le32(in, 46);
  }
  bool top_down = h < 0;
  if (h < 0) h = -h;
  if (w <= 0 || h <= 0 || planes != 1) return fail("BMP: bad dimensions");
  if (auto f = ctx.checkPixels(
          pixelCount(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h)))) {
    return fail(*f);
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
    return fail("BMP: unsupported bit depth " + std::to_string(bpp));
  }
  // Masks: BI_RGB defaults, BI_BITFIELDS (3) / BI_ALPHABITFIELDS (6) from the header or after it.
  std::uint32_t rm = 0, gm = 0, bm = 0, am = 0;
  std::size_t table = 14 + hsize;  // where the palette (or the masks of a 40-byte header) start
  if (compression == 0) {
    if (bpp == 16) {
      rm = 0x7c00;
      gm = 0x03e0;
      bm = 0x001f;
    }
    if (bpp == 24 || bpp == 32) {
      rm = 0xff0000;
      gm = 0x00ff00;
      bm = 0x0000ff;
    }
  } else if ((compression == 3 || compression == 6) && (bpp == 16 || bpp == 32)) {
    std::size_t mo = 14 + 40;
    if (hsize == 40) {
      std::size_t n = compression == 6 ? 16 : 12;
      if (in.size() < mo + n) return fail("BMP: truncated masks");
      table += n;
    }
    if (in.size() < mo + 12) return fail("BMP: truncated masks");
    rm = le32(in, mo);
    gm = le32(in, mo + 4);
    bm = le32(in, mo + 8);
    if ((hsize >= 56 || compression == 6) && in.size() >= mo + 16) am = le32(in, mo + 12);
  } else {
    return fail("BMP: unsupported compression " + std::to_string(compression) + " (RLE/JPEG/PNG)");
  }
  if (hsize >= 108 && in.size() >= 14 + 60) {
    std::uint32_t cs = le32(in, 14 + 56);
    if (cs == 0x4d424544 /*'MBED'*/ || cs == 0x4c494e4b /*'LINK'*/) ctx.removed("ICC profile");
  }
  // Palette.
  std::vector<std::uint8_t> pal;  // RGB triples
  if (bpp <= 8) {
    std::uint32_t n = clr_used ? clr_used : (1u << bpp);
    if (n > 256) return fail("BMP: palette too large");
    std::size_t entry = core ? 3 : 4;
    if (in.size() < table + std::uint64_t{n} * entry) return fail("BMP: truncated palette");
    pal.assign(256 * 3, 0);
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto* p = reinterpret_cast<const std::uint8_t*>(in.data() + table + i * entry);
      pal[i * 3] = p[2];
      pal[i * 3 + 1] = p[1];
      pal[i * 3 + 2] = p[0];
    }
  }
  const std::uint64_t W = static_cast<std::uint64_t>(w), H = static_cast<std::uint64_t>(h);
  std::uint64_t stride = ((W * bpp + 31) / 32) * 4;
  if (off_bits < 14 + hsize || off_bits > in.size() || stride * H > in.size() - off_bits) {
    return fail("BMP: truncated pixel data");
  }
  std::uint64_t end = off_bits + stride * H;
  if (end < in.size()) ctx.removed("trailing data " + std::to_string(in.size() - end) + " bytes");

  Raster r;
  r.width = static_cast<std::uint32_t>(W);
  r.height = static_cast<std::uint32_t>(H);
  r.channels = am ? 4 : 3;
  if (auto f = ctx.charge(W * H * static_cast<std::uint64_t>(r.channels))) return fail(*f);
  r.px.resize(static_cast<std::size_t>(W * H) * static_cast<std::size_t>(r.channels));
  for (std::uint64_t y = 0; y < H; ++y) {
    const auto* row = reinterpret_cast<const std::uint8_t*>(in.data() + off_bits +
                                                            (top_down ? y : H - 1 - y) * stride);
    std::uint8_t* o = &r.px[static_cast<std::size_t>(y * W) * static_cast<std::size_t>(r.channels)];
    for (std::uint64_t x = 0; x < W; ++x, o += r.channels) {
      if (bpp <= 8) {
        unsigned idx = 0;
        if (bpp == 8)
          idx = row[x];
        else if (bpp == 4)
          idx = (row[x / 2] >> ((x & 1) ? 0 : 4)) & 0x0f;
        else
          idx = (row[x / 8] >> (7 - (x & 7))) & 1;
        o[0] = pal[idx * 3];
        o[1] = pal[idx * 3 + 1];
        o[2] = pal[idx * 3 + 2];
      } else if (bpp == 24 && compression == 0) {
        o[0] = row[x * 3 + 2];
        o[1] = row[x * 3 + 1];
        o[2] = row[x * 3];
      } else {
        std::uint32_t v = bpp == 16
                              ? (row[x * 2] | (row[x * 2 + 1] << 8))
                              : static_cast<std::uint32_t>(row[x * 4] | (row[x * 4 + 1] << 8) |
                                                           (row[x * 4 + 2] << 16)) |
                                    (static_cast<std::uint32_t>(row[x * 4 + 3]) << 24);
        o[0] = channel(v, rm);
        o[1] = channel(v, gm);
        o[2] = channel(v, bm);
        if (am) o[3] = channel(v, am);
      }
    }
    if ((y & 255) == 0) {
      if (auto f = ctx.deadline()) return fail(*f);
    }
  }
  if (am) {  // an alpha mask over all-zero alpha is an XRGB file written by a careless encoder
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
