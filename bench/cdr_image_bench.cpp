// sanitizer.image benchmark: generated ~1 MB and ~20 MB JPEGs (with EXIF/GPS, XMP and a comment;
// orientation 1 streams row by row, orientation 6 measures the rotation path) and a ~1 MB PNG, each
// rebuilt N times on one thread. Prints files/s, MB/s (input) and megapixels/s per core (thread CPU
// time) and by the wall clock.
//
//   build/bench/mugai_bench_cdr_image [--iterations N] [--quality Q]
// clang-format off
#include <cstddef>  // jpeglib.h needs size_t and FILE declared before it
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <png.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "sanitizers/image/image.h"

using namespace mugai;
namespace img = mugai::sanitizers::image;

namespace {

/// A photo-like RGB raster: smooth gradients plus noise (noise keeps the codecs honest).
std::vector<unsigned char> photo(int w, int h, int noise) {
  std::vector<unsigned char> px(static_cast<std::size_t>(w) * h * 3);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> n(-noise, noise);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      unsigned char* p = &px[(static_cast<std::size_t>(y) * w + x) * 3];
      int base[3] = {x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h) + 64};
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<unsigned char>(std::clamp(base[c] + n(rng), 0, 255));
    }
  }
  return px;
}

std::string exifWithGps(int orientation) {
  // Little-endian TIFF: Orientation 6 and a GPS IFD with one entry.
  const unsigned char b[] = {'I',
                             'I',
                             42,
                             0,
                             8,
                             0,
                             0,
                             0,
                             2,
                             0,
                             0x12,
                             0x01,
                             3,
                             0,
                             1,
                             0,
                             0,
                             0,
                             static_cast<unsigned char>(orientation),
                             0,
                             0,
                             0,
                             0x25,
                             0x88,
                             4,
                             0,
                             1,
                             0,
                             0,
                             0,
                             38,
                             0,
                             0,
                             0,
                             0,
                             0,
                             0,
                             0,
                             1,
                             0,
                             1,
                             0,
                             2,
                             0,
                             2,
                             0,
                             0,
                             0,
                             'N',
                             0,
                             0,
                             0,
                             0,
                             0,
                             0,
                             0};
  return std::string("Exif\0\0", 6) + std::string(reinterpret_cast<const char*>(b), sizeof b);
}

std::string makeJpeg(int w, int h, int noise, int orientation) {
  auto px = photo(w, h, noise);
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 92, TRUE);
  c.write_JFIF_header = FALSE;
  jpeg_start_compress(&c, TRUE);
  std::string exif = exifWithGps(orientation);
  jpeg_write_marker(&c, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(exif.data()), exif.size());
  std::string xmp =
      std::string("http://ns.adobe.com/xap/1.0/\0", 29) + "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";
  jpeg_write_marker(&c, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(xmp.data()), xmp.size());
  jpeg_write_marker(&c, JPEG_COM, reinterpret_cast<const JOCTET*>("bench"), 5);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = &px[c.next_scanline * static_cast<std::size_t>(w) * 3];
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

std::string makePng(int w, int h, int noise) {
  auto px = photo(w, h, noise);
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) std::abort();
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep d, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<char*>(d), n);
      },
      [](png_structp) {});
  png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_text t{};
  t.compression = PNG_TEXT_COMPRESSION_NONE;
  t.key = const_cast<char*>("Comment");
  t.text = const_cast<char*>("bench");
  png_set_text(png, info, &t, 1);
  png_write_info(png, info);
  for (int y = 0; y < h; ++y) png_write_row(png, &px[static_cast<std::size_t>(y) * w * 3]);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

double threadCpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void bench(const char* label, const std::string& data, std::uint64_t pixels, int iterations,
           const img::Options& o) {
  Limits limits;
  std::size_t out_size = 0;
  double cpu0 = threadCpu();
  auto wall0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    Budget budget(limits);
    std::vector<Finding> findings;
    img::CodecResult r = img::rebuild(data, o, limits.image_pixel_limit, budget, findings);
    if (r.failure) {
      std::fprintf(stderr, "%s: rebuild failed: %s\n", label, r.failure->detail.c_str());
      std::exit(1);
    }
    out_size = r.encoded.data.size();
  }
  double cpu = threadCpu() - cpu0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  double mb = data.size() / 1e6, mp = pixels / 1e6;
  std::printf(
      "%-22s in %7.2f MB  %6.1f MP  out %7.2f MB  x%-3d | per core: %7.2f files/s %7.2f MB/s %7.2f "
      "MP/s  "
      "%8.1f ms/file | wall: %7.2f files/s\n",
      label, mb, mp, out_size / 1e6, iterations, iterations / cpu, iterations * mb / cpu,
      iterations * mp / cpu, cpu * 1000 / iterations, iterations / wall);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 10;
  img::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iterations")) iterations = std::max(1, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--quality"))
      o.jpeg_quality = std::clamp(std::atoi(argv[i + 1]), 50, 100);
  }
  std::string j1 = makeJpeg(1600, 1200, 40, 1);
  std::string j1r = makeJpeg(1600, 1200, 40, 6);
  std::string j20 = makeJpeg(6000, 4500, 50, 1);
  std::string j20r = makeJpeg(6000, 4500, 50, 6);
  std::string p1 = makePng(800, 600, 25);
  bench("JPEG ~1 MB", j1, 1600ull * 1200, iterations, o);
  bench("JPEG ~1 MB orient 6", j1r, 1600ull * 1200, iterations, o);
  bench("JPEG ~20 MB", j20, 6000ull * 4500, std::max(1, iterations / 5), o);
  bench("JPEG ~20 MB orient 6", j20r, 6000ull * 4500, std::max(1, iterations / 5), o);
  bench("PNG ~1 MB", p1, 800ull * 600, iterations, o);
  return 0;
}
