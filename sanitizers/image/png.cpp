// PNG: libpng decode -> orientation (eXIf) -> re-encode with the same colour type and bit depth.
// Kept: IHDR, PLTE, tRNS (part of the pixels), gAMA, sRGB, and iCCP only with keep_icc. Every
// other ancillary chunk (tEXt/zTXt/iTXt, eXIf, tIME, pHYs, APNG frames, private chunks) is handed
// to our callback as "unknown", reported and dropped without being decompressed.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <set>

#include "sanitizers/image/codec.h"
#include "sanitizers/image/exif.h"

namespace mugai::sanitizers::image {
namespace {

constexpr png_alloc_size_t kMaxChunk = 16u << 20;  // largest ancillary chunk libpng may buffer

struct ReadState {
  std::string_view in;
  std::size_t pos = 0;
  Ctx* ctx = nullptr;
  std::set<std::string> seen;
  int orientation = 1;
  std::string error;
};

struct WriteState {
  std::string out;
  std::string error;
};

[[noreturn]] void onReadError(png_structp png, png_const_charp msg) {
  auto* st = static_cast<ReadState*>(png_get_error_ptr(png));
  st->error = msg ? msg : "error";
  png_longjmp(png, 1);
}
[[noreturn]] void onWriteError(png_structp png, png_const_charp msg) {
  auto* st = static_cast<WriteState*>(png_get_error_ptr(png));
  st->error = msg ? msg : "error";
  png_longjmp(png, 1);
}
void onWarning(png_structp, png_const_charp) {}  // silenced: no stderr from a library

void readFn(png_structp png, png_bytep data, png_size_t len) {
  auto* st = static_cast<ReadState*>(png_get_io_ptr(png));
  if (len > st->in.size() - st->pos) png_error(png, "truncated file");
  std::memcpy(data, st->in.data() + st->pos, len);
  st->pos += len;
}

void writeFn(png_structp png, png_bytep data, png_size_t len) {
  bool oom = false;
  try {  // no exception may cross libpng's C frames
    static_cast<WriteState*>(png_get_io_ptr(png))
        ->out.append(reinterpret_cast<const char*>(data), len);
  } catch (...) {
    oom = true;
  }
  if (oom) png_error(png, "out of memory");
}
void flushFn(png_structp) {}

/// Every dropped chunk comes here (see the keep list in rebuildPng): report, never keep.
int onChunk(png_structp png, png_unknown_chunkp chunk) {
  auto* st = static_cast<ReadState*>(png_get_user_chunk_ptr(png));
  std::string name(reinterpret_cast<const char*>(chunk->name), 4);
  std::string_view data(reinterpret_cast<const char*>(chunk->data), chunk->size);
  std::string what = name + " chunk";
  if (name == "eXIf") {
    ExifSummary s = readExif(data);
    if (s.valid && st->orientation == 1) st->orientation = s.orientation;
    what = exifFindingText(s);
  } else if (name == "tEXt" || name == "zTXt" || name == "iTXt") {
    std::string_view key = data.substr(0, std::min<std::size_t>(data.find('\0'), 80));
    if (key == "XML:com.adobe.xmp" || key == "Raw profile type xmp") {
      what = "XMP";
    } else if (key == "Raw profile type exif" || key == "Raw profile type APP1") {
      what = "EXIF";
    } else if (key == "Raw profile type iptc") {
      what = "IPTC";
    } else {
      what = "text (" + name + ")";
    }
  } else if (name == "iCCP") {
    what = "ICC profile";
  } else if (name == "acTL" || name == "fcTL" || name == "fdAT") {
    what = "APNG animation (first frame kept)";
  }
  if (st->seen.insert(what).second) st->ctx->removed(what);
  return 1;  // handled: libpng keeps nothing
}

}  // namespace

/// Writes the rows of `view` (one byte per sample below 8 bits: packed here) with the given header.
static CodecResult writePng(const OrientedView& view, int bit_depth, int color_type,
                            png_structp rpng, png_infop rinfo, bool keep_icc) {
  const std::uint32_t w = view.width(), h = view.height();
  WriteState ws;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ws, onWriteError, onWarning);
  if (!png) return fail("PNG: cannot create the writer");
  png_infop info = png_create_info_struct(png);
  std::vector<std::uint8_t> scratch(static_cast<std::size_t>(w) *
                                    static_cast<std::size_t>(view.channels()));
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return fail("PNG write: " + ws.error);
  }
  if (!info) png_error(png, "no memory");
  png_set_write_fn(png, &ws, writeFn, flushFn);
  png_set_IHDR(png, info, w, h, bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (rpng && rinfo) {
    png_colorp pal = nullptr;
    int npal = 0;
    if (png_get_PLTE(rpng, rinfo, &pal, &npal) == PNG_INFO_PLTE) png_set_PLTE(png, info, pal, npal);
    png_bytep trans = nullptr;
    int ntrans = 0;
    png_color_16p tcolor = nullptr;
    if (png_get_tRNS(rpng, rinfo, &trans, &ntrans, &tcolor) == PNG_INFO_tRNS) {
      png_set_tRNS(png, info, trans, ntrans, tcolor);
    }
    int intent = 0;
    png_fixed_point gamma = 0;
    if (png_get_sRGB(rpng, rinfo, &intent) == PNG_INFO_sRGB) {
      png_set_sRGB(png, info, intent);
    } else if (png_get_gAMA_fixed(rpng, rinfo, &gamma) == PNG_INFO_gAMA) {
      png_set_gAMA_fixed(png, info, gamma);
    }
    png_charp name = nullptr;
    int ctype = 0;
    png_bytep prof = nullptr;
    png_uint_32 plen = 0;
    if (keep_icc && png_get_iCCP(rpng, rinfo, &name, &ctype, &prof, &plen) == PNG_INFO_iCCP) {
      png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, prof, plen);
    }
  }
  png_write_info(png, info);
  if (bit_depth < 8) png_set_packing(png);
  for (std::uint32_t y = 0; y < h; ++y) png_write_row(png, view.row(y, scratch.data()));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  CodecResult r;
  r.encoded.data = std::move(ws.out);
  r.encoded.mime = "image/png";
  return r;
}

CodecResult rebuildPng(std::string_view in, Ctx& ctx) {
  ReadState st;
  st.in = in;
  st.ctx = &ctx;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, onReadError, onWarning);
  if (!png) return fail("PNG: cannot create the reader");
  png_infop info = png_create_info_struct(png);
  Raster r;
  std::vector<png_bytep> rows;
  std::optional<Failure> failure;
  CodecResult result;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return fail("PNG: " + st.error);
  }
  if (!info) png_error(png, "no memory");
  png_set_read_fn(png, &st, readFn);
  // Our own pixel limit decides (limit.image_pixels), not libpng's default 1e6 x 1e6 user limit.
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_set_chunk_malloc_max(png, kMaxChunk);
  png_set_chunk_cache_max(png, 10000);
  {
    // Known ancillary chunks we drop are handled "as unknown" so libpng never inflates them.
    static const png_byte drop[] =
        "tEXt\0zTXt\0iTXt\0eXIf\0tIME\0pHYs\0sPLT\0hIST\0bKGD\0cHRM\0sBIT\0oFFs\0pCAL\0sCAL\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, drop,
                                static_cast<int>(sizeof drop / 5));
    if (!ctx.options.keep_icc) {
      static const png_byte iccp[] = "iCCP";
      png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, iccp, 1);
    }
    png_set_read_user_chunk_fn(png, &st, onChunk);
  }
  png_read_info(png, info);
  png_uint_32 w = 0, h = 0;
  int bd = 0, ct = 0, interlace = 0;
  png_get_IHDR(png, info, &w, &h, &bd, &ct, &interlace, nullptr, nullptr);
  if ((failure = ctx.checkPixels(pixelCount(w, h)))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return fail(*failure);
  }
  if (bd < 8) png_set_packing(png);  // one byte per sample in memory, packed again on write
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  std::size_t row_bytes = png_get_rowbytes(png, info);
  if ((failure = ctx.charge(std::uint64_t{row_bytes} * h))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return fail(*failure);
  }
  r.width = w;
  r.height = h;
  r.channels = static_cast<int>(row_bytes / (w ? w : 1));  // bytes per pixel
  r.px.resize(row_bytes * h);
  rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = &r.px[y * row_bytes];
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);  // CRCs, trailing chunks (through onChunk) up to IEND
  if (st.pos < in.size())
    ctx.removed("trailing data " + std::to_string(in.size() - st.pos) + " bytes");

  noteOrientation(ctx, st.orientation);
  result = writePng(OrientedView(r, st.orientation), bd, ct, png, info, ctx.options.keep_icc);
  png_destroy_read_struct(&png, &info, nullptr);
  return result;
}

CodecResult encodePngRaster(const Raster& r, Ctx&) {
  int ct = r.channels == 1   ? PNG_COLOR_TYPE_GRAY
           : r.channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
           : r.channels == 3 ? PNG_COLOR_TYPE_RGB
                             : PNG_COLOR_TYPE_RGBA;
  return writePng(OrientedView(r, 1), 8, ct, nullptr, nullptr, false);
}

}  // namespace mugai::sanitizers::image
