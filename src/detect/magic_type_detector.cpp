// libmagic adapter for the TypeDetector port (include/mugai/detect/type_detector.h).
//
// Trust: the bytes are hostile. libmagic runs in-process, so it is opened without MAGIC_COMPRESS
//        (no decompression, no fork) and bounded with magic_setparam.
// Limits: at most kBytesMax bytes are examined; indirection, name recursion, regex and text
//         encoding work are capped below libmagic's defaults.
// Errors: never throws; any libmagic failure yields {"application/octet-stream", "<error>"}.
//
// A magic_t is per-thread state: each thread opens its own cookies on first use (thread_local)
// and closes them at thread exit. The compiled magic database itself is mmap-ed and shared by the
// kernel page cache, so a cookie costs little memory.
#include <magic.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "mugai/detect/type_detector.h"
#include "src/detect/structural.h"

namespace mugai {
namespace {

constexpr char kUnknownMime[] = "application/octet-stream";

// Bounds for libmagic (defaults in 5.44: bytes 7 MiB, indir 50, name 50, regex 8192,
// encoding 64 KiB). The first MiB is plenty for every format routing cares about.
constexpr std::size_t kBytesMax = 1024 * 1024;
constexpr std::size_t kIndirMax = 15;
constexpr std::size_t kNameMax = 30;
constexpr std::size_t kRegexMax = 4096;
constexpr std::size_t kEncodingMax = 64 * 1024;
constexpr std::size_t kElfPhnumMax = 128;
constexpr std::size_t kElfShnumMax = 1024;
constexpr std::size_t kElfNotesMax = 64;

// Never MAGIC_COMPRESS / MAGIC_COMPRESS_TRANSP: libmagic would decompress hostile input.
// MAGIC_NO_CHECK_COMPRESS also skips the compressed-file probe; compressed formats are still
// recognised by their magic entries (application/gzip, application/zstd, ...).
constexpr int kCommonFlags = MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_COMPRESS_FORK | MAGIC_ERROR;
constexpr int kMimeFlags = MAGIC_MIME_TYPE | kCommonFlags;
constexpr int kDescFlags = MAGIC_NONE | kCommonFlags;
// For text the soft-magic rules (hundreds of regex and search tests) are what libmagic spends
// its time on (~0.7 ms of CPU for 2 KB of plain text here, against ~25 us for a PDF); the MIME
// call has already paid for them, so the description of text only runs the cheap built-in
// encoding check ("UTF-8 text, with CRLF line terminators"), about 6 us.
constexpr int kTextDescFlags = MAGIC_NONE | MAGIC_NO_CHECK_SOFT | kCommonFlags;

/// One libmagic cookie, opened and bounded; `error` is set when it could not be made usable.
class Cookie {
 public:
  explicit Cookie(int flags) : cookie_(magic_open(flags)) {
    if (cookie_ == nullptr) {
      error_ = "magic_open failed";
      return;
    }
    if (!setParam(MAGIC_PARAM_BYTES_MAX, kBytesMax) ||
        !setParam(MAGIC_PARAM_INDIR_MAX, kIndirMax) || !setParam(MAGIC_PARAM_NAME_MAX, kNameMax) ||
        !setParam(MAGIC_PARAM_REGEX_MAX, kRegexMax) ||
        !setParam(MAGIC_PARAM_ENCODING_MAX, kEncodingMax) ||
        !setParam(MAGIC_PARAM_ELF_PHNUM_MAX, kElfPhnumMax) ||
        !setParam(MAGIC_PARAM_ELF_SHNUM_MAX, kElfShnumMax) ||
        !setParam(MAGIC_PARAM_ELF_NOTES_MAX, kElfNotesMax)) {
      error_ = "magic_setparam failed";
      return;
    }
    if (magic_load(cookie_, nullptr) != 0) {
      const char* e = magic_error(cookie_);
      error_ = std::string("magic_load failed: ") + (e ? e : "unknown error");
    }
  }
  ~Cookie() {
    if (cookie_ != nullptr) magic_close(cookie_);
  }
  Cookie(const Cookie&) = delete;
  Cookie& operator=(const Cookie&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  /// Runs libmagic on `data`; nullptr on failure (see lastError()).
  const char* run(std::string_view data) {
    // magic_buffer with a null pointer is an error even for length 0; give it a valid address.
    static const char kEmpty = '\0';
    const void* p = data.empty() ? &kEmpty : data.data();
    return magic_buffer(cookie_, p, std::min(data.size(), kBytesMax));
  }
  std::string lastError() const {
    const char* e = magic_error(cookie_);
    return e ? e : "libmagic returned no result";
  }

 private:
  bool setParam(int param, std::size_t value) {
    return magic_setparam(cookie_, param, &value) == 0;
  }

  magic_t cookie_;
  std::string error_;
};

std::string toLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Keeps the description printable and short: it ends up in reports.
std::string cleanDescription(const char* d) {
  constexpr std::size_t kMaxDescription = 200;
  std::string out;
  for (const char* p = d; *p != '\0' && out.size() < kMaxDescription; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  }
  return out;
}

class MagicTypeDetector final : public TypeDetector {
 public:
  TypeInfo detect(std::string_view data) const override {
    try {
      return detectOrThrow(data);
    } catch (...) {
      return {kUnknownMime, "type detection failed"};
    }
  }

 private:
  static TypeInfo detectOrThrow(std::string_view data) {
    // Formats libmagic does not know, by their own structure (src/detect/structural.h): a
    // compound-file 一太郎 would otherwise be "a compound file", DocuWorks "data".
    if (auto t = detect::ichitaroCompound(data)) return *t;
    if (auto t = detect::docuworks(data)) return *t;
    thread_local Cookie mime_cookie(kMimeFlags);
    thread_local Cookie desc_cookie(kDescFlags);
    thread_local Cookie text_desc_cookie(kTextDescFlags);
    if (!mime_cookie.ok()) return {kUnknownMime, mime_cookie.error()};
    const char* mime = mime_cookie.run(data);
    if (mime == nullptr || *mime == '\0') return {kUnknownMime, mime_cookie.lastError()};
    TypeInfo info;
    info.mime = toLower(mime);
    if (info.mime.find('/') == std::string::npos) {
      // Not a MIME type (libmagic printed a diagnostic instead): the most restrictive answer.
      return {kUnknownMime, cleanDescription(mime)};
    }
    // The description is for reports only; it never changes the MIME type.
    Cookie& desc = info.mime.rfind("text/", 0) == 0 ? text_desc_cookie : desc_cookie;
    if (desc.ok()) {
      if (const char* d = desc.run(data)) info.description = cleanDescription(d);
    }
    return info;
  }
};

}  // namespace

std::shared_ptr<const TypeDetector> makeMagicTypeDetector() {
  return std::make_shared<const MagicTypeDetector>();
}

}  // namespace mugai
