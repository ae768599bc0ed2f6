// GIF: giflib record-by-record decode -> re-encode. Kept: screen descriptor, global and local
// colour tables, every frame with its graphics control block (delay, disposal, transparency) and
// the NETSCAPE2.0/ANIMEXTS1.0 loop count. Dropped and reported: comment, plain-text and other
// application extensions (XMP, ICC, private data), anything after the trailer.
// Frames are re-encoded line by line in their original order (interlaced frames stay interlaced).
#include <gif_lib.h>

#include <cstring>
#include <memory>

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

}  // namespace

CodecResult rebuildGif(std::string_view in, Ctx& ctx) {
  Input st{in};
  int err = 0;
  GifFileType* g = DGifOpen(&st, readFn, &err);
  if (!g) return fail(gifError("open", err));
  auto close = [&]() {
    int e2 = 0;
    if (g) DGifCloseFile(g, &e2);
    g = nullptr;
  };
  std::vector<Frame> frames;
  bool pending_gcb = false;
  GifByteType gcb[4] = {};
  int loop = -1;
  bool comment = false, other_app = false, plain_text = false, unknown_ext = false;
  std::uint64_t pixels = 0;
  if (auto f = ctx.checkPixels(pixelCount(g->SWidth, g->SHeight))) {
    close();
    return fail(*f);
  }
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(g, &type) == GIF_ERROR) {
      std::string e = gifError("record", g->Error);
      close();
      return fail(e);
    }
    if (type == TERMINATE_RECORD_TYPE) break;
    if (auto f = ctx.deadline()) {
      close();
      return fail(*f);
    }
    if (type == IMAGE_DESC_RECORD_TYPE) {
      if (DGifGetImageDesc(g) == GIF_ERROR) {
        std::string e = gifError("image descriptor", g->Error);
        close();
        return fail(e);
      }
      const GifImageDesc& d = g->Image;
      if (d.Width <= 0 || d.Height <= 0) {
        close();
        return fail("GIF: empty frame");
      }
      // Each frame counts at least as much as the screen: what a viewer composes and keeps.
      std::uint64_t fp = std::max(pixelCount(d.Width, d.Height), pixelCount(g->SWidth, g->SHeight));
      pixels += fp ? fp : 1;
      if (auto f = ctx.checkPixels(pixels)) {
        close();
        return fail(*f);
      }
      std::uint64_t bytes = pixelCount(d.Width, d.Height);
      // Plus what every frame costs besides its pixels (our Frame, giflib's SavedImage record and
      // colour tables), so that a flood of 1x1 frames is bounded by the budget too.
      if (auto f = ctx.charge(bytes + kFrameOverhead)) {
        close();
        return fail(*f);
      }
      Frame fr;
      fr.desc = d;
      fr.desc.ColorMap = nullptr;
      fr.map.reset(copyMap(d.ColorMap));
      fr.has_gcb = pending_gcb;
      std::memcpy(fr.gcb, gcb, 4);
      pending_gcb = false;
      if (!fr.map && !g->SColorMap) {
        close();
        return fail("GIF: frame without a colour table");
      }
      fr.px.resize(static_cast<std::size_t>(bytes));
      for (int y = 0; y < d.Height; ++y) {
        if (DGifGetLine(g, &fr.px[static_cast<std::size_t>(y) * d.Width], d.Width) == GIF_ERROR) {
          std::string e = gifError("pixel data", g->Error);
          close();
          return fail(e);
        }
      }
      frames.push_back(std::move(fr));
    } else if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(g, &code, &block) == GIF_ERROR) {
        std::string e = gifError("extension", g->Error);
        close();
        return fail(e);
      }
      bool netscape = false;
      int index = 0;
      while (block) {
        std::size_t len = block[0];
        if (code == GRAPHICS_EXT_FUNC_CODE && index == 0) {
          if (len != 4) {
            close();
            return fail("GIF: bad graphics control block");
          }
          std::memcpy(gcb, block + 1, 4);
          pending_gcb = true;
        } else if (code == APPLICATION_EXT_FUNC_CODE && index == 0) {
          netscape = len == 11 && (std::memcmp(block + 1, "NETSCAPE2.0", 11) == 0 ||
                                   std::memcmp(block + 1, "ANIMEXTS1.0", 11) == 0);
          if (!netscape) other_app = true;
        } else if (code == APPLICATION_EXT_FUNC_CODE && netscape && len == 3 && block[1] == 1) {
          loop = block[2] | (block[3] << 8);
        }
        if (DGifGetExtensionNext(g, &block) == GIF_ERROR) {
          std::string e = gifError("extension data", g->Error);
          close();
          return fail(e);
        }
        ++index;
      }
      if (code == COMMENT_EXT_FUNC_CODE)
        comment = true;
      else if (code == PLAINTEXT_EXT_FUNC_CODE)
        plain_text = true;
      else if (code != GRAPHICS_EXT_FUNC_CODE && code != APPLICATION_EXT_FUNC_CODE)
        unknown_ext = true;
    } else {
      close();
      return fail("GIF: unknown record");
    }
  }
  std::size_t end = st.pos;
  if (frames.empty()) {
    close();
    return fail("GIF: no image");
  }
  if (comment) ctx.removed("GIF comment");
  if (other_app) ctx.removed("GIF application extension (XMP/ICC/private data)");
  if (plain_text) ctx.removed("GIF plain text extension");
  if (unknown_ext) ctx.removed("GIF unknown extension");
  if (end < in.size()) ctx.removed("trailing data " + std::to_string(in.size() - end) + " bytes");

  // ---- write ----
  std::string out;
  GifFileType* w = EGifOpen(&out, writeFn, &err);
  if (!w) {
    close();
    return fail(gifError("writer", err));
  }
  EGifSetGifVersion(w, true);
  std::unique_ptr<ColorMapObject, decltype(&GifFreeMapObject)> smap(copyMap(g->SColorMap),
                                                                    GifFreeMapObject);
  bool ok = EGifPutScreenDesc(w, g->SWidth, g->SHeight, g->SColorResolution, g->SBackGroundColor,
                              smap.get()) != GIF_ERROR;
  close();
  if (ok && loop >= 0) {
    GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
    GifByteType sub[] = {1, static_cast<GifByteType>(loop & 0xff),
                         static_cast<GifByteType>(loop >> 8)};
    ok = EGifPutExtensionLeader(w, APPLICATION_EXT_FUNC_CODE) != GIF_ERROR &&
         EGifPutExtensionBlock(w, sizeof app, app) != GIF_ERROR &&
         EGifPutExtensionBlock(w, sizeof sub, sub) != GIF_ERROR &&
         EGifPutExtensionTrailer(w) != GIF_ERROR;
  }
  for (Frame& fr : frames) {
    if (!ok) break;
    if (fr.has_gcb) ok = EGifPutExtension(w, GRAPHICS_EXT_FUNC_CODE, 4, fr.gcb) != GIF_ERROR;
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
      ok = EGifPutLine(w, &fr.px[static_cast<std::size_t>(y) * fr.desc.Width], fr.desc.Width) !=
           GIF_ERROR;
    }
  }
  int werr = 0;
  if (EGifCloseFile(w, &werr) == GIF_ERROR) ok = false;
  if (!ok) return fail("GIF: re-encoding failed");
  CodecResult r;
  r.encoded.data = std::move(out);
  r.encoded.mime = "image/gif";
  return r;
}

}  // namespace mugai::sanitizers::image
