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

/// Applies EXIF/TIFF orientation 2..8 to `r` (5..8 swap width and height). Charges the copy.
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
