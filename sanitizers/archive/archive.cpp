#include "sanitizers/archive/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <set>
#include <vector>

#include "mugai/text/charset.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"

namespace mugai::sanitizers::archive {
namespace {

constexpr std::size_t kChunk = 64 * 1024;            // one archive_read_data() call
constexpr std::uint64_t kRatioFloor = 1024 * 1024;  // the ratio applies past 1 MiB expanded

/// libarchive converts member names to the thread's locale charset. Under the C locale a UTF-8
/// name (7z, RAR, ZIP with the UTF-8 flag) would come out as '?'. uselocale() is per thread, so
/// switching LC_CTYPE to C.UTF-8 for the duration of apply() does not disturb other workers.
class Utf8Locale {
 public:
  Utf8Locale() {
    static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (utf8) previous_ = uselocale(utf8);
  }
  ~Utf8Locale() {
    if (previous_) uselocale(previous_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(nullptr);
};

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadPtr = std::unique_ptr<struct archive, ReadDeleter>;
using WritePtr = std::unique_ptr<struct archive, WriteDeleter>;
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

/// For reports: no control characters, bounded length (the name itself is hostile).
std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 240;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return text::sanitizeUtf8(out);
}

std::string libError(struct archive* a) {
  const char* e = archive_error_string(a);
  return printable(e ? e : "unknown libarchive error");
}

/// libarchive reports an encrypted entry it cannot read through an error text only (7z headers,
/// RAR, ZIP AES without a passphrase); the entry flag covers the rest.
bool mentionsEncryption(struct archive* a) {
  const char* e = archive_error_string(a);
  if (!e) return false;
  std::string s(e);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.find("encrypt") != std::string::npos || s.find("passphrase") != std::string::npos ||
         s.find("password") != std::string::npos;
}

/// A valid archive using something libarchive cannot read (LZH -lh1-/-lz5-, RAR filters...):
/// cdr.failed says "could not be rebuilt" rather than "broken".
bool unsupported(struct archive* a) {
  const char* e = archive_error_string(a);
  return e && (std::strstr(e, "nsupported") || std::strstr(e, "not supported"));
}

/// An archive-level failure: encrypted when libarchive says so, malformed otherwise.
/// archive_read_has_encrypted_entries() may only be asked once a format has read a header
/// (libarchive 3.6.2 dereferences the unset format otherwise).
Outcome readFailure(struct archive* a, const std::string& what, bool header_seen) {
  if (mentionsEncryption(a) || (header_seen && archive_read_has_encrypted_entries(a) > 0)) {
    return Outcome::fail(Reason::ContentEncrypted, "encrypted archive: " + libError(a));
  }
  return Outcome::fail(unsupported(a) ? Reason::CdrFailed : Reason::ParseMalformed, what + ": " + libError(a));
}

/// Lower-case ASCII: Windows and macOS file systems fold case, so "A.txt" and "a.txt" collide.
std::string foldKey(std::string_view s) {
  std::string k(s);
  std::transform(k.begin(), k.end(), k.begin(),
                 [](unsigned char c) { return c < 0x80 ? static_cast<char>(std::tolower(c)) : c; });
  return k;
}

/// "name.ext" -> "name (2).ext" style candidates until `taken` does not hold one.
std::string uniqueName(const std::string& dir, const std::string& name,
                       const std::set<std::string>& taken) {
  auto full = [&](const std::string& n) { return dir.empty() ? n : dir + "/" + n; };
  if (!taken.count(foldKey(full(name)))) return name;
  std::size_t dot = name.rfind('.');
  std::string stem = (dot == std::string::npos || dot == 0) ? name : name.substr(0, dot);
  std::string ext = (dot == std::string::npos || dot == 0) ? "" : name.substr(dot);
  for (std::size_t i = 2;; ++i) {
    std::string n = stem + " (" + std::to_string(i) + ")" + ext;
    if (!taken.count(foldKey(full(n)))) return n;
  }
}

struct Kept {
  std::string path;  ///< final UTF-8 path in the output ZIP
  std::string data;
  time_t mtime = 0;
  bool has_mtime = false;
};

/// Tracks every output path so that names made equal by sanitising (or by case) stay distinct,
/// and a file never shares its path with a directory.
class NameTable {
 public:
  /// Returns the unique path for `dir` + "/" + `name`.
  std::string add(std::string dir, const std::string& name) {
    dir = claimDirectories(dir);
    std::string n = uniqueName(dir, name, taken_);
    std::string path = dir.empty() ? n : dir + "/" + n;
    taken_.insert(foldKey(path));
    files_.insert(foldKey(path));
    return path;
  }

 private:
  /// Registers each directory prefix; a component that is already a file gets renamed.
  std::string claimDirectories(const std::string& dir) {
    if (dir.empty()) return dir;
    std::string out;
    std::size_t start = 0;
    while (start <= dir.size()) {
      std::size_t slash = dir.find('/', start);
      std::string comp = dir.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      std::string candidate = out.empty() ? comp : out + "/" + comp;
      for (std::size_t i = 2; files_.count(foldKey(candidate)); ++i) {
        candidate = (out.empty() ? "" : out + "/") + comp + " (" + std::to_string(i) + ")";
      }
      out = candidate;
      taken_.insert(foldKey(out));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return out;
  }

  std::set<std::string> taken_;  ///< files and directories
  std::set<std::string> files_;
};

struct WriteSink {
  std::string out;
};

la_ssize_t writeCallback(struct archive*, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<WriteSink*>(client);
  try {
    sink->out.append(static_cast<const char*>(buf), n);
  } catch (...) {
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

/// Bytes that are compressed already (images, archives, Office packages, media): deflating them
/// again costs most of the repack time and gains nothing, so they are stored.
bool alreadyCompressed(std::string_view d) {
  auto at = [&](std::size_t pos, std::string_view sig) {
    return d.size() >= pos + sig.size() && d.compare(pos, sig.size(), sig) == 0;
  };
  return at(0, "\x89PNG") || at(0, "\xff\xd8\xff") || at(0, "GIF8") || at(0, "PK\x03\x04") ||
         at(0, "7z\xbc\xaf\x27\x1c") || at(0, "\x1f\x8b") || at(0, "BZh") || at(0, "\xfd" "7zXZ") ||
         at(0, "Rar!") || at(0, "MSCF") || (at(0, "RIFF") && at(8, "WEBP")) || at(4, "ftyp") ||
         (at(2, "-lh") && at(6, "-")) || at(0, "ID3");
}

/// A member's time the ZIP we write can hold: its DOS date (1980 on, with a day to spare for the
/// zone) and the 32-bit "UT" extra field libarchive writes beside it (until 2038-01-19). libarchive
/// 3.6.2's ZIP writer passes the time to localtime_r() and reads the result without checking it:
/// a tar member dated 2^63-1 (the fuzz campaign, bench/FUZZING.md finding 8) made it read through
/// a null pointer. Any other time is dropped (the member is written undated, as libarchive does
/// then), rather than shown wrapped.
bool zipCanHoldTime(std::int64_t t) {
  constexpr std::int64_t k1980 = 315532800 + 86400;  // 1980-01-02T00:00:00Z
  constexpr std::int64_t k2038 = 2147483647;         // 2038-01-19T03:14:07Z
  return t >= k1980 && t <= k2038;
}

/// Repacks `kept` as a ZIP with UTF-8 names (the language-encoding flag set), deflated.
std::optional<std::string> writeZip(const std::vector<Kept>& kept, int level, std::string* error) {
  // The sink outlives the writer: archive_write_free() on an error path still flushes into it.
  WriteSink sink;
  WritePtr w(archive_write_new());
  if (!w) {
    *error = "archive_write_new failed";
    return std::nullopt;
  }
  std::string options = "zip:hdrcharset=UTF-8,zip:compression=" +
                        std::string(level == 0 ? "store" : "deflate");
  if (level > 0) options += ",zip:compression-level=" + std::to_string(level);
  if (archive_write_set_format_zip(w.get()) != ARCHIVE_OK ||
      archive_write_set_options(w.get(), options.c_str()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(w.get(), &sink, nullptr, writeCallback, nullptr, nullptr) != ARCHIVE_OK) {
    *error = "zip writer: " + libError(w.get());
    return std::nullopt;
  }
  std::uint64_t total = 0;
  for (const auto& k : kept) total += k.data.size() + k.path.size() + 128;
  sink.out.reserve(total);  // bounded by the members, already charged: no regrowth copies
  for (const auto& k : kept) {
    bool store = level == 0 || alreadyCompressed(k.data);
    int set = store ? archive_write_zip_set_compression_store(w.get())
                    : archive_write_zip_set_compression_deflate(w.get());
    if (set != ARCHIVE_OK) {
      *error = "zip writer compression: " + libError(w.get());
      return std::nullopt;
    }
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname_utf8(e.get(), k.path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(k.data.size()));
    if (k.has_mtime) archive_entry_set_mtime(e.get(), k.mtime, 0);
    if (archive_write_header(w.get(), e.get()) != ARCHIVE_OK) {
      *error = "zip writer header: " + libError(w.get());
      return std::nullopt;
    }
    std::size_t off = 0;
    while (off < k.data.size()) {
      la_ssize_t n = archive_write_data(w.get(), k.data.data() + off, k.data.size() - off);
      if (n <= 0) {
        *error = "zip writer data: " + libError(w.get());
        return std::nullopt;
      }
      off += static_cast<std::size_t>(n);
    }
    if (archive_write_finish_entry(w.get()) != ARCHIVE_OK) {
      *error = "zip writer entry: " + libError(w.get());
      return std::nullopt;
    }
  }
  if (archive_write_close(w.get()) != ARCHIVE_OK) {
    *error = "zip writer close: " + libError(w.get());
    return std::nullopt;
  }
  return std::move(sink.out);
}

/// Outer name without its archive extension: "a.tar.gz" -> "a", "b.zip" -> "b".
std::string outerStem(std::string_view outer) {
  std::string name(baseName(outer));
  static const char* kExt[] = {".tar.gz", ".tar.bz2", ".tar.xz", ".tar.lzma", ".tgz", ".tbz2",
                               ".tbz",    ".txz",     ".zip",    ".7z",       ".rar", ".lzh",
                               ".lha",    ".cab",     ".tar",    ".gz",       ".bz2", ".xz",
                               ".lzma"};
  std::string low = foldKey(name);
  for (const char* e : kExt) {
    std::size_t n = std::strlen(e);
    if (low.size() > n && low.compare(low.size() - n, n, e) == 0) return name.substr(0, name.size() - n);
  }
  std::size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0) return name.substr(0, dot);
  return name;
}

/// Registers the readers we mean to support, and no others: format_all/filter_all would also
/// bring mtree (whose "contents=" keyword makes libarchive open local files), iso9660, xar, warc,
/// cpio, ar, and filters that run external programs (lrzip, lzop, grzip, uudecode chains).
/// Every call must return ARCHIVE_OK: ARCHIVE_WARN means "through an external program".
bool supportFormats(struct archive* a) {
  int (*const setup[])(struct archive*) = {
      archive_read_support_format_zip,   archive_read_support_format_7zip,
      archive_read_support_format_rar,   archive_read_support_format_rar5,
      archive_read_support_format_lha,   archive_read_support_format_cab,
      archive_read_support_format_tar,   archive_read_support_format_raw,
      archive_read_support_filter_gzip,  archive_read_support_filter_bzip2,
      archive_read_support_filter_xz,    archive_read_support_filter_lzma,
  };
  for (auto f : setup) {
    if (f(a) != ARCHIVE_OK) return false;
  }
  return true;
}

std::string droppedKind(archive_entry* e) {
  if (archive_entry_hardlink(e)) return "hardlink";
  switch (archive_entry_filetype(e)) {
    case AE_IFLNK: return "symlink";
    case AE_IFCHR: return "character device";
    case AE_IFBLK: return "block device";
    case AE_IFIFO: return "fifo";
    case AE_IFSOCK: return "socket";
    default: return "special file";
  }
}

}  // namespace

std::string_view baseName(std::string_view path) {
  while (!path.empty() && (path.back() == '/' || path.back() == '\\')) path.remove_suffix(1);
  std::size_t cut = path.find_last_of("/\\");
  return cut == std::string_view::npos ? path : path.substr(cut + 1);
}

std::string safeDirectory(std::string_view path) {
  // Directories only: everything before the last separator.
  std::string_view base = baseName(path);
  std::string_view dir = path.substr(0, static_cast<std::size_t>(base.data() - path.data()));
  std::string out;
  std::size_t start = 0;
  while (start < dir.size()) {
    std::size_t end = dir.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = dir.size();
    std::string_view comp = dir.substr(start, end - start);
    start = end + 1;
    if (comp.empty() || comp == "." || comp == "..") continue;
    // A drive letter ("C:") or any component that is only dots and spaces names nothing.
    if (comp.size() == 2 && comp[1] == ':' && std::isalpha(static_cast<unsigned char>(comp[0]))) continue;
    if (comp.find_first_not_of(". ") == std::string_view::npos) continue;
    std::string safe = filename_sanitize::sanitizeFilename(comp);
    if (!out.empty()) out += '/';
    out += safe;
  }
  return out;
}

std::string singleMemberName(std::string_view outer) {
  std::string name(baseName(outer));
  std::string low = foldKey(name);
  static const std::pair<const char*, const char*> kMap[] = {
      {".tgz", ".tar"}, {".tbz2", ".tar"}, {".tbz", ".tar"}, {".txz", ".tar"},
      {".gz", ""},      {".bz2", ""},      {".xz", ""},      {".lzma", ""}, {".z", ""}};
  for (const auto& [ext, repl] : kMap) {
    std::size_t n = std::strlen(ext);
    if (low.size() > n && low.compare(low.size() - n, n, ext) == 0) {
      return name.substr(0, name.size() - n) + repl;
    }
  }
  return name.empty() ? "file" : name;
}

namespace {

/// One archive taken apart and packed again, as apply()'s steps: open the reader, check each
/// entry, read a member's bytes within the limits, hand them to the engine, write the ZIP. What
/// the steps share (the reader, the counters, what is kept so far) lives here. A step returns
/// the Outcome that ends the repack early, or nothing to go on.
class Repack {
 public:
  Repack(const Options& options, const Part& part, MessageContext& ctx)
      : options_(options),
        part_(part),
        ctx_(ctx),
        compressed_(std::max<std::uint64_t>(part.data.size(), 1)),
        chunk_(kChunk) {}

  Outcome run() {
    if (auto stop = open()) return std::move(*stop);
    for (;;) {
      if (auto late = ctx_.budget.checkDeadline()) return Outcome::fail(*late, "deadline reached in an archive");
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(reader_.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return readFailure(reader_.get(), "archive entry header", entries_ > 0);
      // ARCHIVE_WARN: usually a name that did not convert; memberName() repairs it.
      if (auto stop = takeEntry(entry)) return std::move(*stop);
    }
    return finish();
  }

 private:
  /// The nesting depth, then a reader of the formats we support on the part's bytes.
  std::optional<Outcome> open() {
    // Depth: part.path is "<MIME path>" for a top-level archive and grows by "/<n>" per level.
    const std::string& path = part_.path;
    const std::uint64_t depth = 1 + static_cast<std::uint64_t>(std::count(path.begin(), path.end(), '/'));
    if (depth > ctx_.limits.archive_depth_limit) {
      return Outcome::fail(Reason::LimitArchiveDepth,
                           "archive at nesting depth " + std::to_string(depth) + " (limit " +
                               std::to_string(ctx_.limits.archive_depth_limit) + ")");
    }
    // A dropped file has no MIME path; its members still need a '/' per level for the depth.
    member_prefix_ = (path.empty() ? std::string("0") : path) + "/";

    reader_.reset(archive_read_new());
    if (!reader_ || !supportFormats(reader_.get())) {
      return Outcome::fail(Reason::CdrFailed, "libarchive reader setup failed");
    }
    // LZH and CAB names are converted by libarchive itself (it must: LZH directory separators
    // are found after decoding, since a CP932 trail byte may be 0x5C). ZIP and tar names arrive
    // as raw bytes and are decoded in memberName(); 7z and RAR5 names are Unicode already.
    const std::string name_options =
        "lha:hdrcharset=" + options_.name_charset + ",cab:hdrcharset=" + options_.name_charset;
    if (archive_read_set_options(reader_.get(), name_options.c_str()) != ARCHIVE_OK) {
      return Outcome::fail(Reason::CdrFailed, "libarchive name charset: " + libError(reader_.get()));
    }
    if (part_.data.empty()) return Outcome::fail(Reason::ParseMalformed, "empty archive file");
    if (archive_read_open_memory(reader_.get(), part_.data.data(), part_.data.size()) != ARCHIVE_OK) {
      return readFailure(reader_.get(), "not a readable archive", false);
    }
    return std::nullopt;
  }

  /// One entry: counted, its format and encryption checked, then dropped (anything but a
  /// regular file), or read and handed over.
  std::optional<Outcome> takeEntry(archive_entry* entry) {
    ++entries_;
    if (auto over = ctx_.budget.chargeArchiveMember()) {  // counted over all nesting levels
      return Outcome::fail(*over, "more than " + std::to_string(ctx_.limits.archive_member_count_limit) +
                                      " archive entries in this item");
    }
    if (entries_ == 1) {
      int fmt = archive_format(reader_.get()) & ARCHIVE_FORMAT_BASE_MASK;
      is_zip_ = fmt == ARCHIVE_FORMAT_ZIP;
      single_ = fmt == ARCHIVE_FORMAT_RAW;
      // "raw" exists for gz/bz2/xz of one file; without a compression filter it would take any
      // bytes at all as a one-member "archive".
      if (single_ && archive_filter_count(reader_.get()) < 2) {
        return Outcome::fail(Reason::ParseMalformed, "not an archive or a compressed file");
      }
    }
    if (archive_entry_is_encrypted(entry) || archive_read_has_encrypted_entries(reader_.get()) > 0) {
      return Outcome::fail(Reason::ContentEncrypted,
                           "encrypted archive member: its content cannot be inspected");
    }

    const std::string name = memberName(entry);
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) return std::nullopt;  // directories are recreated from their members' paths
    if (type != AE_IFREG || archive_entry_hardlink(entry)) {
      result_.findings.push_back({"dropped", droppedKind(entry) + " " + printable(name)});
      changed_ = true;
      return std::nullopt;
    }
    ++members_;
    std::string data;
    if (auto stop = readData(entry, data)) return stop;
    return handOver(entry, name, std::move(data));
  }

  /// The member's name as UTF-8: libarchive gives UTF-8 for UTF-8 archives (the thread's locale
  /// is C.UTF-8) and the raw bytes otherwise, which are decoded as name_charset (CP932).
  std::string memberName(archive_entry* entry) const {
    if (single_) return singleMemberName(part_.filename.unverifiedValue());
    std::string name;
    if (const char* raw = archive_entry_pathname(entry)) name = raw;
    if (!text::isValidUtf8(name)) name = text::toUtf8(name, options_.name_charset).utf8;
    return name;
  }

  /// The member's bytes, each chunk checked against expanded_size_limit, the expansion ratio,
  /// the decoded-bytes budget and the deadline before it is kept.
  std::optional<Outcome> readData(archive_entry* entry, std::string& data) {
    const Limits& limits = ctx_.limits;
    // A declared size over what is left is refused before reading a byte of it.
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0 &&
        static_cast<std::uint64_t>(archive_entry_size(entry)) > limits.expanded_size_limit - expanded_) {
      return Outcome::fail(Reason::LimitExpandedSize,
                           "a member declares " + std::to_string(archive_entry_size(entry)) +
                               " bytes, over expanded_size_limit");
    }
    // A declared size within the limits (checked above) saves the regrowth copies; a lie only
    // costs what the limits already allow.
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0 &&
        static_cast<std::uint64_t>(archive_entry_size(entry)) <=
            limits.decoded_bytes_limit - std::min(limits.decoded_bytes_limit, ctx_.budget.decodedBytes())) {
      data.reserve(static_cast<std::size_t>(archive_entry_size(entry)));
    }
    const std::uint64_t ratio_limit = limits.expansion_ratio_limit;
    for (;;) {
      la_ssize_t n = archive_read_data(reader_.get(), chunk_.data(), chunk_.size());
      if (n == 0) return std::nullopt;
      if (n < 0) {
        if (mentionsEncryption(reader_.get())) {
          return Outcome::fail(Reason::ContentEncrypted, "encrypted archive member: " + libError(reader_.get()));
        }
        return readFailure(reader_.get(), "archive member data", true);
      }
      const auto got = static_cast<std::uint64_t>(n);
      if (expanded_ + got > limits.expanded_size_limit) {
        return Outcome::fail(Reason::LimitExpandedSize, "members expand to more than " +
                                                            std::to_string(limits.expanded_size_limit) + " bytes");
      }
      const std::uint64_t member_size = data.size() + got;
      if (member_size > kRatioFloor && member_size > ratio_limit * compressed_) {
        return Outcome::fail(Reason::LimitExpansionRatio,
                             "a member expands more than " + std::to_string(ratio_limit) +
                                 " times the archive's size");
      }
      if (auto over = ctx_.budget.chargeDecoded(got)) return Outcome::fail(*over, "archive members");
      if (auto late = ctx_.budget.checkDeadline()) return Outcome::fail(*late, "deadline reached in an archive");
      expanded_ += got;
      data.append(chunk_.data(), got);
    }
  }

  /// The engine decides on the member: it blocks the whole archive, is removed, or is kept (as
  /// it was or rebuilt) under a safe name in its safe directory.
  std::optional<Outcome> handOver(archive_entry* entry, const std::string& name, std::string data) {
    const std::string shown = printable(name);
    std::string dir = safeDirectory(name);
    std::string original_base(baseName(name));

    Part m;
    m.path = member_prefix_ + std::to_string(members_);
    m.depth = part_.depth + 1;
    m.filename = Untrusted<std::string>(original_base);
    // The engine hands back these bytes or its rebuild: remember a checksum, not a copy.
    const std::size_t in_size = data.size();
    const uLong in_crc = crc32_z(0L, reinterpret_cast<const Bytef*>(data.data()), in_size);
    m.data = std::move(data);
    MemberResult mr = ctx_.members->process(std::move(m));
    if (mr.kind == MemberResult::Kind::Blocked) {
      Outcome o = Outcome::fail(mr.reason, "archive member " + shown + " blocks the item");
      o.findings = std::move(result_.findings);
      return o;
    }
    if (mr.kind == MemberResult::Kind::Removed) {
      result_.findings.push_back({"removed_member", shown, mr.sha256});
      changed_ = true;
      return std::nullopt;
    }
    if (mr.data.size() != in_size ||
        crc32_z(0L, reinterpret_cast<const Bytef*>(mr.data.data()), mr.data.size()) != in_crc) {
      changed_ = true;
    }
    std::string file = mr.filename.empty() ? filename_sanitize::sanitizeFilename(original_base) : mr.filename;
    Kept k;
    k.path = names_.add(dir, file);
    k.data = std::move(mr.data);
    if (archive_entry_mtime_is_set(entry) && zipCanHoldTime(archive_entry_mtime(entry))) {
      k.mtime = archive_entry_mtime(entry);
      k.has_mtime = true;
    }
    std::string normal = name;
    std::replace(normal.begin(), normal.end(), '\\', '/');
    if (!single_ && k.path != normal) {
      result_.findings.push_back({"renamed_member", shown + " -> " + k.path});
      changed_ = true;
    }
    kept_.push_back(std::move(k));
    return std::nullopt;
  }

  /// The kept members as a fresh ZIP named after the archive.
  Outcome finish() {
    result_.findings.insert(result_.findings.begin(), {"members", std::to_string(members_)});
    std::string error;
    auto zip = writeZip(kept_, options_.compression_level, &error);
    if (!zip) return Outcome::fail(Reason::CdrFailed, error);

    Part out = replacedPart(part_, std::move(*zip));
    out.output_type = "application/zip";
    std::string stem = outerStem(part_.filename.unverifiedValue());
    out.filename = Untrusted<std::string>((stem.empty() ? std::string("archive") : stem) + ".zip");
    Reason why = (changed_ || is_zip_) ? Reason::CdrRebuilt : Reason::CdrConverted;
    Outcome o = Outcome::replace(std::move(out), why);
    o.findings = std::move(result_.findings);
    return o;
  }

  const Options& options_;
  const Part& part_;
  MessageContext& ctx_;
  const std::uint64_t compressed_;
  Utf8Locale utf8_names_;  // member names read as UTF-8 while this repack lives
  ReadPtr reader_;
  std::string member_prefix_;
  std::uint64_t entries_ = 0, members_ = 0, expanded_ = 0;
  bool changed_ = false, is_zip_ = false, single_ = false;
  std::vector<Kept> kept_;
  NameTable names_;
  Outcome result_;  // findings accumulate here
  std::vector<char> chunk_;
};

}  // namespace

Outcome ArchiveSanitizer::apply(const Part& part, MessageContext& ctx) const {
  try {
    if (!ctx.members) return Outcome::fail(Reason::CdrFailed, "no engine: archive members cannot be checked");
    return Repack(options_, part, ctx).run();
  } catch (const std::bad_alloc&) {
    return Outcome::fail(Reason::CdrFailed, "out of memory while repacking an archive");
  } catch (const std::exception& e) {
    return Outcome::fail(Reason::CdrFailed, std::string("archive: ") + e.what());
  } catch (...) {
    return Outcome::fail(Reason::CdrFailed, "archive: unknown error");
  }
}

}  // namespace mugai::sanitizers::archive
