#include "sanitizers/image/exif.h"

namespace mugai::sanitizers::image {
namespace {

constexpr std::uint32_t kMaxEntries = 1024;

struct Reader {
  std::string_view d;
  bool le = true;
  bool ok(std::uint64_t off, std::uint64_t n) const {
    return off <= d.size() && n <= d.size() - off;
  }
  std::uint16_t u16(std::uint64_t off) const {
    auto a = static_cast<std::uint8_t>(d[off]), b = static_cast<std::uint8_t>(d[off + 1]);
    return le ? static_cast<std::uint16_t>(a | (b << 8)) : static_cast<std::uint16_t>((a << 8) | b);
  }
  std::uint32_t u32(std::uint64_t off) const {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      std::uint32_t byte = static_cast<std::uint8_t>(d[off + (le ? 3 - i : i)]);
      v = (v << 8) | byte;
    }
    return v;
  }
};

}  // namespace

ExifSummary readExif(std::string_view tiff) {
  ExifSummary s;
  Reader r{tiff};
  if (!r.ok(0, 8)) return s;
  if (tiff.substr(0, 4) == std::string_view("II*\0", 4)) {
    r.le = true;
  } else if (tiff.substr(0, 4) == std::string_view("MM\0*", 4)) {
    r.le = false;
  } else {
    return s;
  }
  std::uint32_t ifd0 = r.u32(4);
  if (!r.ok(ifd0, 2)) return s;
  std::uint32_t n = r.u16(ifd0);
  if (n > kMaxEntries || !r.ok(ifd0 + 2, std::uint64_t{n} * 12)) return s;
  s.valid = true;
  std::uint32_t gps_ifd = 0, exif_ifd = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint64_t e = ifd0 + 2 + std::uint64_t{i} * 12;
    std::uint16_t tag = r.u16(e), type = r.u16(e + 2);
    switch (tag) {
      case 0x0112:  // Orientation, SHORT, count 1: the value sits in the first two value bytes
        if (type == 3) {
          std::uint16_t v = r.u16(e + 8);
          if (v >= 1 && v <= 8) s.orientation = v;
        }
        break;
      case 0x010f:  // Make
      case 0x0110:  // Model
        s.maker = true;
        break;
      case 0x8825:
        gps_ifd = r.u32(e + 8);
        break;
      case 0x8769:
        exif_ifd = r.u32(e + 8);
        break;
      default:
        break;
    }
  }
  if (gps_ifd != 0 && r.ok(gps_ifd, 2) && r.u16(gps_ifd) > 0) s.gps = true;
  if (exif_ifd != 0 && r.ok(exif_ifd, 2)) {
    std::uint32_t m = r.u16(exif_ifd);
    if (m <= kMaxEntries && r.ok(exif_ifd + 2, std::uint64_t{m} * 12)) {
      for (std::uint32_t i = 0; i < m; ++i) {
        std::uint16_t tag = r.u16(exif_ifd + 2 + std::uint64_t{i} * 12);
        if (tag == 0x927c || tag == 0xa431 || tag == 0xa433 || tag == 0xa434) s.maker = true;
      }
    }
  }
  return s;
}

const char* exifFindingText(const ExifSummary& s) { return s.gps ? "EXIF (GPS)" : "EXIF"; }

}  // namespace mugai::sanitizers::image
