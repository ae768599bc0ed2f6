#include "sanitizers/image/image.h"

namespace mugai::sanitizers::image {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.image"; }
  std::string_view summary() const override {
    return "Decodes and re-encodes JPEG, PNG, GIF, BMP (to PNG), TIFF and WebP: only pixels "
           "survive "
           "(no EXIF/GPS, XMP, IPTC, comments, maker notes, trailing data); EXIF orientation "
           "applied.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"jpeg_quality", ParamSpec::Kind::Int, "90", 50, 100,
         "Quality of re-encoded JPEG (and lossy WebP) images."},
        {"keep_icc", ParamSpec::Kind::Bool, "false", 0, 0,
         "Re-embed the ICC colour profile of JPEG, PNG and TIFF images (never for WebP, BMP or "
         "GIF)."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.jpeg_quality = static_cast<int>(params.getInt(specs, "jpeg_quality"));
    o.keep_icc = params.getBool(specs, "keep_icc");
    return std::make_shared<const ImageSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::image
