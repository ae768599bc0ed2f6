#include "sanitizers/image/image.h"

#include <exception>

#include "sanitizers/filename_sanitize/filename_sanitize.h"

namespace mugai::sanitizers::image {

Format sniff(std::string_view d) {
  auto starts = [&](std::string_view sig) { return d.substr(0, sig.size()) == sig; };
  if (starts("\xff\xd8\xff")) return Format::Jpeg;
  if (starts("\x89PNG\r\n\x1a\n")) return Format::Png;
  if (starts("GIF87a") || starts("GIF89a")) return Format::Gif;
  if (starts("BM")) return Format::Bmp;
  if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4)))
    return Format::Tiff;
  if (d.size() >= 12 && starts("RIFF") && d.substr(8, 4) == "WEBP") return Format::Webp;
  return Format::Unknown;
}

CodecResult rebuild(std::string_view data, const Options& options, std::uint64_t pixel_limit,
                    Budget& budget, std::vector<Finding>& findings) {
  Ctx ctx{options, pixel_limit, budget, findings};
  try {
    switch (sniff(data)) {
      case Format::Jpeg:
        return rebuildJpeg(data, ctx);
      case Format::Png:
        return rebuildPng(data, ctx);
      case Format::Gif:
        return rebuildGif(data, ctx);
      case Format::Bmp:
        return rebuildBmp(data, ctx);
      case Format::Tiff:
        return rebuildTiff(data, ctx);
      case Format::Webp:
        return rebuildWebp(data, ctx);
      case Format::Unknown:
        break;
    }
    return fail("not a supported image format (JPEG, PNG, GIF, BMP, TIFF, WebP)");
  } catch (const std::bad_alloc&) {
    return fail("out of memory while rebuilding an image");
  } catch (const std::exception& e) {
    return fail(std::string("image rebuild: ") + e.what());
  }
}

namespace {

/// "photo.bmp" -> "photo.png"; "scan" -> "scan.png".
std::string withExtension(const std::string& name, const std::string& ext) {
  if (name.empty()) return name;
  std::string last = filename_sanitize::lastExtension(name);
  std::string base = name;
  if (!last.empty() && (last == "bmp" || last == "dib")) base.resize(name.size() - last.size() - 1);
  if (last == ext) return name;
  return base + "." + ext;
}

}  // namespace

Outcome ImageSanitizer::apply(const Part& part, MessageContext& ctx) const {
  try {
    std::vector<Finding> findings;
    CodecResult r =
        rebuild(part.data, options_, ctx.limits.image_pixel_limit, ctx.budget, findings);
    if (r.failure) {
      Outcome o = Outcome::fail(r.failure->reason, r.failure->detail);
      o.findings = std::move(findings);
      return o;
    }
    Part next = replacedPart(part, std::move(r.encoded.data));
    next.output_type = r.encoded.mime;
    if (!r.encoded.extension.empty()) {
      next.filename = Untrusted<std::string>(
          withExtension(part.filename.unverifiedValue(), r.encoded.extension));
      findings.push_back({"converted", "to " + r.encoded.mime});
    }
    Outcome o = Outcome::replace(std::move(next), Reason::CdrRebuilt);
    o.findings = std::move(findings);
    return o;
  } catch (...) {
    return Outcome::fail(Reason::CdrFailed, "image rebuild failed");
  }
}

}  // namespace mugai::sanitizers::image
