// One target per image codec of sanitizer.image (sanitizers/image/codec.h), called directly so
// a mutated signature still reaches the codec. The input is the image itself. Checked: a rebuild
// either fails with a reason or yields a non-empty image that sniffs as the format it claims, and
// rebuilding that output again succeeds (a codec must read what it wrote).
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/core/budget.h"
#include "sanitizers/image/image.h"

using namespace mugai;
using namespace mugai::sanitizers::image;

namespace {

using Codec = CodecResult (*)(std::string_view, Ctx&);

void run(Codec codec, const std::uint8_t* data, std::size_t size) {
  static const Options options{};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Budget budget(fuzz::shippedLimits());
  std::vector<Finding> findings;
  Ctx ctx{options, fuzz::shippedLimits().image_pixel_limit, budget, findings};
  CodecResult r = codec(in, ctx);
  if (r.failure) return;
  if (r.encoded.data.empty()) fuzz::fail("a rebuild succeeded with no bytes");
  if (sniff(r.encoded.data) == Format::Unknown) fuzz::fail("the rebuilt image has no known signature");
  Budget again(fuzz::shippedLimits());
  std::vector<Finding> f2;
  CodecResult back = rebuild(r.encoded.data, options, fuzz::shippedLimits().image_pixel_limit, again, f2);
  if (back.failure) {
    std::string what = "our own output does not rebuild again: " + back.failure->detail;
    fuzz::fail(what.c_str());
  }
}

}  // namespace

MUGAI_FUZZ_TARGET(image_jpeg) {
  run(&rebuildJpeg, data, size);
  return 0;
}
MUGAI_FUZZ_TARGET(image_png) {
  run(&rebuildPng, data, size);
  return 0;
}
MUGAI_FUZZ_TARGET(image_gif) {
  run(&rebuildGif, data, size);
  return 0;
}
MUGAI_FUZZ_TARGET(image_bmp) {
  run(&rebuildBmp, data, size);
  return 0;
}
MUGAI_FUZZ_TARGET(image_tiff) {
  run(&rebuildTiff, data, size);
  return 0;
}
MUGAI_FUZZ_TARGET(image_webp) {
  run(&rebuildWebp, data, size);
  return 0;
}
