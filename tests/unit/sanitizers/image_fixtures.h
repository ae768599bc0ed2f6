// Image fixtures built in code for the sanitizer.image tests: a JPEG with GPS EXIF, XMP, a
// comment, orientation 6 and a zip after EOI; PNGs with text/eXIf chunks; an animated GIF with a
// comment; BMP; multi-page TIFF; WebP with EXIF/XMP; pixel bombs. Also small decoders used to
// check the outputs independently of the sanitizer's code paths.
#pragma once

// clang-format off
#include <cstddef>  // jpeglib.h needs size_t and FILE declared before it
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <gif_lib.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace imgfix {

inline void put16le(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
inline void put32le(std::string& s, std::uint32_t v) {
  put16le(s, v & 0xffff);
  put16le(s, v >> 16);
}
inline void put32be(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (i * 8)) & 0xff);
}

/// RGB test pattern: a red 4x4 block at the top-left corner, a gradient elsewhere.
inline std::vector<std::uint8_t> pattern(int w, int h, int channels = 3) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * channels);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = &px[(static_cast<std::size_t>(y) * w + x) * channels];
      bool red = x < 4 && y < 4;
      p[0] = red ? 255 : static_cast<std::uint8_t>(x * 255 / (w > 1 ? w - 1 : 1) / 4);
      if (channels > 1) p[1] = red ? 0 : static_cast<std::uint8_t>(40 + y % 64);
      if (channels > 2) p[2] = red ? 0 : static_cast<std::uint8_t>(100);
      if (channels > 3) p[3] = static_cast<std::uint8_t>(128 + (x % 2) * 127);
    }
  }
  return px;
}

/// A little-endian EXIF TIFF block: Make, Model, Orientation and (optionally) a GPS IFD with
/// latitude. Returned without the "Exif\0\0" prefix.
inline std::string exifBlock(int orientation, bool gps) {
  // IFD0 at 8: 4 or 5 entries; strings and the GPS IFD follow.
  int n = gps ? 4 : 3;
  std::uint32_t ifd0_end = 8 + 2 + n * 12 + 4;
  std::uint32_t make_off = ifd0_end, model_off = make_off + 8, gps_off = model_off + 12;
  std::string s("II*\0", 4);
  put32le(s, 8);
  put16le(s, static_cast<std::uint32_t>(n));
  auto entry = [&](std::uint16_t tag, std::uint16_t type, std::uint32_t count,
                   std::uint32_t value) {
    put16le(s, tag);
    put16le(s, type);
    put32le(s, count);
    put32le(s, value);
  };
  entry(0x010f, 2, 8, make_off);    // Make "MugaiCam"
  entry(0x0110, 2, 12, model_off);  // Model "SecretModel"
  entry(0x0112, 3, 1, static_cast<std::uint32_t>(orientation));
  if (gps) entry(0x8825, 4, 1, gps_off);
  put32le(s, 0);
  s += std::string("MugaiCa\0", 8);
  s += std::string("SecretModel\0", 12);
  if (gps) {
    std::uint32_t rat_off = gps_off + 2 + 2 * 12 + 4;
    put16le(s, 2);
    put16le(s, 1);
    put16le(s, 2);
    put32le(s, 2);
    s += std::string("N\0\0\0", 4);  // GPSLatitudeRef
    put16le(s, 2);
    put16le(s, 5);
    put32le(s, 3);
    put32le(s, rat_off);  // GPSLatitude
    put32le(s, 0);
    for (std::uint32_t v : {35u, 1u, 41u, 1u, 22u, 1u}) put32le(s, v);
  }
  return s;
}

inline std::string xmpPacket() {
  return "<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>"
         "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
         "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
         "<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
         "<dc:creator><rdf:Seq><rdf:li>Secret Author</rdf:li></rdf:Seq></dc:creator>"
         "</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>";
}

/// A stored (uncompressed) zip with one member.
inline std::string storedZip(const std::string& name, const std::string& data) {
  std::uint32_t crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  std::string z;
  put32le(z, 0x04034b50);
  put16le(z, 10);
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 0);
  put32le(z, crc);
  put32le(z, data.size());
  put32le(z, data.size());
  put16le(z, name.size());
  put16le(z, 0);
  z += name + data;
  std::uint32_t cd = z.size();
  put32le(z, 0x02014b50);
  put16le(z, 20);
  put16le(z, 10);
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 0);
  put32le(z, crc);
  put32le(z, data.size());
  put32le(z, data.size());
  put16le(z, name.size());
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 0);
  put32le(z, 0);
  put32le(z, 0);
  z += name;
  std::uint32_t cd_size = z.size() - cd;
  put32le(z, 0x06054b50);
  put16le(z, 0);
  put16le(z, 0);
  put16le(z, 1);
  put16le(z, 1);
  put32le(z, cd_size);
  put32le(z, cd);
  put16le(z, 0);
  return z;
}

struct JpegMarkers {
  std::string exif;     ///< TIFF block (prefixed with Exif\0\0 here)
  std::string xmp;      ///< packet (prefixed with the XMP namespace here)
  std::string comment;  ///< COM
  std::string iptc;     ///< APP13 payload
  std::string icc;      ///< ICC profile (APP2 ICC_PROFILE)
};

/// A minimal well-formed ICC v2.1 display profile (header + a white point tag), enough for libpng's
/// iCCP checks and for exiftool to report ICC_Profile tags.
inline std::string iccProfile() {
  // Header, a tag table of two tags, the white point and 400 bytes of private (incompressible)
  // data: libpng skips iCCP chunks too small to hold a real zlib stream after the keyword.
  const std::uint32_t size = 132 + 2 * 12 + 20 + 400;
  std::string p(size, '\0');
  auto be = [&](std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[off + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  be(0, size);
  be(8, 0x02100000);
  p.replace(12, 4, "mntr");
  p.replace(16, 4, "RGB ");
  p.replace(20, 4, "XYZ ");
  p.replace(36, 4, "acsp");
  be(68, 0x0000F6D6);  // D50 illuminant
  be(72, 0x00010000);
  be(76, 0x0000D32D);
  be(128, 2);
  p.replace(132, 4, "wtpt");
  be(136, 156);
  be(140, 20);
  p.replace(144, 4, "zzzz");
  be(148, 176);
  be(152, 400);
  p.replace(156, 4, "XYZ ");
  be(164, 0x0000F6D6);
  be(168, 0x00010000);
  be(172, 0x0000D32D);
  std::uint32_t x = 12345;
  for (std::size_t i = 176; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    p[i] = static_cast<char>(x >> 24);
  }
  return p;
}

inline std::string makeJpeg(int w, int h, const JpegMarkers& m = {}, int quality = 90,
                            bool progressive = false, bool cmyk = false) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = cmyk ? 4 : 3;
  c.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  c.write_JFIF_header = m.exif.empty() ? TRUE : FALSE;
  jpeg_start_compress(&c, TRUE);
  if (!m.icc.empty()) {
    jpeg_write_icc_profile(&c, reinterpret_cast<const JOCTET*>(m.icc.data()),
                           static_cast<unsigned>(m.icc.size()));
  }
  if (!m.exif.empty()) {
    std::string a = std::string("Exif\0\0", 6) + m.exif;
    jpeg_write_marker(&c, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(a.data()), a.size());
  }
  if (!m.xmp.empty()) {
    std::string a = std::string("http://ns.adobe.com/xap/1.0/\0", 29) + m.xmp;
    jpeg_write_marker(&c, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(a.data()), a.size());
  }
  if (!m.iptc.empty()) {
    jpeg_write_marker(&c, JPEG_APP0 + 13, reinterpret_cast<const JOCTET*>(m.iptc.data()),
                      m.iptc.size());
  }
  if (!m.comment.empty()) {
    jpeg_write_marker(&c, JPEG_COM, reinterpret_cast<const JOCTET*>(m.comment.data()),
                      m.comment.size());
  }
  auto px = pattern(w, h, cmyk ? 4 : 3);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = &px[c.next_scanline * static_cast<std::size_t>(w) * (cmyk ? 4 : 3)];
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

struct Decoded {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> px;
  const std::uint8_t* at(int x, int y) const {
    return &px[(static_cast<std::size_t>(y) * width + x) * channels];
  }
};

/// libjpeg's own decode of `data` as RGB (throws on error).
inline Decoded decodeJpeg(const std::string& data) {
  struct Err {
    jpeg_error_mgr pub;
  } err;
  jpeg_decompress_struct d;
  d.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = [](j_common_ptr) { throw std::runtime_error("jpeg decode error"); };
  err.pub.emit_message = [](j_common_ptr, int) {};
  jpeg_create_decompress(&d);
  Decoded r;
  try {
    jpeg_mem_src(&d, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    r.width = static_cast<int>(d.output_width);
    r.height = static_cast<int>(d.output_height);
    r.channels = 3;
    r.px.resize(static_cast<std::size_t>(r.width) * r.height * 3);
    while (d.output_scanline < d.output_height) {
      JSAMPROW row = &r.px[d.output_scanline * static_cast<std::size_t>(r.width) * 3];
      jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
  } catch (...) {
    jpeg_destroy_decompress(&d);
    throw;
  }
  jpeg_destroy_decompress(&d);
  return r;
}

struct PngText {
  std::string key, text;
  int compression = PNG_TEXT_COMPRESSION_NONE;  // or _zTXt, PNG_ITXT_COMPRESSION_NONE
};

/// A PNG written by libpng with the given colour type/bit depth, text chunks and an eXIf block.
inline std::string makePng(int w, int h, int color_type, int bit_depth,
                           const std::vector<PngText>& texts = {}, const std::string& exif = {},
                           bool with_trns = false, const std::string& icc = {}) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("png write");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep d, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<char*>(d), n);
      },
      [](png_structp) {});
  png_set_IHDR(png, info, w, h, bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> pal(16);
  for (int i = 0; i < 16; ++i)
    pal[i] = {static_cast<png_byte>(i * 16), static_cast<png_byte>(255 - i * 16), 7};
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, pal.data(), 16);
  png_byte trans[16];
  for (int i = 0; i < 16; ++i) trans[i] = static_cast<png_byte>(i * 17);
  if (with_trns && color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_tRNS(png, info, trans, 16, nullptr);
  if (icc.empty()) {
    png_set_gAMA(png, info, 1.0 / 2.2);
  } else {
    png_set_iCCP(png, info, "test", 0, reinterpret_cast<png_const_bytep>(icc.data()),
                 static_cast<png_uint_32>(icc.size()));
  }
  std::vector<png_text> t(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::memset(&t[i], 0, sizeof t[i]);
    t[i].compression = texts[i].compression;
    t[i].key = const_cast<char*>(texts[i].key.c_str());
    t[i].text = const_cast<char*>(texts[i].text.c_str());
    t[i].text_length = texts[i].text.size();
    t[i].itxt_length = texts[i].text.size();
  }
  if (!t.empty()) png_set_text(png, info, t.data(), static_cast<int>(t.size()));
  if (!exif.empty())
    png_set_eXIf_1(png, info, exif.size(),
                   reinterpret_cast<png_bytep>(const_cast<char*>(exif.data())));
  png_write_info(png, info);
  int channels = png_get_channels(png, info);
  std::size_t row_bytes = png_get_rowbytes(png, info);
  std::vector<std::uint8_t> row(row_bytes);
  for (int y = 0; y < h; ++y) {
    for (std::size_t i = 0; i < row_bytes; ++i)
      row[i] = static_cast<std::uint8_t>((i * 7 + y * 13) & 0xff);
    if (color_type == PNG_COLOR_TYPE_PALETTE && bit_depth == 8) {
      for (auto& b : row) b &= 0x0f;
    }
    (void)channels;
    png_write_row(png, row.data());
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

/// An animated GIF: `frames` frames of w x h, delays 10, 20, 30.. centiseconds, loop forever,
/// and a comment extension.
inline std::string makeGif(int w, int h, int frames, const std::string& comment) {
  std::string out;
  int err = 0;
  GifFileType* g = EGifOpen(
      &out,
      [](GifFileType* f, const GifByteType* b, int n) {
        static_cast<std::string*>(f->UserData)->append(reinterpret_cast<const char*>(b), n);
        return n;
      },
      &err);
  GifColorType colors[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
  ColorMapObject* map = GifMakeMapObject(4, colors);
  EGifSetGifVersion(g, true);
  EGifPutScreenDesc(g, w, h, 2, 0, map);
  GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  GifByteType sub[] = {1, 0, 0};
  EGifPutExtensionLeader(g, APPLICATION_EXT_FUNC_CODE);
  EGifPutExtensionBlock(g, sizeof app, app);
  EGifPutExtensionBlock(g, sizeof sub, sub);
  EGifPutExtensionTrailer(g);
  if (!comment.empty()) EGifPutComment(g, comment.c_str());
  std::vector<GifPixelType> line(static_cast<std::size_t>(w));
  for (int f = 0; f < frames; ++f) {
    int delay = 10 * (f + 1);
    GifByteType gcb[4] = {0x08, static_cast<GifByteType>(delay & 0xff),
                          static_cast<GifByteType>(delay >> 8), 0};
    EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, gcb);
    EGifPutImageDesc(g, 0, 0, w, h, false, nullptr);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) line[x] = static_cast<GifPixelType>((x + y + f) % 4);
      EGifPutLine(g, line.data(), w);
    }
  }
  EGifCloseFile(g, &err);
  GifFreeMapObject(map);
  return out;
}

struct GifInfo {
  int frames = 0, width = 0, height = 0;
  std::vector<int> delays;
  bool comment = false, loop = false;
};

inline GifInfo readGif(const std::string& data) {
  struct In {
    const std::string* d;
    std::size_t pos;
  } in{&data, 0};
  int err = 0;
  GifFileType* g = DGifOpen(
      &in,
      [](GifFileType* f, GifByteType* b, int n) {
        auto* s = static_cast<In*>(f->UserData);
        std::size_t k = std::min<std::size_t>(n, s->d->size() - s->pos);
        std::memcpy(b, s->d->data() + s->pos, k);
        s->pos += k;
        return static_cast<int>(k);
      },
      &err);
  GifInfo r;
  if (!g) return r;
  if (DGifSlurp(g) != GIF_OK) {
    DGifCloseFile(g, &err);
    return r;
  }
  r.frames = g->ImageCount;
  r.width = g->SWidth;
  r.height = g->SHeight;
  auto scan = [&](int n, ExtensionBlock* b) {
    for (int i = 0; i < n; ++i) {
      if (b[i].Function == COMMENT_EXT_FUNC_CODE) r.comment = true;
      if (b[i].Function == APPLICATION_EXT_FUNC_CODE && b[i].ByteCount == 11 &&
          std::memcmp(b[i].Bytes, "NETSCAPE2.0", 11) == 0) {
        r.loop = true;
      }
    }
  };
  scan(g->ExtensionBlockCount, g->ExtensionBlocks);
  for (int i = 0; i < g->ImageCount; ++i) {
    scan(g->SavedImages[i].ExtensionBlockCount, g->SavedImages[i].ExtensionBlocks);
    GraphicsControlBlock gcb;
    if (DGifSavedExtensionToGCB(g, i, &gcb) == GIF_OK) r.delays.push_back(gcb.DelayTime);
  }
  DGifCloseFile(g, &err);
  return r;
}

/// A 24-bit bottom-up BMP (BITMAPINFOHEADER), optionally followed by `trailing`.
inline std::string makeBmp(int w, int h, const std::string& trailing = {}) {
  int stride = (w * 3 + 3) & ~3;
  std::string s = "BM";
  put32le(s, 14 + 40 + stride * h);
  put32le(s, 0);
  put32le(s, 14 + 40);
  put32le(s, 40);
  put32le(s, static_cast<std::uint32_t>(w));
  put32le(s, static_cast<std::uint32_t>(h));
  put16le(s, 1);
  put16le(s, 24);
  put32le(s, 0);
  put32le(s, stride * h);
  put32le(s, 2835);
  put32le(s, 2835);
  put32le(s, 0);
  put32le(s, 0);
  auto px = pattern(w, h);
  for (int y = h - 1; y >= 0; --y) {
    std::string row;
    for (int x = 0; x < w; ++x) {
      const std::uint8_t* p = &px[(static_cast<std::size_t>(y) * w + x) * 3];
      row += static_cast<char>(p[2]);
      row += static_cast<char>(p[1]);
      row += static_cast<char>(p[0]);
    }
    row.resize(stride, '\0');
    s += row;
  }
  return s + trailing;
}

struct TiffMem {
  std::string data;
  std::uint64_t pos = 0;
};

inline TIFF* openTiffMem(TiffMem& m, const char* mode) {
  return TIFFClientOpen(
      "mem", mode, &m,
      [](thandle_t h, tdata_t b, tsize_t n) -> tsize_t {
        auto* m = static_cast<TiffMem*>(h);
        if (m->pos >= m->data.size()) return 0;
        std::size_t k = std::min<std::size_t>(n, m->data.size() - m->pos);
        std::memcpy(b, m->data.data() + m->pos, k);
        m->pos += k;
        return static_cast<tsize_t>(k);
      },
      [](thandle_t h, tdata_t b, tsize_t n) -> tsize_t {
        auto* m = static_cast<TiffMem*>(h);
        if (m->pos + n > m->data.size()) m->data.resize(m->pos + n);
        std::memcpy(m->data.data() + m->pos, b, n);
        m->pos += n;
        return n;
      },
      [](thandle_t h, toff_t off, int whence) -> toff_t {
        auto* m = static_cast<TiffMem*>(h);
        if (whence == SEEK_SET)
          m->pos = off;
        else if (whence == SEEK_CUR)
          m->pos += off;
        else
          m->pos = m->data.size() + off;
        return m->pos;
      },
      [](thandle_t) { return 0; },
      [](thandle_t h) -> toff_t { return static_cast<TiffMem*>(h)->data.size(); },
      [](thandle_t, tdata_t*, toff_t*) { return 0; }, [](thandle_t, tdata_t, toff_t) {});
}

/// A TIFF with `pages` RGB pages (LZW), each w x h, with description/make/XMP tags and
/// `orientation`.
inline std::string makeTiff(int w, int h, int pages, int orientation = 1) {
  TiffMem m;
  TIFF* t = openTiffMem(m, "w");
  auto px = pattern(w, h);
  std::string xmp = xmpPacket();
  for (int p = 0; p < pages; ++p) {
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
    TIFFSetField(t, TIFFTAG_ORIENTATION, orientation);
    TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, "Secret description");
    TIFFSetField(t, TIFFTAG_MAKE, "MugaiCam");
    TIFFSetField(t, TIFFTAG_MODEL, "SecretModel");
    TIFFSetField(t, TIFFTAG_ARTIST, "Secret Author");
    TIFFSetField(t, TIFFTAG_XMLPACKET, static_cast<std::uint32_t>(xmp.size()), xmp.data());
    for (int y = 0; y < h; ++y)
      TIFFWriteScanline(t, &px[static_cast<std::size_t>(y) * w * 3], y, 0);
    TIFFWriteDirectory(t);
  }
  TIFFClose(t);
  return m.data;
}

/// One kind of TIFF as scanners, faxes and cameras write them.
struct TiffKind {
  const char* name;
  std::uint16_t photometric, bits, samples, compression;
  std::uint16_t planar = PLANARCONFIG_CONTIG;
  bool tiled = false;
  std::uint16_t extra = 0;  ///< EXTRASAMPLE_*, for the last sample; 0: none
};

inline const std::vector<TiffKind>& tiffKinds() {
  static const std::vector<TiffKind> kinds{
      {"fax, bilevel, CCITT G4", PHOTOMETRIC_MINISWHITE, 1, 1, COMPRESSION_CCITTFAX4},
      {"fax, bilevel, CCITT G3", PHOTOMETRIC_MINISWHITE, 1, 1, COMPRESSION_CCITTFAX3},
      {"gray 4-bit, PackBits", PHOTOMETRIC_MINISBLACK, 4, 1, COMPRESSION_PACKBITS},
      {"gray 8-bit, uncompressed", PHOTOMETRIC_MINISBLACK, 8, 1, COMPRESSION_NONE},
      {"gray 16-bit, deflate", PHOTOMETRIC_MINISBLACK, 16, 1, COMPRESSION_ADOBE_DEFLATE},
      {"gray + alpha, LZW", PHOTOMETRIC_MINISBLACK, 8, 2, COMPRESSION_LZW, PLANARCONFIG_CONTIG,
       false, EXTRASAMPLE_UNASSALPHA},
      {"palette 8-bit, LZW", PHOTOMETRIC_PALETTE, 8, 1, COMPRESSION_LZW},
      {"palette 2-bit", PHOTOMETRIC_PALETTE, 2, 1, COMPRESSION_NONE},
      {"RGB, JPEG", PHOTOMETRIC_RGB, 8, 3, COMPRESSION_JPEG},
      {"RGB 16-bit, deflate", PHOTOMETRIC_RGB, 16, 3, COMPRESSION_ADOBE_DEFLATE},
      {"RGB, planar, PackBits", PHOTOMETRIC_RGB, 8, 3, COMPRESSION_PACKBITS,
       PLANARCONFIG_SEPARATE},
      {"RGBA unassociated, tiled, LZW", PHOTOMETRIC_RGB, 8, 4, COMPRESSION_LZW,
       PLANARCONFIG_CONTIG, true, EXTRASAMPLE_UNASSALPHA},
      {"RGBA associated, planar", PHOTOMETRIC_RGB, 8, 4, COMPRESSION_NONE, PLANARCONFIG_SEPARATE,
       false, EXTRASAMPLE_ASSOCALPHA},
      {"CMYK, tiled", PHOTOMETRIC_SEPARATED, 8, 4, COMPRESSION_NONE, PLANARCONFIG_CONTIG, true},
  };
  return kinds;
}

inline const TiffKind& tiffKind(const std::string& name) {
  for (const auto& k : tiffKinds()) {
    if (name == k.name) return k;
  }
  throw std::invalid_argument("no TIFF kind " + name);
}

/// Sample s of pixel (x, y), in 0 .. 2^bits - 1: varied enough that a shifted, swapped or
/// flipped sample shows.
inline std::uint32_t tiffSample(std::uint32_t x, std::uint32_t y, int s, int bits) {
  std::uint32_t v = x * 37u + y * 101u + static_cast<std::uint32_t>(s) * 71u + (x * y) % 13u;
  return bits >= 16 ? (v * 523u) & 0xFFFFu : v & ((1u << bits) - 1u);
}

/// Writes one row (or tile row) of `n` pixels from (x0, y) of samples [s0, s0 + ns), packed MSB
/// first at `bits` per sample, into `out`.
inline void packTiffRow(std::uint8_t* out, std::uint32_t x0, std::uint32_t y, std::uint32_t n,
                        int s0, int ns, int bits) {
  std::size_t bit = 0;
  for (std::uint32_t x = x0; x < x0 + n; ++x) {
    for (int s = s0; s < s0 + ns; ++s) {
      std::uint32_t v = tiffSample(x, y, s, bits);
      if (bits == 16) {
        std::uint16_t w = static_cast<std::uint16_t>(v);
        std::memcpy(out + bit / 8, &w, 2);  // native order, as libtiff expects
      } else {
        for (int b = bits - 1; b >= 0; --b, ++bit) {
          if ((v >> b) & 1u) out[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
        }
        continue;
      }
      bit += 16;
    }
  }
}

/// A w x h TIFF of that kind, with a description, a camera make and XMP.
inline std::string makeTiffKind(const TiffKind& k, std::uint32_t w, std::uint32_t h,
                                int orientation = 1) {
  TiffMem m;
  TIFF* t = openTiffMem(m, "w");
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, k.bits);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, k.samples);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, k.photometric);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, k.planar);
  TIFFSetField(t, TIFFTAG_COMPRESSION, k.compression);
  TIFFSetField(t, TIFFTAG_ORIENTATION, orientation);
  if (k.compression == COMPRESSION_JPEG) TIFFSetField(t, TIFFTAG_JPEGQUALITY, 90);
  if (k.extra) TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &k.extra);
  if (k.photometric == PHOTOMETRIC_SEPARATED) TIFFSetField(t, TIFFTAG_INKSET, INKSET_CMYK);
  std::vector<std::uint16_t> map[3];
  if (k.photometric == PHOTOMETRIC_PALETTE) {
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < (1 << k.bits); ++i)
        map[c].push_back(static_cast<std::uint16_t>((i * 4099 + c * 20000) & 0xFFFF));
    }
    TIFFSetField(t, TIFFTAG_COLORMAP, map[0].data(), map[1].data(), map[2].data());
  }
  TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, "Secret description");
  TIFFSetField(t, TIFFTAG_MAKE, "MugaiCam");
  std::string xmp = xmpPacket();
  TIFFSetField(t, TIFFTAG_XMLPACKET, static_cast<std::uint32_t>(xmp.size()), xmp.data());
  const int planes = k.planar == PLANARCONFIG_SEPARATE ? k.samples : 1;
  const int per_plane = k.planar == PLANARCONFIG_SEPARATE ? 1 : k.samples;
  if (k.tiled) {
    const std::uint32_t tw = 16, th = 16;
    TIFFSetField(t, TIFFTAG_TILEWIDTH, tw);
    TIFFSetField(t, TIFFTAG_TILELENGTH, th);
    std::vector<std::uint8_t> tile(static_cast<std::size_t>(TIFFTileSize(t)));
    const std::size_t row_bytes = tile.size() / th;
    for (int pl = 0; pl < planes; ++pl) {
      for (std::uint32_t ty = 0; ty < h; ty += th) {
        for (std::uint32_t tx = 0; tx < w; tx += tw) {
          std::fill(tile.begin(), tile.end(), 0);
          for (std::uint32_t r = 0; r < th; ++r)
            packTiffRow(tile.data() + r * row_bytes, tx, ty + r, tw, pl, per_plane, k.bits);
          TIFFWriteTile(t, tile.data(), tx, ty, 0, static_cast<tsample_t>(pl));
        }
      }
    }
  } else {
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, k.compression == COMPRESSION_JPEG ? 16 : 5);
    std::vector<std::uint8_t> row(static_cast<std::size_t>(TIFFScanlineSize(t)));
    for (int pl = 0; pl < planes; ++pl) {
      for (std::uint32_t y = 0; y < h; ++y) {
        std::fill(row.begin(), row.end(), 0);
        packTiffRow(row.data(), 0, y, w, pl * per_plane, per_plane, k.bits);
        TIFFWriteScanline(t, row.data(), y, static_cast<tsample_t>(pl));
      }
    }
  }
  TIFFWriteDirectory(t);
  TIFFClose(t);
  return m.data;
}

/// The first page as libtiff itself draws it (TIFFReadRGBAImageOriented, top row first), and
/// its tags: what a rebuilt TIFF is compared with.
struct TiffDrawn {
  std::uint32_t width = 0, height = 0;
  std::uint16_t bits = 0, samples = 0, photometric = 0, compression = 0;
  bool has_text_tags = false;
  std::vector<std::uint32_t> abgr;
};

inline TiffDrawn drawTiff(const std::string& data) {
  TiffDrawn d;
  TiffMem m{data, 0};
  TIFF* t = openTiffMem(m, "r");
  if (!t) return d;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &d.width);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &d.height);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &d.bits);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &d.samples);
  TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &d.photometric);
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &d.compression);
  char* text = nullptr;
  std::uint32_t len = 0;
  void* blob = nullptr;
  d.has_text_tags = TIFFGetField(t, TIFFTAG_IMAGEDESCRIPTION, &text) ||
                    TIFFGetField(t, TIFFTAG_MAKE, &text) ||
                    TIFFGetField(t, TIFFTAG_XMLPACKET, &len, &blob);
  d.abgr.resize(static_cast<std::size_t>(d.width) * d.height);
  if (!TIFFReadRGBAImageOriented(t, d.width, d.height, d.abgr.data(), ORIENTATION_TOPLEFT, 1))
    d.abgr.clear();
  TIFFClose(t);
  return d;
}

inline int tiffPages(const std::string& data) {
  TiffMem m{data, 0};
  TIFF* t = openTiffMem(m, "r");
  if (!t) return 0;
  int n = TIFFNumberOfDirectories(t);
  TIFFClose(t);
  return n;
}

/// A still WebP (lossless or lossy) with EXIF and XMP chunks added through libwebpmux.
inline std::string makeWebp(int w, int h, bool lossless, const std::string& exif,
                            const std::string& xmp) {
  auto px = pattern(w, h, 4);
  std::uint8_t* enc = nullptr;
  std::size_t n = lossless ? WebPEncodeLosslessRGBA(px.data(), w, h, w * 4, &enc)
                           : WebPEncodeRGBA(px.data(), w, h, w * 4, 80, &enc);
  WebPMux* mux = WebPMuxNew();
  WebPData img{enc, n};
  WebPMuxSetImage(mux, &img, 1);
  if (!exif.empty()) {
    WebPData e{reinterpret_cast<const std::uint8_t*>(exif.data()), exif.size()};
    WebPMuxSetChunk(mux, "EXIF", &e, 1);
  }
  if (!xmp.empty()) {
    WebPData x{reinterpret_cast<const std::uint8_t*>(xmp.data()), xmp.size()};
    WebPMuxSetChunk(mux, "XMP ", &x, 1);
  }
  WebPData out;
  WebPDataInit(&out);
  WebPMuxAssemble(mux, &out);
  std::string s(reinterpret_cast<const char*>(out.bytes), out.size);
  WebPDataClear(&out);
  WebPMuxDelete(mux);
  WebPFree(enc);
  return s;
}

/// An animated WebP: `frames` frames of w x h, durations 100, 200, 300.. ms, loop forever.
inline std::string makeAnimatedWebp(int w, int h, int frames, bool lossless) {
  WebPAnimEncoderOptions eo;
  WebPAnimEncoderOptionsInit(&eo);
  WebPAnimEncoder* enc = WebPAnimEncoderNew(w, h, &eo);
  WebPConfig cfg;
  WebPConfigInit(&cfg);
  cfg.lossless = lossless ? 1 : 0;
  int ts = 0;
  for (int f = 0; f < frames; ++f) {
    auto px = pattern(w, h, 4);
    for (std::size_t i = 0; i < px.size(); i += 4) px[i + 2] = static_cast<std::uint8_t>(f * 80);
    WebPPicture pic;
    WebPPictureInit(&pic);
    pic.use_argb = 1;
    pic.width = w;
    pic.height = h;
    WebPPictureImportRGBA(&pic, px.data(), w * 4);
    WebPAnimEncoderAdd(enc, &pic, ts, &cfg);
    WebPPictureFree(&pic);
    ts += 100 * (f + 1);
  }
  WebPAnimEncoderAdd(enc, nullptr, ts, nullptr);
  WebPData out;
  WebPDataInit(&out);
  WebPAnimEncoderAssemble(enc, &out);
  std::string s(reinterpret_cast<const char*>(out.bytes), out.size);
  WebPDataClear(&out);
  WebPAnimEncoderDelete(enc);
  return s;
}

/// Frame end timestamps (ms) of an animated WebP, decoded by libwebpdemux.
inline std::vector<int> webpFrameEnds(const std::string& data, int* loop = nullptr) {
  WebPData d{reinterpret_cast<const std::uint8_t*>(data.data()), data.size()};
  WebPAnimDecoder* dec = WebPAnimDecoderNew(&d, nullptr);
  std::vector<int> ends;
  if (!dec) return ends;
  WebPAnimInfo info;
  WebPAnimDecoderGetInfo(dec, &info);
  if (loop) *loop = static_cast<int>(info.loop_count);
  while (WebPAnimDecoderHasMoreFrames(dec)) {
    std::uint8_t* buf = nullptr;
    int ts = 0;
    if (!WebPAnimDecoderGetNext(dec, &buf, &ts)) break;
    ends.push_back(ts);
  }
  WebPAnimDecoderDelete(dec);
  return ends;
}

/// A PNG signature + IHDR chunk (valid CRC) claiming w x h, then IEND: a pixel bomb header.
inline std::string pngHeaderOnly(std::uint32_t w, std::uint32_t h) {
  std::string s("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr = "IHDR";
  put32be(ihdr, w);
  put32be(ihdr, h);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  put32be(s, 13);
  s += ihdr;
  put32be(s, static_cast<std::uint32_t>(
                 crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size())));
  std::string idat = "IDAT";
  std::string z(64, '\0');
  uLongf zl = z.size();
  std::string raw(16, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &zl, reinterpret_cast<const Bytef*>(raw.data()),
           raw.size());
  idat += z.substr(0, zl);
  put32be(s, static_cast<std::uint32_t>(zl));
  s += idat;
  put32be(s, static_cast<std::uint32_t>(
                 crc32(0, reinterpret_cast<const Bytef*>(idat.data()), idat.size())));
  return s;
}

/// A baseline JPEG header (SOI, DQT, SOF0, DHT-less) claiming w x h: enough for jpeg_read_header
/// to report the size, nothing to decode.
inline std::string jpegWithSize(int real_w, int real_h, std::uint16_t claim_w,
                                std::uint16_t claim_h) {
  std::string j = makeJpeg(real_w, real_h);
  // Patch the SOF0 frame size.
  for (std::size_t i = 2; i + 9 < j.size(); ++i) {
    if (static_cast<unsigned char>(j[i]) == 0xff && static_cast<unsigned char>(j[i + 1]) == 0xc0) {
      j[i + 5] = static_cast<char>(claim_h >> 8);
      j[i + 6] = static_cast<char>(claim_h & 0xff);
      j[i + 7] = static_cast<char>(claim_w >> 8);
      j[i + 8] = static_cast<char>(claim_w & 0xff);
      break;
    }
  }
  return j;
}

}  // namespace imgfix
