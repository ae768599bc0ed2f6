/**
 * @file image.h
 * @brief sanitizer.image: decode and re-encode JPEG, PNG, GIF, BMP, TIFF and WebP so that only
 *        the pixels survive (no EXIF/GPS, XMP, IPTC, comments, maker notes, trailing data).
 *
 * Trust: the part is hostile; the format is sniffed from its first bytes (never from the
 *        declared type or the name).
 * Limits: limits.image_pixel_limit on width*height*frames before any pixel buffer exists
 *         (limit.image_pixels); buffers are charged to the message budget; deadline checked.
 * Errors: apply() never throws. A library error, a truncated or damaged file or an unknown format
 *         is cdr.failed (fail closed); the part is then removed, never passed as it was.
 */
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"
#include "sanitizers/image/codec.h"

namespace mugai::sanitizers::image {

enum class Format { Unknown, Jpeg, Png, Gif, Bmp, Tiff, Webp };

/// The format by its signature (magic bytes).
Format sniff(std::string_view data);

/// The whole rebuild, outside the engine: `findings` receives {"removed", ...} / {"applied", ...}.
CodecResult rebuild(std::string_view data, const Options& options, std::uint64_t pixel_limit,
                    Budget& budget, std::vector<Finding>& findings);

class ImageSanitizer : public Sanitizer {
 public:
  explicit ImageSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.image"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::image
