/**
 * @file codec.h
 * @brief sanitizer.image internals: the decoded raster, the per-call context and one decode +
 *        re-encode function per format.
 *
 * Trust: every input byte is hostile. Dimensions, frame counts, chunk lengths and offsets are
 *        checked before they size anything.
 * Limits: width*height*frames <= limits.image_pixel_limit is checked on the header, before any
 *         pixel buffer is allocated (limit.image_pixels); every pixel buffer is charged to the
 *         message budget first (limit.decoded_bytes); long loops check the deadline.
 * Errors: codecs never throw out and never let a library abort()/exit() or write to stderr: libjpeg
 *         and libpng errors longjmp back, giflib/libwebp return codes, libtiff per-handle handlers.
 *         Any error, and any sign of truncation, is a failure (fail closed: cdr.failed).
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai::sanitizers::image {

struct Options {
  int jpeg_quality = 90;  ///< JPEG (and lossy WebP) re-encode quality, 50..100
  bool keep_icc = false;  ///< re-embed the ICC colour profile (JPEG, PNG, TIFF) when true
};

/// Why a rebuild failed: the reason for Outcome::fail and an operator-facing detail.
struct Failure {
  Reason reason = Reason::CdrFailed;
  std::string detail;
};

/// What a codec produced.
struct Encoded {
  std::string data;
  std::string mime;       ///< output type ("image/png" for a BMP converted to PNG)
  std::string extension;  ///< "" = keep the name; "png" = the name must end in .png
};

/// Per-call state shared by the codecs.
struct Ctx {
  const Options& options;
  std::uint64_t pixel_limit;
  Budget& budget;
  std::vector<Finding>& findings;

  void removed(std::string what) { findings.push_back({"removed", std::move(what)}); }
  /// limit.image_pixels when pixels > pixel_limit (or overflowed), else nullopt.
  std::optional<Failure> checkPixels(std::uint64_t pixels) const;
  /// Charge `bytes` to the message budget before allocating them.
  std::optional<Failure> charge(std::uint64_t bytes);
  std::optional<Failure> deadline() const;
};

/// width*height with overflow saturation (never wraps).
std::uint64_t pixelCount(std::uint64_t w, std::uint64_t h);

/// An 8-bit-per-channel interleaved raster (1..4 channels), top row first.
struct Raster {
  std::uint32_t width = 0, height = 0;
  int channels = 0;
  std::vector<std::uint8_t> px;
};

/**
 * A raster seen through an EXIF/TIFF orientation (1..8; 5..8 swap width and height), one output
 * row at a time: encoders pull rows from it, so turning a picture costs one row, not a second
 * full-size buffer. Orientations outside 1..8 are treated as 1.
 */
class OrientedView {
 public:
  OrientedView(const Raster& r, int orientation);
  std::uint32_t width() const { return width_; }
  std::uint32_t height() const { return height_; }
  int channels() const { return r_.channels; }
  /// Output row `y` (width() * channels() bytes): a pointer into the raster when no pixel moves
  /// within the row, else `scratch` filled in.
  const std::uint8_t* row(std::uint32_t y, std::uint8_t* scratch) const;
  /// Output rows [y0, y0 + n) into `out` (n * width() * channels() bytes). For the transposing
  /// orientations this walks the stored rows in order, which is much kinder to the cache than
  /// n calls of row().
  void rows(std::uint32_t y0, std::uint32_t n, std::uint8_t* out) const;

 private:
  const Raster& r_;
  int o_;
  std::uint32_t width_, height_;
};

/// Records {"applied", "orientation N"} for N in 2..8.
void noteOrientation(Ctx& ctx, int orientation);

/// Applies orientation 2..8 to `r` in a new buffer (for encoders that need the whole image,
/// WebP). Charges the copy; records the finding.
std::optional<Failure> applyOrientation(Raster& r, int orientation, Ctx& ctx);

/// Result of a codec: encoded bytes or a failure.
struct CodecResult {
  std::optional<Failure> failure;
  Encoded encoded;
};

CodecResult rebuildJpeg(std::string_view in, Ctx& ctx);
CodecResult rebuildPng(std::string_view in, Ctx& ctx);
CodecResult rebuildGif(std::string_view in, Ctx& ctx);
CodecResult rebuildBmp(std::string_view in, Ctx& ctx);
CodecResult rebuildTiff(std::string_view in, Ctx& ctx);
CodecResult rebuildWebp(std::string_view in, Ctx& ctx);

/// Encodes `r` (1..4 channels: gray, gray+alpha, RGB, RGBA; 8 bits) as a non-interlaced PNG with
/// no ancillary chunk. Used for BMP.
CodecResult encodePngRaster(const Raster& r, Ctx& ctx);

inline CodecResult fail(std::string detail, Reason reason = Reason::CdrFailed) {
  CodecResult c;
  c.failure = Failure{reason, std::move(detail)};
  return c;
}
inline CodecResult fail(Failure f) {
  CodecResult c;
  c.failure = std::move(f);
  return c;
}

}  // namespace mugai::sanitizers::image
