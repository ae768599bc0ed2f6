// WebP: libwebp decode -> orientation (EXIF chunk) -> re-encode. Lossless input stays lossless,
// lossy input is re-encoded lossy at jpeg_quality. Animations (libwebpdemux/libwebpmux) keep
// every frame, its timing and the loop count. Dropped: EXIF, XMP, ICCP (WebP ICC is not
// re-embedded, even with keep_icc), unknown chunks and anything after the RIFF size.
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cstring>
#include <memory>

#include "sanitizers/image/codec.h"
#include "sanitizers/image/exif.h"

namespace mugai::sanitizers::image {
namespace {

struct DemuxDel {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};

CodecResult encodedWebp(std::uint8_t* out, std::size_t size) {
  if (!out || size == 0) {
    WebPFree(out);
    return fail("WebP: encoding failed");
  }
  CodecResult r;
  r.encoded.data.assign(reinterpret_cast<const char*>(out), size);
  r.encoded.mime = "image/webp";
  WebPFree(out);
  return r;
}

CodecResult rebuildAnimation(const WebPData& data, WebPDemuxer* dmux, Ctx& ctx) {
  // Lossless only when every frame is lossless.
  bool lossless = true;
  WebPIterator it;
  if (WebPDemuxGetFrame(dmux, 1, &it)) {
    do {
      WebPBitstreamFeatures ff;
      if (WebPGetFeatures(it.fragment.bytes, it.fragment.size, &ff) != VP8_STATUS_OK) {
        WebPDemuxReleaseIterator(&it);
        return fail("WebP: bad frame");
      }
      if (ff.format != 2) lossless = false;
    } while (WebPDemuxNextFrame(&it));
    WebPDemuxReleaseIterator(&it);
  }
  WebPAnimDecoderOptions dopt;
  if (!WebPAnimDecoderOptionsInit(&dopt)) return fail("WebP: decoder version");
  dopt.color_mode = MODE_RGBA;
  dopt.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> dec(WebPAnimDecoderNew(&data, &dopt),
                                                                   WebPAnimDecoderDelete);
  if (!dec) return fail("WebP: cannot decode the animation");
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(dec.get(), &info)) return fail("WebP: animation info");
  WebPAnimEncoderOptions eopt;
  if (!WebPAnimEncoderOptionsInit(&eopt)) return fail("WebP: encoder version");
  eopt.anim_params.loop_count = static_cast<int>(info.loop_count);
  eopt.anim_params.bgcolor = info.bgcolor;
  std::unique_ptr<WebPAnimEncoder, void (*)(WebPAnimEncoder*)> enc(
      WebPAnimEncoderNew(static_cast<int>(info.canvas_width), static_cast<int>(info.canvas_height),
                         &eopt),
      WebPAnimEncoderDelete);
  if (!enc) return fail("WebP: cannot create the animation encoder");
  WebPConfig config;
  if (!WebPConfigInit(&config)) return fail("WebP: encoder version");
  config.lossless = lossless ? 1 : 0;
  config.quality = lossless ? 75.0f : static_cast<float>(ctx.options.jpeg_quality);
  int prev = 0;
  while (WebPAnimDecoderHasMoreFrames(dec.get())) {
    if (auto f = ctx.deadline()) return fail(*f);
    std::uint8_t* buf = nullptr;
    int ts = 0;
    if (!WebPAnimDecoderGetNext(dec.get(), &buf, &ts)) return fail("WebP: damaged animation frame");
    WebPPicture pic;
    if (!WebPPictureInit(&pic)) return fail("WebP: picture");
    pic.use_argb = 1;
    pic.width = static_cast<int>(info.canvas_width);
    pic.height = static_cast<int>(info.canvas_height);
    bool ok = WebPPictureImportRGBA(&pic, buf, pic.width * 4) &&
              WebPAnimEncoderAdd(enc.get(), &pic, prev, &config);
    WebPPictureFree(&pic);
    if (!ok) return fail("WebP: re-encoding a frame failed");
    prev = ts;
  }
  WebPData out;
  WebPDataInit(&out);
  if (!WebPAnimEncoderAdd(enc.get(), nullptr, prev, nullptr) ||
      !WebPAnimEncoderAssemble(enc.get(), &out)) {
    WebPDataClear(&out);
    return fail("WebP: assembling the animation failed");
  }
  CodecResult r;
  r.encoded.data.assign(reinterpret_cast<const char*>(out.bytes), out.size);
  r.encoded.mime = "image/webp";
  WebPDataClear(&out);
  return r;
}

}  // namespace

CodecResult rebuildWebp(std::string_view in, Ctx& ctx) {
  if (in.size() < 20 || in.substr(0, 4) != "RIFF" || in.substr(8, 4) != "WEBP")
    return fail("WebP: not a WebP file");
  const auto* u = reinterpret_cast<const std::uint8_t*>(in.data());
  std::uint64_t riff = (std::uint64_t{u[4]} | std::uint64_t{u[5]} << 8 | std::uint64_t{u[6]} << 16 |
                        std::uint64_t{u[7]} << 24) +
                       8;
  if (riff > in.size()) return fail("WebP: truncated (RIFF size beyond the end)");
  std::string_view body = in.substr(0, static_cast<std::size_t>(riff));

  WebPData data{reinterpret_cast<const std::uint8_t*>(body.data()), body.size()};
  std::unique_ptr<WebPDemuxer, DemuxDel> dmux(WebPDemux(&data));
  if (!dmux) return fail("WebP: malformed container");
  std::uint32_t flags = WebPDemuxGetI(dmux.get(), WEBP_FF_FORMAT_FLAGS);
  std::uint32_t cw = WebPDemuxGetI(dmux.get(), WEBP_FF_CANVAS_WIDTH);
  std::uint32_t ch = WebPDemuxGetI(dmux.get(), WEBP_FF_CANVAS_HEIGHT);
  std::uint32_t frames = WebPDemuxGetI(dmux.get(), WEBP_FF_FRAME_COUNT);
  if (auto f = ctx.checkPixels(pixelCount(pixelCount(cw, ch), frames ? frames : 1)))
    return fail(*f);

  int orientation = 1;
  if (flags & EXIF_FLAG) {
    WebPChunkIterator ci;
    ExifSummary s;
    if (WebPDemuxGetChunk(dmux.get(), "EXIF", 1, &ci)) {
      std::string_view e(reinterpret_cast<const char*>(ci.chunk.bytes), ci.chunk.size);
      if (e.substr(0, 6) == std::string_view("Exif\0\0", 6)) e.remove_prefix(6);
      s = readExif(e);
      WebPDemuxReleaseChunkIterator(&ci);
    }
    if (s.valid) orientation = s.orientation;
    ctx.removed(exifFindingText(s));
  }
  if (flags & XMP_FLAG) ctx.removed("XMP");
  if (flags & ICCP_FLAG) ctx.removed("ICC profile");
  if (riff < in.size()) ctx.removed("trailing data " + std::to_string(in.size() - riff) + " bytes");

  if (flags & ANIMATION_FLAG) {
    if (auto f = ctx.charge(pixelCount(cw, ch) * 4 * 3)) return fail(*f);
    return rebuildAnimation(data, dmux.get(), ctx);
  }
  WebPBitstreamFeatures feat;
  if (WebPGetFeatures(data.bytes, data.size, &feat) != VP8_STATUS_OK)
    return fail("WebP: bad bitstream");
  Raster r;
  r.width = static_cast<std::uint32_t>(feat.width);
  r.height = static_cast<std::uint32_t>(feat.height);
  r.channels = feat.has_alpha ? 4 : 3;
  std::uint64_t bytes = pixelCount(r.width, r.height) * static_cast<std::uint64_t>(r.channels);
  if (auto f = ctx.charge(bytes)) return fail(*f);
  r.px.resize(static_cast<std::size_t>(bytes));
  int stride = static_cast<int>(r.width) * r.channels;
  const std::uint8_t* got =
      feat.has_alpha ? WebPDecodeRGBAInto(data.bytes, data.size, r.px.data(), r.px.size(), stride)
                     : WebPDecodeRGBInto(data.bytes, data.size, r.px.data(), r.px.size(), stride);
  if (!got) return fail("WebP: damaged image data");
  if (auto f = applyOrientation(r, orientation, ctx)) return fail(*f);
  stride = static_cast<int>(r.width) * r.channels;
  const int W = static_cast<int>(r.width), H = static_cast<int>(r.height);
  std::uint8_t* out = nullptr;
  std::size_t size = 0;
  const bool lossless = feat.format == 2;
  const float q = static_cast<float>(ctx.options.jpeg_quality);
  if (feat.has_alpha) {
    size = lossless ? WebPEncodeLosslessRGBA(r.px.data(), W, H, stride, &out)
                    : WebPEncodeRGBA(r.px.data(), W, H, stride, q, &out);
  } else {
    size = lossless ? WebPEncodeLosslessRGB(r.px.data(), W, H, stride, &out)
                    : WebPEncodeRGB(r.px.data(), W, H, stride, q, &out);
  }
  return encodedWebp(out, size);
}

}  // namespace mugai::sanitizers::image
