// TIFF: libtiff decode (TIFFRGBAImage: every photometric/compression libtiff knows, to 8-bit RGBA)
// -> orientation -> TIFF again, one page per input page (multi-page kept up to the pixel budget),
// 8-bit RGB(A), deflate with horizontal predictor. Only the tags needed to draw the pixels are
// written: EXIF/GPS IFDs, XMP, IPTC, Photoshop resources, descriptions, make/model, private tags
// and sub-IFDs (thumbnails, DNG raw data) are gone; the ICC profile only with keep_icc.
#include <tiffio.h>

#include <cstring>
#include <set>

#include "sanitizers/image/codec.h"

namespace mugai::sanitizers::image {
namespace {

constexpr tmsize_t kMaxSingleAlloc = 256 << 20;  // largest single libtiff allocation
constexpr std::uint32_t kMaxIcc = 4u << 20;
constexpr tdir_t kMaxPages = 10000;  // a fax or scan has tens of pages; each page is a full decode

struct Mem {
  std::string data;       // write side
  std::string_view view;  // read side
  bool writable = false;
  std::uint64_t pos = 0;
  std::string_view bytes() const { return writable ? std::string_view(data) : view; }
};

struct Handlers {
  bool error = false;
  std::string message;
};

int onError(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* h = static_cast<Handlers*>(user);
  if (!h->error) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    h->message = std::string(module ? module : "") + ": " + buf;
  }
  h->error = true;
  return 1;  // handled: nothing reaches stderr
}
int onWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

tsize_t memRead(thandle_t fd, tdata_t buf, tsize_t size) {
  auto* m = static_cast<Mem*>(fd);
  std::string_view b = m->bytes();
  if (size <= 0 || m->pos >= b.size()) return 0;
  std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(size), b.size() - m->pos);
  std::memcpy(buf, b.data() + m->pos, n);
  m->pos += n;
  return static_cast<tsize_t>(n);
}
tsize_t memWrite(thandle_t fd, tdata_t buf, tsize_t size) {
  auto* m = static_cast<Mem*>(fd);
  if (!m->writable || size < 0) return -1;
  std::uint64_t end = m->pos + static_cast<std::uint64_t>(size);
  try {  // no exception may cross libtiff's C frames; a failed write is a libtiff error
    if (end > m->data.size()) m->data.resize(end);
  } catch (...) {
    return -1;
  }
  std::memcpy(m->data.data() + m->pos, buf, static_cast<std::size_t>(size));
  m->pos = end;
  return size;
}
toff_t memSeek(thandle_t fd, toff_t off, int whence) {
  auto* m = static_cast<Mem*>(fd);
  std::uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->bytes().size();
  std::uint64_t np = base + off;  // off may be "negative" (wraps); checked below
  if (whence != SEEK_SET && static_cast<std::int64_t>(off) < 0)
    np = base - static_cast<std::uint64_t>(-static_cast<std::int64_t>(off));
  if (np > (1ull << 40)) return static_cast<toff_t>(-1);
  m->pos = np;
  return np;
}
int memClose(thandle_t) { return 0; }
toff_t memSize(thandle_t fd) { return static_cast<Mem*>(fd)->bytes().size(); }
int memMap(thandle_t, tdata_t*, toff_t*) { return 0; }
void memUnmap(thandle_t, tdata_t, toff_t) {}

TIFF* open(const char* mode, Mem& mem, Handlers& h) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts, kMaxSingleAlloc);
  TIFFOpenOptionsSetErrorHandlerExtR(opts, onError, &h);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, onWarning, &h);
  TIFF* t = TIFFClientOpenExt("image", mode, &mem, memRead, memWrite, memSeek, memClose, memSize,
                              memMap, memUnmap, opts);
  TIFFOpenOptionsFree(opts);
  return t;
}

void reportTags(TIFF* t, std::set<std::string>& seen, Ctx& ctx) {
  auto add = [&](const std::string& what) {
    if (seen.insert(what).second) ctx.removed(what);
  };
  toff_t off = 0;
  std::uint32_t len = 0;
  void* data = nullptr;
  char* text = nullptr;
  std::uint16_t count16 = 0;
  if (TIFFGetField(t, TIFFTAG_GPSIFD, &off)) add("EXIF (GPS)");
  if (TIFFGetField(t, TIFFTAG_EXIFIFD, &off)) add("EXIF");
  if (TIFFGetField(t, TIFFTAG_XMLPACKET, &len, &data)) add("XMP");
  if (TIFFGetField(t, TIFFTAG_RICHTIFFIPTC, &len, &data)) add("IPTC");
  if (TIFFGetField(t, TIFFTAG_PHOTOSHOP, &len, &data)) add("Photoshop resources");
  if (!ctx.options.keep_icc && TIFFGetField(t, TIFFTAG_ICCPROFILE, &len, &data)) add("ICC profile");
  if (TIFFGetField(t, TIFFTAG_MAKE, &text) || TIFFGetField(t, TIFFTAG_MODEL, &text))
    add("camera make/model");
  if (TIFFGetField(t, TIFFTAG_IMAGEDESCRIPTION, &text) || TIFFGetField(t, TIFFTAG_ARTIST, &text) ||
      TIFFGetField(t, TIFFTAG_SOFTWARE, &text) || TIFFGetField(t, TIFFTAG_COPYRIGHT, &text) ||
      TIFFGetField(t, TIFFTAG_DOCUMENTNAME, &text) ||
      TIFFGetField(t, TIFFTAG_HOSTCOMPUTER, &text)) {
    add("TIFF text tags");
  }
  if (TIFFGetField(t, TIFFTAG_SUBIFD, &count16, &data)) add("sub-images (thumbnails/raw data)");
}

/// The whole budget first: pages x width x height, before decoding any page. Directories are
/// walked in order (TIFFReadDirectory), never by index, so the walk stays linear; libtiff
/// refuses IFD loops. Leaves `t` on its first directory.
std::optional<Failure> countPages(TIFF* t, const Handlers& rh, Ctx& ctx, tdir_t& pages) {
  pages = 0;
  std::uint64_t pixels = 0;
  do {
    if (rh.error) return Failure{Reason::CdrFailed, "TIFF: " + rh.message};
    if (++pages > kMaxPages)
      return Failure{Reason::CdrFailed, "TIFF: more than " + std::to_string(kMaxPages) + " pages"};
    if (auto f = ctx.deadline()) return f;
    std::uint32_t w = 0, h = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    if (w == 0 || h == 0) return Failure{Reason::CdrFailed, "TIFF: empty page"};
    pixels += pixelCount(w, h);
    if (auto f = ctx.checkPixels(pixels)) return f;
  } while (TIFFReadDirectory(t));
  if (rh.error) return Failure{Reason::CdrFailed, "TIFF: " + rh.message};
  if (!TIFFSetDirectory(t, 0)) return Failure{Reason::CdrFailed, "TIFF: first directory"};
  return std::nullopt;
}

/// Page `i` (the current directory) drawn by TIFFRGBAImage into `r`: 8-bit RGB, or RGBA when
/// it has alpha; rows in stored order (the caller applies the orientation).
std::optional<Failure> decodePage(TIFF* t, const Handlers& rh, tdir_t i, Ctx& ctx, Raster& r) {
  char emsg[1024] = {};
  if (!TIFFRGBAImageOK(t, emsg)) return Failure{Reason::CdrFailed, std::string("TIFF: ") + emsg};
  TIFFRGBAImage img;
  if (!TIFFRGBAImageBegin(&img, t, 1, emsg))
    return Failure{Reason::CdrFailed, std::string("TIFF: ") + emsg};
  // Stored order (row 0 first); we apply the orientation ourselves, all eight of them
  // (TIFFRGBAImage itself only flips and would ignore the transposing ones).
  img.req_orientation = ORIENTATION_TOPLEFT;
  img.orientation = ORIENTATION_TOPLEFT;
  const std::uint32_t W = img.width, H = img.height;
  const bool alpha = img.alpha != 0;
  std::uint64_t bytes = pixelCount(W, H) * 4;
  if (auto f = ctx.charge(bytes * 2)) {
    TIFFRGBAImageEnd(&img);
    return f;
  }
  std::vector<std::uint32_t> raster(static_cast<std::size_t>(pixelCount(W, H)));
  int ok = TIFFRGBAImageGet(&img, raster.data(), W, H);
  TIFFRGBAImageEnd(&img);
  if (!ok || rh.error)
    return Failure{Reason::CdrFailed, "TIFF: damaged page " + std::to_string(i) + " " + rh.message};
  r.width = W;
  r.height = H;
  r.channels = alpha ? 4 : 3;
  r.px.resize(static_cast<std::size_t>(pixelCount(W, H)) * static_cast<std::size_t>(r.channels));
  for (std::size_t p = 0, o = 0; p < raster.size(); ++p, o += static_cast<std::size_t>(r.channels)) {
    std::uint32_t v = raster[p];
    r.px[o] = static_cast<std::uint8_t>(TIFFGetR(v));
    r.px[o + 1] = static_cast<std::uint8_t>(TIFFGetG(v));
    r.px[o + 2] = static_cast<std::uint8_t>(TIFFGetB(v));
    if (alpha) r.px[o + 3] = static_cast<std::uint8_t>(TIFFGetA(v));
  }
  return std::nullopt;
}

/// The only tags the rebuilt page `i` of `pages` gets: what drawing its pixels needs (and the
/// source's ICC profile with keep_icc).
void setPageTags(TIFF* w, TIFF* t, const OrientedView& view, tdir_t i, tdir_t pages, Ctx& ctx) {
  TIFFSetField(w, TIFFTAG_IMAGEWIDTH, view.width());
  TIFFSetField(w, TIFFTAG_IMAGELENGTH, view.height());
  TIFFSetField(w, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(w, TIFFTAG_SAMPLESPERPIXEL, view.channels());
  TIFFSetField(w, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  TIFFSetField(w, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(w, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
  TIFFSetField(w, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  TIFFSetField(w, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(w, 0));
  if (view.channels() == 4) {
    std::uint16_t extra = EXTRASAMPLE_ASSOCALPHA;  // TIFFRGBAImage hands out premultiplied alpha
    TIFFSetField(w, TIFFTAG_EXTRASAMPLES, 1, &extra);
  }
  if (pages > 1) {
    TIFFSetField(w, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(w, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(i),
                 static_cast<std::uint16_t>(pages));
  }
  std::uint32_t icc_len = 0;
  void* icc = nullptr;
  if (ctx.options.keep_icc && TIFFGetField(t, TIFFTAG_ICCPROFILE, &icc_len, &icc) &&
      icc_len <= kMaxIcc) {
    TIFFSetField(w, TIFFTAG_ICCPROFILE, icc_len, icc);
  }
}

/// The page's rows, then its directory.
std::optional<Failure> writePage(TIFF* w, const Handlers& wh, const OrientedView& view) {
  // The horizontal predictor rewrites the row it is given: always hand libtiff a copy.
  const std::size_t stride =
      static_cast<std::size_t>(view.width()) * static_cast<std::size_t>(view.channels());
  std::vector<std::uint8_t> scratch(stride);
  for (std::uint32_t y = 0; y < view.height(); ++y) {
    const std::uint8_t* row = view.row(y, scratch.data());
    if (row != scratch.data()) std::memcpy(scratch.data(), row, stride);
    if (TIFFWriteScanline(w, scratch.data(), y, 0) < 0)
      return Failure{Reason::CdrFailed, "TIFF write: " + wh.message};
  }
  if (!TIFFWriteDirectory(w) || wh.error)
    return Failure{Reason::CdrFailed, "TIFF write: " + wh.message};
  return std::nullopt;
}

}  // namespace

CodecResult rebuildTiff(std::string_view in, Ctx& ctx) {
  Mem src;
  src.view = in;
  Handlers rh, wh;
  TIFF* t = open("rm", src, rh);
  if (!t) return fail("TIFF: " + (rh.message.empty() ? std::string("cannot open") : rh.message));
  auto bail = [&](Failure f, TIFF* w = nullptr) {
    if (w) TIFFClose(w);
    TIFFClose(t);
    return fail(std::move(f));
  };
  tdir_t pages = 0;
  if (auto f = countPages(t, rh, ctx, pages)) return bail(*f);

  Mem dst;
  dst.writable = true;
  TIFF* w = open("w", dst, wh);
  if (!w) return bail({Reason::CdrFailed, "TIFF: cannot create the writer"});
  std::set<std::string> seen;
  for (tdir_t i = 0; i < pages; ++i) {
    if (auto f = ctx.deadline()) return bail(*f, w);
    if (i > 0 && !TIFFReadDirectory(t))
      return bail({Reason::CdrFailed, "TIFF: directory " + std::to_string(i)}, w);
    reportTags(t, seen, ctx);
    std::uint16_t orientation = ORIENTATION_TOPLEFT;
    TIFFGetFieldDefaulted(t, TIFFTAG_ORIENTATION, &orientation);
    Raster r;
    if (auto f = decodePage(t, rh, i, ctx, r)) return bail(*f, w);
    OrientedView view(r, orientation);
    noteOrientation(ctx, orientation);
    setPageTags(w, t, view, i, pages, ctx);
    if (auto f = writePage(w, wh, view)) return bail(*f, w);
  }
  TIFFClose(w);
  TIFFClose(t);
  if (wh.error) return fail("TIFF write: " + wh.message);
  CodecResult res;
  res.encoded.data = std::move(dst.data);
  res.encoded.mime = "image/tiff";
  return res;
}

}  // namespace mugai::sanitizers::image
