// JPEG: libjpeg-turbo decode -> orientation -> re-encode (baseline, quality from the options).
// Only pixels survive: every APPn segment (EXIF, XMP, IPTC/Photoshop, ICC unless keep_icc, maker
// segments), COM comments and any byte after EOI are gone because nothing is copied.
// clang-format off
#include <cstddef>  // jpeglib.h needs size_t and FILE declared before it
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <jerror.h>

#include <algorithm>
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "sanitizers/image/codec.h"
#include "sanitizers/image/exif.h"

namespace mugai::sanitizers::image {
namespace {

constexpr int kMaxScans = 1000;  // progressive files with thousands of scans are a CPU bomb
constexpr unsigned kMaxIcc = 4u << 20;

struct ErrorMgr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  bool corrupt_warning = false;
  char message[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void onError(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<ErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

/// Silences libjpeg (no stderr) and remembers warnings that mean the data is damaged.
/// Premature end of data (JWRN_JPEG_EOF: libjpeg pads with grey), lost sync and bad entropy codes
/// count as corrupt: we fail closed rather than deliver a half-grey picture. Harmless oddities
/// (extraneous bytes between markers, JFIF version, bad ICC, Adobe transform) are tolerated.
void onMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* e = reinterpret_cast<ErrorMgr*>(cinfo->err);
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HUFF_BAD_CODE:
      if (!e->corrupt_warning) (*cinfo->err->format_message)(cinfo, e->message);
      e->corrupt_warning = true;
      break;
    default:
      break;
  }
  cinfo->err->num_warnings++;
}

void onProgress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* e = reinterpret_cast<ErrorMgr*>(cinfo->err);
    std::snprintf(e->message, sizeof e->message, "more than %d scans", kMaxScans);
    std::longjmp(e->jump, 1);
  }
}

/// Compressed output straight into a std::string we own. (jpeg_mem_dest would not do: it frees
/// and replaces its buffer as the output grows but only reports the final one at
/// jpeg_finish_compress, so after an error in the middle we could neither free nor keep it.)
struct StringDest {
  jpeg_destination_mgr pub{};
  std::string out;
  std::string buf;

  /// No exception may cross libjpeg's C frames: out of memory becomes a libjpeg error (longjmp),
  /// raised after the catch block has been left.
  template <typename F>
  static void guarded(j_compress_ptr c, F&& f) {
    bool oom = false;
    try {
      f(*reinterpret_cast<StringDest*>(c->dest));
    } catch (...) {
      oom = true;
    }
    if (oom) {
      c->err->msg_code = JERR_OUT_OF_MEMORY;
      (*c->err->error_exit)(reinterpret_cast<j_common_ptr>(c));
    }
  }

  void attach(j_compress_ptr c) {
    pub.init_destination = [](j_compress_ptr c) {
      guarded(c, [](StringDest& d) {
        d.buf.resize(64 * 1024);
        d.pub.next_output_byte = reinterpret_cast<JOCTET*>(d.buf.data());
        d.pub.free_in_buffer = d.buf.size();
      });
    };
    pub.empty_output_buffer = [](j_compress_ptr c) -> boolean {
      guarded(c, [](StringDest& d) {
        d.out.append(d.buf.data(), d.buf.size());  // libjpeg wants the whole buffer taken
        d.pub.next_output_byte = reinterpret_cast<JOCTET*>(d.buf.data());
        d.pub.free_in_buffer = d.buf.size();
      });
      return TRUE;
    };
    pub.term_destination = [](j_compress_ptr c) {
      guarded(c, [](StringDest& d) {
        d.out.append(d.buf.data(), d.buf.size() - d.pub.free_in_buffer);
      });
    };
    c->dest = &pub;
  }
};
static_assert(offsetof(StringDest, pub) == 0);

void setupErrors(ErrorMgr& err) {
  jpeg_std_error(&err.pub);
  err.pub.error_exit = onError;
  err.pub.emit_message = onMessage;
}

bool startsWith(const jpeg_saved_marker_ptr m, const char* sig, std::size_t n) {
  return m->data_length >= n && std::memcmp(m->data, sig, n) == 0;
}

/// Reports what the saved markers held (they are never written out) and returns the orientation.
int reportMarkers(j_decompress_ptr d, Ctx& ctx) {
  int orientation = 1;
  std::set<std::string> seen;
  auto add = [&](const std::string& what) {
    if (seen.insert(what).second) ctx.removed(what);
  };
  for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next) {
    if (m->marker == JPEG_COM) {
      add("comment");
    } else if (m->marker == JPEG_APP0 + 1) {
      if (startsWith(m, "Exif\0\0", 6)) {
        auto s = readExif(
            std::string_view(reinterpret_cast<const char*>(m->data) + 6, m->data_length - 6));
        if (s.valid && orientation == 1) orientation = s.orientation;
        add(exifFindingText(s));
        if (s.maker) add("camera make/model/maker notes");
      } else if (startsWith(m, "http://ns.adobe.com/xap/1.0/", 28) ||
                 startsWith(m, "http://ns.adobe.com/xmp/extension/", 34)) {
        add("XMP");
      } else {
        add("APP1 segment");
      }
    } else if (m->marker == JPEG_APP0 + 13) {
      add("IPTC/Photoshop (APP13)");
    } else if (m->marker == JPEG_APP0 + 2 && startsWith(m, "ICC_PROFILE", 11)) {
      if (!ctx.options.keep_icc) add("ICC profile");
    } else if (m->marker == JPEG_APP0 && (startsWith(m, "JFIF", 5) || startsWith(m, "JFXX", 5))) {
      // JFIF header: rewritten by the encoder; a JFXX thumbnail is dropped silently with it.
      if (startsWith(m, "JFXX", 5)) add("JFIF thumbnail");
    } else if (m->marker == JPEG_APP0 + 14 && startsWith(m, "Adobe", 5)) {
      // colour transform flag: the encoder writes its own
    } else {
      add("APP" + std::to_string(m->marker - JPEG_APP0) + " segment");
    }
  }
  return orientation;
}

}  // namespace

CodecResult rebuildJpeg(std::string_view in, Ctx& ctx) {
  // Everything that must survive a longjmp lives here, before setjmp; nothing with a destructor
  // is created between setjmp and a possible longjmp in a deeper frame.
  ErrorMgr err;
  jpeg_decompress_struct d;
  jpeg_compress_struct c;
  jpeg_progress_mgr progress;
  // volatile: written after setjmp and read after longjmp (else they may live in a register
  // and be stale, and the structs would leak).
  volatile bool d_made = false, c_made = false;
  StringDest dest;
  JOCTET* icc = nullptr;
  unsigned int icc_len = 0;
  Raster r;
  std::vector<std::uint8_t> line, scratch;
  CodecResult result;
  std::optional<Failure> failure;
  std::uint64_t trailing = 0;
  int orientation = 1;
  bool stream = false;
  J_COLOR_SPACE space = JCS_RGB;
  std::size_t stride = 0;

  setupErrors(err);
  if (setjmp(err.jump)) {
    if (d_made) jpeg_destroy_decompress(&d);
    if (c_made) jpeg_destroy_compress(&c);
    std::free(icc);
    return fail(std::string("JPEG: ") + err.message);
  }

  std::memset(&d, 0, sizeof d);
  d.err = &err.pub;
  jpeg_create_decompress(&d);
  d_made = true;
  progress.progress_monitor = onProgress;
  d.progress = &progress;
  jpeg_mem_src(&d, reinterpret_cast<const unsigned char*>(in.data()),
               static_cast<unsigned long>(in.size()));
  jpeg_save_markers(&d, JPEG_COM, 0xffff);
  for (int i = 0; i < 16; ++i) jpeg_save_markers(&d, JPEG_APP0 + i, 0xffff);
  jpeg_read_header(&d, TRUE);

  if ((failure = ctx.checkPixels(pixelCount(d.image_width, d.image_height)))) goto out;
  orientation = reportMarkers(&d, ctx);
  if (ctx.options.keep_icc) {
    if (!jpeg_read_icc_profile(&d, &icc, &icc_len) || icc_len > kMaxIcc) {
      std::free(icc);
      icc = nullptr;
      icc_len = 0;
    }
  }
  switch (d.jpeg_color_space) {
    case JCS_GRAYSCALE:
      space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      space = JCS_CMYK;
      break;
    default:
      space = JCS_RGB;
      break;
  }
  d.out_color_space = space;
  // Orientations 1 and 2 keep the row order: decode and encode stream row by row, no raster.
  // The others need the whole picture. Progressive files make libjpeg keep every coefficient
  // (up to two bytes per sample) whatever we do.
  stream = orientation == 1 || orientation == 2;
  {
    std::uint64_t comps = space == JCS_GRAYSCALE ? 1 : space == JCS_CMYK ? 4 : 3;
    std::uint64_t bytes = pixelCount(d.image_width, d.image_height) * comps;
    std::uint64_t charge =
        (stream ? 0 : bytes) + (d.progressive_mode ? bytes * 2 : 0) + d.image_width * comps * 2;
    if ((failure = ctx.charge(charge))) goto out;
  }
  jpeg_start_decompress(&d);
  r.width = d.output_width;
  r.height = d.output_height;
  r.channels = d.output_components;
  stride = static_cast<std::size_t>(r.width) * static_cast<std::size_t>(r.channels);

  std::memset(&c, 0, sizeof c);
  c.err = &err.pub;
  jpeg_create_compress(&c);
  c_made = true;
  dest.attach(&c);
  c.image_width = (orientation >= 5) ? r.height : r.width;
  c.image_height = (orientation >= 5) ? r.width : r.height;
  c.input_components = r.channels;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, ctx.options.jpeg_quality, TRUE);

  if (stream) {
    line.resize(stride);
    scratch.resize(stride);
    jpeg_start_compress(&c, TRUE);
    if (icc) jpeg_write_icc_profile(&c, icc, icc_len);
    while (d.output_scanline < d.output_height) {
      JSAMPROW row = line.data();
      if (jpeg_read_scanlines(&d, &row, 1) != 1) {
        std::snprintf(err.message, sizeof err.message, "no progress reading scanlines");
        std::longjmp(err.jump, 1);
      }
      if (orientation == 2) {
        for (std::uint32_t x = 0; x < r.width; ++x) {
          std::memcpy(&scratch[x * static_cast<std::size_t>(r.channels)],
                      &line[(r.width - 1 - x) * static_cast<std::size_t>(r.channels)],
                      static_cast<std::size_t>(r.channels));
        }
        row = scratch.data();
      }
      jpeg_write_scanlines(&c, &row, 1);
      if ((d.output_scanline & 255) == 0 && (failure = ctx.deadline())) goto out;
    }
  } else {
    r.px.resize(stride * r.height);
    while (d.output_scanline < d.output_height) {
      JSAMPROW row = &r.px[static_cast<std::size_t>(d.output_scanline) * stride];
      if (jpeg_read_scanlines(&d, &row, 1) != 1) {
        std::snprintf(err.message, sizeof err.message, "no progress reading scanlines");
        std::longjmp(err.jump, 1);
      }
      if ((d.output_scanline & 255) == 0 && (failure = ctx.deadline())) goto out;
    }
  }
  jpeg_finish_decompress(&d);
  // Damage is only known once the whole scan was read: what was encoded so far is thrown away.
  if (err.corrupt_warning) {
    failure = Failure{Reason::CdrFailed, std::string("JPEG: damaged data (") + err.message + ")"};
    goto out;
  }
  trailing = d.src->bytes_in_buffer;
  jpeg_destroy_decompress(&d);
  d_made = false;
  if (trailing > 0) ctx.removed("trailing data " + std::to_string(trailing) + " bytes");
  noteOrientation(ctx, orientation);

  if (!stream) {
    OrientedView view(r, orientation);
    constexpr std::uint32_t kBlock = 32;  // output rows produced per pass over the raster
    const std::size_t out_stride =
        static_cast<std::size_t>(view.width()) * static_cast<std::size_t>(r.channels);
    scratch.resize(out_stride * kBlock);
    JSAMPROW rows[kBlock];
    jpeg_start_compress(&c, TRUE);
    if (icc) jpeg_write_icc_profile(&c, icc, icc_len);
    while (c.next_scanline < c.image_height) {
      std::uint32_t n = std::min<std::uint32_t>(kBlock, c.image_height - c.next_scanline);
      view.rows(c.next_scanline, n, scratch.data());
      for (std::uint32_t k = 0; k < n; ++k) rows[k] = &scratch[k * out_stride];
      std::uint32_t done = 0;
      while (done < n) done += jpeg_write_scanlines(&c, rows + done, n - done);
    }
  }
  jpeg_finish_compress(&c);
  result.encoded.data = std::move(dest.out);
  result.encoded.mime = "image/jpeg";

out:
  if (d_made) jpeg_destroy_decompress(&d);
  if (c_made) jpeg_destroy_compress(&c);
  std::free(icc);
  if (failure) return fail(*failure);
  return result;
}

}  // namespace mugai::sanitizers::image
