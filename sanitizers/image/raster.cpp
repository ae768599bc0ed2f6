// Shared helpers of the image codecs: pixel-limit and budget checks, orientation.
#include <cstring>
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
    return Failure{Reason::LimitImagePixels, "image of " + std::to_string(pixels) +
                                                 " pixels, limit " + std::to_string(pixel_limit)};
  }
  return std::nullopt;
}

std::optional<Failure> Ctx::charge(std::uint64_t bytes) {
  if (auto r = budget.chargeDecoded(bytes))
    return Failure{*r, "pixel buffer of " + std::to_string(bytes) + " bytes"};
  return std::nullopt;
}

std::optional<Failure> Ctx::deadline() const {
  if (auto r = budget.checkDeadline())
    return Failure{*r, "deadline reached while rebuilding an image"};
  return std::nullopt;
}

OrientedView::OrientedView(const Raster& r, int orientation)
    : r_(r), o_(orientation >= 1 && orientation <= 8 ? orientation : 1) {
  const bool swap = o_ >= 5;
  width_ = swap ? r.height : r.width;
  height_ = swap ? r.width : r.height;
}

const std::uint8_t* OrientedView::row(std::uint32_t y, std::uint8_t* scratch) const {
  const std::uint32_t W = r_.width, H = r_.height;
  const std::size_t c = static_cast<std::size_t>(r_.channels);
  auto src = [&](std::uint32_t sx, std::uint32_t sy) {
    return &r_.px[(static_cast<std::size_t>(sy) * W + sx) * c];
  };
  // Orientations that keep rows intact (1: as stored, 4: rows in reverse order).
  if (o_ == 1) return src(0, y);
  if (o_ == 4) return src(0, H - 1 - y);
  for (std::uint32_t x = 0; x < width_; ++x) {
    const std::uint8_t* s = nullptr;  // the stored pixel shown at (x, y)
    switch (o_) {
      case 2:
        s = src(W - 1 - x, y);
        break;  // mirror horizontal
      case 3:
        s = src(W - 1 - x, H - 1 - y);
        break;  // rotate 180
      case 5:
        s = src(y, x);
        break;  // transpose
      case 6:
        s = src(y, H - 1 - x);
        break;  // rotate 90 clockwise
      case 7:
        s = src(W - 1 - y, H - 1 - x);
        break;  // transverse
      default:
        s = src(W - 1 - y, x);
        break;  // 8: rotate 90 counter-clockwise
    }
    std::memcpy(scratch + x * c, s, c);
  }
  return scratch;
}

void OrientedView::rows(std::uint32_t y0, std::uint32_t n, std::uint8_t* out) const {
  const std::size_t c = static_cast<std::size_t>(r_.channels);
  const std::size_t stride = static_cast<std::size_t>(width_) * c;
  if (o_ < 5) {
    for (std::uint32_t k = 0; k < n; ++k) {
      const std::uint8_t* p = row(y0 + k, out + k * stride);
      if (p != out + k * stride) std::memcpy(out + k * stride, p, stride);
    }
    return;
  }
  // Output column x is stored row sy; output rows y0..y0+n-1 are consecutive stored columns.
  const std::uint32_t W = r_.width, H = r_.height;
  for (std::uint32_t x = 0; x < width_; ++x) {
    const std::uint32_t sy = (o_ == 5 || o_ == 8) ? x : H - 1 - x;
    const std::uint8_t* srow = &r_.px[static_cast<std::size_t>(sy) * W * c];
    for (std::uint32_t k = 0; k < n; ++k) {
      const std::uint32_t y = y0 + k;
      const std::uint32_t sx = (o_ == 5 || o_ == 6) ? y : W - 1 - y;
      std::memcpy(out + k * stride + x * c, srow + static_cast<std::size_t>(sx) * c, c);
    }
  }
}

void noteOrientation(Ctx& ctx, int o) {
  if (o >= 2 && o <= 8) ctx.findings.push_back({"applied", "orientation " + std::to_string(o)});
}

std::optional<Failure> applyOrientation(Raster& r, int o, Ctx& ctx) {
  if (o < 2 || o > 8) return std::nullopt;
  if (auto f = ctx.charge(r.px.size())) return f;
  OrientedView view(r, o);
  const std::size_t stride =
      static_cast<std::size_t>(view.width()) * static_cast<std::size_t>(r.channels);
  std::vector<std::uint8_t> out(r.px.size());
  for (std::uint32_t y = 0; y < view.height(); ++y) {
    const std::uint8_t* row = view.row(y, &out[y * stride]);
    if (row != &out[y * stride]) std::memcpy(&out[y * stride], row, stride);
    if ((y & 255) == 0) {
      if (auto f = ctx.deadline()) return f;
    }
  }
  r.width = view.width();
  r.height = view.height();
  r.px = std::move(out);
  noteOrientation(ctx, o);
  return std::nullopt;
}

}  // namespace mugai::sanitizers::image
