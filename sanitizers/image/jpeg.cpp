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

J_COLOR_SPACE outputSpace(J_COLOR_SPACE stored) {
  switch (stored) {
    case JCS_GRAYSCALE: return JCS_GRAYSCALE;
    case JCS_CMYK:
    case JCS_YCCK: return JCS_CMYK;
    default: return JCS_RGB;
  }
}

/**
 * One JPEG rebuild, step by step. Everything libjpeg's longjmp must find intact lives in this
 * object, made before setjmp in rebuildJpeg(); no step keeps anything with a destructor alive
 * across a libjpeg call that may jump out of it. The destructor frees what libjpeg made, on every
 * path (a failure, a jump, the end).
 */
class JpegRebuild {
 public:
  explicit JpegRebuild(Ctx& ctx) : ctx_(ctx) { setupErrors(err); }
  ~JpegRebuild() {
    if (d_made_) jpeg_destroy_decompress(&d_);
    if (c_made_) jpeg_destroy_compress(&c_);
    std::free(icc_);
  }
  JpegRebuild(const JpegRebuild&) = delete;
  JpegRebuild& operator=(const JpegRebuild&) = delete;

  ErrorMgr err;  ///< its jump buffer is set by rebuildJpeg()

  std::optional<Failure> readHeader(std::string_view in);
  std::optional<Failure> start();
  /// Orientations 1 and 2 keep the row order: each decoded row is encoded at once, no raster.
  bool streams() const { return orientation_ == 1 || orientation_ == 2; }
  std::optional<Failure> streamRows();
  std::optional<Failure> readRaster();
  std::optional<Failure> finishDecode();
  void writeRaster();
  CodecResult finish();

 private:
  [[noreturn]] void noProgress() {
    std::snprintf(err.message, sizeof err.message, "no progress reading scanlines");
    std::longjmp(err.jump, 1);
  }
  void startCompress();

  Ctx& ctx_;
  jpeg_decompress_struct d_;
  jpeg_compress_struct c_;
  jpeg_progress_mgr progress_;
  // volatile: written after setjmp and read after longjmp (else they may live in a register
  // and be stale, and the structs would leak).
  volatile bool d_made_ = false, c_made_ = false;
  StringDest dest_;
  JOCTET* icc_ = nullptr;
  unsigned int icc_len_ = 0;
  int orientation_ = 1;
  J_COLOR_SPACE space_ = JCS_RGB;
  Raster r_;
  std::size_t stride_ = 0;
  std::vector<std::uint8_t> line_, scratch_;
};

/// The decoder, the header and its markers (reported, never copied); the pixel limit.
std::optional<Failure> JpegRebuild::readHeader(std::string_view in) {
  std::memset(&d_, 0, sizeof d_);
  d_.err = &err.pub;
  jpeg_create_decompress(&d_);
  d_made_ = true;
  progress_.progress_monitor = onProgress;
  d_.progress = &progress_;
  jpeg_mem_src(&d_, reinterpret_cast<const unsigned char*>(in.data()),
               static_cast<unsigned long>(in.size()));
  jpeg_save_markers(&d_, JPEG_COM, 0xffff);
  for (int i = 0; i < 16; ++i) jpeg_save_markers(&d_, JPEG_APP0 + i, 0xffff);
  jpeg_read_header(&d_, TRUE);
  if (auto f = ctx_.checkPixels(pixelCount(d_.image_width, d_.image_height))) return f;
  orientation_ = reportMarkers(&d_, ctx_);
  if (ctx_.options.keep_icc) {
    if (!jpeg_read_icc_profile(&d_, &icc_, &icc_len_) || icc_len_ > kMaxIcc) {
      std::free(icc_);
      icc_ = nullptr;
      icc_len_ = 0;
    }
  }
  return std::nullopt;
}

/// The memory charged, the decoder started, the encoder made for the oriented size.
std::optional<Failure> JpegRebuild::start() {
  space_ = outputSpace(d_.jpeg_color_space);
  d_.out_color_space = space_;
  // Orientations other than 1 and 2 need the whole picture. Progressive files make libjpeg keep
  // every coefficient (up to two bytes per sample) whatever we do.
  std::uint64_t comps = space_ == JCS_GRAYSCALE ? 1 : space_ == JCS_CMYK ? 4 : 3;
  std::uint64_t bytes = pixelCount(d_.image_width, d_.image_height) * comps;
  std::uint64_t charge =
      (streams() ? 0 : bytes) + (d_.progressive_mode ? bytes * 2 : 0) + d_.image_width * comps * 2;
  if (auto f = ctx_.charge(charge)) return f;
  jpeg_start_decompress(&d_);
  r_.width = d_.output_width;
  r_.height = d_.output_height;
  r_.channels = d_.output_components;
  stride_ = static_cast<std::size_t>(r_.width) * static_cast<std::size_t>(r_.channels);
  startCompress();
  return std::nullopt;
}

void JpegRebuild::startCompress() {
  std::memset(&c_, 0, sizeof c_);
  c_.err = &err.pub;
  jpeg_create_compress(&c_);
  c_made_ = true;
  dest_.attach(&c_);
  c_.image_width = (orientation_ >= 5) ? r_.height : r_.width;
  c_.image_height = (orientation_ >= 5) ? r_.width : r_.height;
  c_.input_components = r_.channels;
  c_.in_color_space = space_;
  jpeg_set_defaults(&c_);
  jpeg_set_quality(&c_, ctx_.options.jpeg_quality, TRUE);
}

std::optional<Failure> JpegRebuild::streamRows() {
  line_.resize(stride_);
  scratch_.resize(stride_);
  const auto channels = static_cast<std::size_t>(r_.channels);
  jpeg_start_compress(&c_, TRUE);
  if (icc_) jpeg_write_icc_profile(&c_, icc_, icc_len_);
  while (d_.output_scanline < d_.output_height) {
    JSAMPROW row = line_.data();
    if (jpeg_read_scanlines(&d_, &row, 1) != 1) noProgress();
    if (orientation_ == 2) {
      for (std::uint32_t x = 0; x < r_.width; ++x)
        std::memcpy(&scratch_[x * channels], &line_[(r_.width - 1 - x) * channels], channels);
      row = scratch_.data();
    }
    jpeg_write_scanlines(&c_, &row, 1);
    if ((d_.output_scanline & 255) == 0) {
      if (auto f = ctx_.deadline()) return f;
    }
  }
  return std::nullopt;
}

std::optional<Failure> JpegRebuild::readRaster() {
  r_.px.resize(stride_ * r_.height);
  while (d_.output_scanline < d_.output_height) {
    JSAMPROW row = &r_.px[static_cast<std::size_t>(d_.output_scanline) * stride_];
    if (jpeg_read_scanlines(&d_, &row, 1) != 1) noProgress();
    if ((d_.output_scanline & 255) == 0) {
      if (auto f = ctx_.deadline()) return f;
    }
  }
  return std::nullopt;
}

/// The end of the scan: damage is only known once all of it was read (what was encoded so far
/// is then thrown away); bytes after EOI are reported and dropped.
std::optional<Failure> JpegRebuild::finishDecode() {
  jpeg_finish_decompress(&d_);
  if (err.corrupt_warning)
    return Failure{Reason::CdrFailed, std::string("JPEG: damaged data (") + err.message + ")"};
  const std::uint64_t trailing = d_.src->bytes_in_buffer;
  jpeg_destroy_decompress(&d_);
  d_made_ = false;
  if (trailing > 0) ctx_.removed("trailing data " + std::to_string(trailing) + " bytes");
  noteOrientation(ctx_, orientation_);
  return std::nullopt;
}

/// The decoded raster, turned, to the encoder (orientations 3..8).
void JpegRebuild::writeRaster() {
  OrientedView view(r_, orientation_);
  constexpr std::uint32_t kBlock = 32;  // output rows produced per pass over the raster
  const std::size_t out_stride =
      static_cast<std::size_t>(view.width()) * static_cast<std::size_t>(r_.channels);
  scratch_.resize(out_stride * kBlock);
  JSAMPROW rows[kBlock];
  jpeg_start_compress(&c_, TRUE);
  if (icc_) jpeg_write_icc_profile(&c_, icc_, icc_len_);
  while (c_.next_scanline < c_.image_height) {
    std::uint32_t n = std::min<std::uint32_t>(kBlock, c_.image_height - c_.next_scanline);
    view.rows(c_.next_scanline, n, scratch_.data());
    for (std::uint32_t k = 0; k < n; ++k) rows[k] = &scratch_[k * out_stride];
    std::uint32_t done = 0;
    while (done < n) done += jpeg_write_scanlines(&c_, rows + done, n - done);
  }
}

CodecResult JpegRebuild::finish() {
  jpeg_finish_compress(&c_);
  CodecResult result;
  result.encoded.data = std::move(dest_.out);
  result.encoded.mime = "image/jpeg";
  return result;
}

}  // namespace

CodecResult rebuildJpeg(std::string_view in, Ctx& ctx) {
  JpegRebuild j(ctx);
  if (setjmp(j.err.jump)) return fail(std::string("JPEG: ") + j.err.message);
  if (auto f = j.readHeader(in)) return fail(*f);
  if (auto f = j.start()) return fail(*f);
  if (auto f = j.streams() ? j.streamRows() : j.readRaster()) return fail(*f);
  if (auto f = j.finishDecode()) return fail(*f);
  if (!j.streams()) j.writeRaster();
  return j.finish();
}

}  // namespace mugai::sanitizers::image
