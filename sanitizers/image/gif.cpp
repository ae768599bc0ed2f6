// GIF: giflib record-by-record decode -> re-encode. Kept: screen descriptor, global and local
// colour tables, every frame with its graphics control block (delay, disposal, transparency) and
// the NETSCAPE2.0/ANIMEXTS1.0 loop count. Dropped and reported: comment, plain-text and other
// application extensions (XMP, ICC, private data), anything after the trailer.
// Frames are re-encoded line by line in their original order (interlaced frames stay interlaced).
#include <gif_lib.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "sanitizers/image/codec.h"

namespace mugai::sanitizers::image {
namespace {

constexpr std::uint64_t kFrameOverhead = 1024;

struct Input {
  std::string_view in;
  std::size_t pos = 0;
};

int readFn(GifFileType* gif, GifByteType* buf, int len) {
  auto* st = static_cast<Input*>(gif->UserData);
  std::size_t n =
      std::min<std::size_t>(static_cast<std::size_t>(len < 0 ? 0 : len), st->in.size() - st->pos);
  std::memcpy(buf, st->in.data() + st->pos, n);
  st->pos += n;
  return static_cast<int>(n);  // short read -> giflib reports D_GIF_ERR_READ_FAILED
}

int writeFn(GifFileType* gif, const GifByteType* buf, int len) {
  try {  // no exception may cross giflib's C frames; a short write is a giflib error
    static_cast<std::string*>(gif->UserData)
        ->append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
  } catch (...) {
    return 0;
  }
  return len;
}

struct Frame {
  GifImageDesc desc{};
  std::unique_ptr<ColorMapObject, decltype(&GifFreeMapObject)> map{nullptr, GifFreeMapObject};
  bool has_gcb = false;
  GifByteType gcb[4] = {};
  std::vector<GifPixelType> px;
};

std::string gifError(const char* what, int code) {
  const char* s = GifErrorString(code);
  return std::string("GIF: ") + what + ": " + (s ? s : "error");
}

ColorMapObject* copyMap(const ColorMapObject* m) {
  return m ? GifMakeMapObject(m->ColorCount, m->Colors) : nullptr;
}

std::optional<Failure> bad(std::string detail) {
  return Failure{Reason::CdrFailed, std::move(detail)};
}

struct CloseGif {
  void operator()(GifFileType* g) const {
    int e = 0;
    DGifCloseFile(g, &e);
  }
};
using GifReader = std::unique_ptr<GifFileType, CloseGif>;

/// What the decoder read: the frames, the loop count, and what is dropped.
struct Decoded {
  std::vector<Frame> frames;
  bool pending_gcb = false;  ///< a graphics control block waits for the next frame
  GifByteType gcb[4] = {};
  int loop = -1;
  bool comment = false, other_app = false, plain_text = false, unknown_ext = false;
  std::uint64_t pixels = 0;
};

/// One image descriptor and its pixels, charged to the budget before they are allocated.
std::optional<Failure> readFrame(GifFileType* g, Ctx& ctx, Decoded& d) {
  if (DGifGetImageDesc(g) == GIF_ERROR) return bad(gifError("image descriptor", g->Error));
  const GifImageDesc& desc = g->Image;
  if (desc.Width <= 0 || desc.Height <= 0) return bad("GIF: empty frame");
  // Each frame counts at least as much as the screen: what a viewer composes and keeps.
  std::uint64_t fp =
      std::max(pixelCount(desc.Width, desc.Height), pixelCount(g->SWidth, g->SHeight));
  d.pixels += fp ? fp : 1;
  if (auto f = ctx.checkPixels(d.pixels)) return f;
  std::uint64_t bytes = pixelCount(desc.Width, desc.Height);
  // Plus what every frame costs besides its pixels (our Frame, giflib's SavedImage record and
  // colour tables), so that a flood of 1x1 frames is bounded by the budget too.
  if (auto f = ctx.charge(bytes + kFrameOverhead)) return f;
  Frame fr;
  fr.desc = desc;
  fr.desc.ColorMap = nullptr;
  fr.map.reset(copyMap(desc.ColorMap));
  fr.has_gcb = d.pending_gcb;
  std::memcpy(fr.gcb, d.gcb, 4);
  d.pending_gcb = false;
  if (!fr.map && !g->SColorMap) return bad("GIF: frame without a colour table");
  fr.px.resize(static_cast<std::size_t>(bytes));
  for (int y = 0; y < desc.Height; ++y) {
    if (DGifGetLine(g, &fr.px[static_cast<std::size_t>(y) * desc.Width], desc.Width) == GIF_ERROR)
      return bad(gifError("pixel data", g->Error));
  }
  d.frames.push_back(std::move(fr));
  return std::nullopt;
}

/// One extension: the graphics control block and the loop count are kept, the rest noted.
std::optional<Failure> readExtension(GifFileType* g, Decoded& d) {
  int code = 0;
  GifByteType* block = nullptr;
  if (DGifGetExtension(g, &code, &block) == GIF_ERROR) return bad(gifError("extension", g->Error));
  bool netscape = false;
  for (int index = 0; block; ++index) {
    std::size_t len = block[0];
    if (code == GRAPHICS_EXT_FUNC_CODE && index == 0) {
      if (len != 4) return bad("GIF: bad graphics control block");
      std::memcpy(d.gcb, block + 1, 4);
      d.pending_gcb = true;
    } else if (code == APPLICATION_EXT_FUNC_CODE && index == 0) {
      netscape = len == 11 && (std::memcmp(block + 1, "NETSCAPE2.0", 11) == 0 ||
                               std::memcmp(block + 1, "ANIMEXTS1.0", 11) == 0);
      if (!netscape) d.other_app = true;
    } else if (code == APPLICATION_EXT_FUNC_CODE && netscape && len == 3 && block[1] == 1) {
      d.loop = block[2] | (block[3] << 8);
    }
    if (DGifGetExtensionNext(g, &block) == GIF_ERROR)
      return bad(gifError("extension data", g->Error));
  }
  if (code == COMMENT_EXT_FUNC_CODE)
    d.comment = true;
  else if (code == PLAINTEXT_EXT_FUNC_CODE)
    d.plain_text = true;
  else if (code != GRAPHICS_EXT_FUNC_CODE && code != APPLICATION_EXT_FUNC_CODE)
    d.unknown_ext = true;
  return std::nullopt;
}

/// The GIF written anew: the screen of `g`, the loop count, then each frame line by line.
std::optional<Failure> writeGif(const GifFileType* g, const Decoded& d, std::string& out) {
  int err = 0;
  GifFileType* w = EGifOpen(&out, writeFn, &err);
  if (!w) return bad(gifError("writer", err));
  EGifSetGifVersion(w, true);
  std::unique_ptr<ColorMapObject, decltype(&GifFreeMapObject)> smap(copyMap(g->SColorMap),
                                                                    GifFreeMapObject);
  bool ok = EGifPutScreenDesc(w, g->SWidth, g->SHeight, g->SColorResolution, g->SBackGroundColor,
                              smap.get()) != GIF_ERROR;
  if (ok && d.loop >= 0) {
    GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
    GifByteType sub[] = {1, static_cast<GifByteType>(d.loop & 0xff),
                         static_cast<GifByteType>(d.loop >> 8)};
    ok = EGifPutExtensionLeader(w, APPLICATION_EXT_FUNC_CODE) != GIF_ERROR &&
         EGifPutExtensionBlock(w, sizeof app, app) != GIF_ERROR &&
         EGifPutExtensionBlock(w, sizeof sub, sub) != GIF_ERROR &&
         EGifPutExtensionTrailer(w) != GIF_ERROR;
  }
  for (const Frame& fr : d.frames) {
    if (!ok) break;
    GifByteType gcb[4];
    std::memcpy(gcb, fr.gcb, 4);
    if (fr.has_gcb) ok = EGifPutExtension(w, GRAPHICS_EXT_FUNC_CODE, 4, gcb) != GIF_ERROR;
    // giflib 5.2.1's EGifPutImageDesc sets Image.ColorMap to NULL without freeing it when a frame
    // has no local colour table, so the previous frame's copy leaked (a few hundred bytes per
    // frame, every message, in a long-running service: fuzzing finding,
    // tests/fuzz-regressions/image_gif). Free it first; a giflib that does so itself sees NULL.
    if (!fr.map && w->Image.ColorMap) {
      GifFreeMapObject(w->Image.ColorMap);
      w->Image.ColorMap = nullptr;
    }
    ok = ok && EGifPutImageDesc(w, fr.desc.Left, fr.desc.Top, fr.desc.Width, fr.desc.Height,
                                fr.desc.Interlace, fr.map.get()) != GIF_ERROR;
    for (int y = 0; ok && y < fr.desc.Height; ++y) {
      auto* line = const_cast<GifPixelType*>(&fr.px[static_cast<std::size_t>(y) * fr.desc.Width]);
      ok = EGifPutLine(w, line, fr.desc.Width) != GIF_ERROR;
    }
  }
  int werr = 0;
  if (EGifCloseFile(w, &werr) == GIF_ERROR) ok = false;
  return ok ? std::nullopt : bad("GIF: re-encoding failed");
}

}  // namespace

CodecResult rebuildGif(std::string_view in, Ctx& ctx) {
  Input st{in};
  int err = 0;
  GifReader g(DGifOpen(&st, readFn, &err));
  if (!g) return fail(gifError("open", err));
  if (auto f = ctx.checkPixels(pixelCount(g->SWidth, g->SHeight))) return fail(*f);
  // ---- read, record by record ----
  Decoded d;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(g.get(), &type) == GIF_ERROR) return fail(gifError("record", g->Error));
    if (type == TERMINATE_RECORD_TYPE) break;
    if (auto f = ctx.deadline()) return fail(*f);
    std::optional<Failure> f;
    if (type == IMAGE_DESC_RECORD_TYPE)
      f = readFrame(g.get(), ctx, d);
    else if (type == EXTENSION_RECORD_TYPE)
      f = readExtension(g.get(), d);
    else
      f = bad("GIF: unknown record");
    if (f) return fail(*f);
  }
  if (d.frames.empty()) return fail("GIF: no image");
  if (d.comment) ctx.removed("GIF comment");
  if (d.other_app) ctx.removed("GIF application extension (XMP/ICC/private data)");
  if (d.plain_text) ctx.removed("GIF plain text extension");
  if (d.unknown_ext) ctx.removed("GIF unknown extension");
  if (st.pos < in.size())
    ctx.removed("trailing data " + std::to_string(in.size() - st.pos) + " bytes");
  // ---- write ----
  std::string out;
  if (auto f = writeGif(g.get(), d, out)) return fail(*f);
  CodecResult r;
  r.encoded.data = std::move(out);
  r.encoded.mime = "image/gif";
  return r;
}

}  // namespace mugai::sanitizers::image
