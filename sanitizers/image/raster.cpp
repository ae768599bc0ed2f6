// Shared helpers of the image codecs: pixel-limit and budget checks, orientation.
#include <limits>

#include "sanitizers/image/codec.h"

namespace mugai::sanitizers::image {

std::uint64_t pixelCount(std::uint64_t w, std::uint64_t h) {
  if (w != 0 && h > std::numeric_limits<std::uint64_t>::max() / w) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return w * h;
}

std::optional<Failure> Ctx::checkPixels(std::uint64_t pixels) const {
  if (pixels > pixel_limit) {
    return Failure{Reason::LimitImagePixels,
                   "image of " + std::to_string(pixels) + " pixels, limit " + std::to_string(pixel_limit)};
  }
  return std::nullopt;
}

std::optional<Failure> Ctx::charge(std::uint64_t bytes) {
  if (auto r = budget.chargeDecoded(bytes)) return Failure{*r, "pixel buffer of " + std::to_string(bytes) + " bytes"};
  return std::nullopt;
}

std::optional<Failure> Ctx::deadline() const {
  if (auto r = budget.checkDeadline()) return Failure{*r, "deadline reached while rebuilding an image"};
  return std::nullopt;
}

std::optional<Failure> applyOrientation(Raster& r, int o, Ctx& ctx) {
  if (o < 2 || o > 8) return std::nullopt;
  const std::uint32_t W = r.width, H = r.height;
  const std::size_t c = static_cast<std::size_t>(r.channels);
  if (auto f = ctx.charge(r.px.size())) return f;
  std::vector<std::uint8_t> out(r.px.size());
  const bool swap = o >= 5;
  const std::uint32_t OW = swap ? H : W, OH = swap ? W : H;
  for (std::uint32_t y = 0; y < OH; ++y) {
    for (std::uint32_t x = 0; x < OW; ++x) {
      std::uint32_t sx = 0, sy = 0;  // the source pixel shown at (x, y)
      switch (o) {
        case 2: sx = W - 1 - x; sy = y; break;              // mirror horizontal
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;      // rotate 180
        case 4: sx = x; sy = H - 1 - y; break;              // mirror vertical
        case 5: sx = y; sy = x; break;                      // transpose
        case 6: sx = y; sy = H - 1 - x; break;              // rotate 90 clockwise
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;      // transverse
        case 8: sx = W - 1 - y; sy = x; break;              // rotate 90 counter-clockwise
      }
      const std::uint8_t* s = &r.px[(static_cast<std::size_t>(sy) * W + sx) * c];
      std::uint8_t* d = &out[(static_cast<std::size_t>(y) * OW + x) * c];
      for (std::size_t k = 0; k < c; ++k) d[k] = s[k];
    }
    if ((y & 255) == 0) {
      if (auto f = ctx.deadline()) return f;
    }
  }
  r.px = std::move(out);
  r.width = OW;
  r.height = OH;
  ctx.findings.push_back({"applied", "orientation " + std::to_string(o)});
  return std::nullopt;
}

}  // namespace mugai::sanitizers::image
