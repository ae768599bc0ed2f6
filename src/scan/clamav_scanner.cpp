// libclamav adapter for the Scanner port (include/mugai/scan/scanner.h).
//
// Trust: the scanned bytes are hostile; the name hint is sender-controlled and is never handed to
//        libclamav (it could name temporary files or end up in its metadata).
// Limits: every scan_max_* limit is set on the engine and CL_SCAN_HEURISTIC_EXCEEDS_MAX is on, so
//         reaching a limit reports Heuristics.Limits.Exceeded.* (Incomplete), never Clean.
// Errors: never throws; engine build failures return nullptr with a message, scan failures are
//         ScanResult::Status::Error with cl_strerror() text.
// Memory: the image fuzzy hash (CL_SCAN_PARSE_IMAGE_FUZZY_HASH) is off. It decodes the whole
//         image before any pixel limit of ours applies: a 46 KB PNG of 48,000,000 x 1 pixels made
//         it ask for 24 GB and killed the service. Every image is decoded again by
//         sanitizer.image under image_pixel_limit, and fuzzy-hash signatures (phishing logos)
//         are not worth a decoder with no limit in front of it; the rest of CL_SCAN_PARSE_IMAGE
//         (format checks that raise Heuristics.Broken.Media) stays on.
//
// One engine is built and compiled per makeClamavScanner() call and is then only read: libclamav
// allows any number of threads to scan concurrently with one compiled engine (clamd does so).
// Reload = build a new scanner and swap the shared_ptr (ClamAV clamd/server-th.c reload_th()).
//
// libclamav 1.4 vs 1.5: 1.5 adds cl_scanmap_ex()/cl_verdict_t and keeps cl_scanmap_callback();
// the one call site is scanMap() below, the only place to touch when moving to the new API.
#include <clamav.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "mugai/scan/scanner.h"
#include "src/scan/scan_cache.h"

namespace mugai {
namespace {

constexpr std::string_view kLimitsPrefix = "Heuristics.Limits.Exceeded";
constexpr std::string_view kEncryptedPrefix = "Heuristics.Encrypted.";

/// cl_init() must run once per process before any other libclamav call.
cl_error_t initOnce() {
  static std::once_flag once;
  static cl_error_t result = CL_SUCCESS;
  std::call_once(once, [] { result = cl_init(CL_INIT_DEFAULT); });
  return result;
}

/// Extensions libclamav loads from a database directory (libclamav/readdb.h CLI_DBEXT).
bool isDatabaseFile(const std::filesystem::path& p) {
  static constexpr std::string_view kExts[] = {
      ".cvd", ".cld",  ".cud",  ".db",  ".hdb",  ".hdu", ".hsb", ".hsu", ".mdb", ".mdu",
      ".msb", ".msu",  ".ndb",  ".ndu", ".ldb",  ".ldu", ".sdb", ".zmd", ".rmd", ".pdb",
      ".gdb", ".wdb",  ".cbc",  ".ftm", ".cfg",  ".cdb", ".cat", ".crb", ".idb", ".ioc",
      ".yar", ".yara", ".pwdb", ".ign", ".ign2", ".imp", ".fp",  ".sfp", ".info"};
  std::string ext = p.extension().string();
  for (auto e : kExts) {
    if (ext == e) return true;
  }
  return false;
}

/// True when `dir` exists and holds at least one signature database (freshclam may never have run).
bool hasDatabases(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return false;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && isDatabaseFile(it->path())) return true;
  }
  return false;
}

/// What the signature sources look like on disk: every database file of every path (a folder's
/// files, not its subfolders, as cl_load() reads them) with its size, modification time and inode.
/// A file freshclam replaces by rename changes at least its inode.
std::string stampOf(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> lines;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return;
    lines.push_back(p.string() + "|" + std::to_string(st.st_size) + "|" +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                    "|" + std::to_string(st.st_ino));
  };
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      lines.push_back(path + "/");
      for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec) && isDatabaseFile(it->path())) add(it->path());
      }
    } else if (fs::exists(path, ec)) {
      add(path);
    } else {
      lines.push_back(path + "|missing");
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// SHA-256 of `data` (32 raw bytes) through libclamav's own hash (it links libcrypto already).
std::string sha256(const void* data, std::size_t size) {
  unsigned char out[32];
  unsigned int len = sizeof out;
  if (cl_sha256(data, size, out, &len) == nullptr || len != sizeof out) return "";
  return std::string(reinterpret_cast<const char*>(out), len);
}

/// Containers whose members libclamav unpacks whole and scans with its own type detection, as
/// it would scan them alone: the archives and packages mugai unpacks too (sanitizer.archive,
/// sanitizer.ooxml, sanitizer.odf, winmail.dat). A member of one of these that libclamav scanned
/// inside a scan that ended Clean is a clean scan of those bytes (docs/scanning.md).
bool unpacksMembers(std::string_view type) {
  static constexpr std::string_view kTypes[] = {
      "CL_TYPE_ZIP",        "CL_TYPE_OOXML_WORD", "CL_TYPE_OOXML_PPT", "CL_TYPE_OOXML_XL",
      "CL_TYPE_OOXML_HWP",  "CL_TYPE_RAR",        "CL_TYPE_7Z",        "CL_TYPE_GZ",
      "CL_TYPE_BZ",         "CL_TYPE_XZ",         "CL_TYPE_POSIX_TAR", "CL_TYPE_OLD_TAR",
      "CL_TYPE_MSCAB",      "CL_TYPE_ARJ",        "CL_TYPE_LHA_LZH",   "CL_TYPE_TNEF"};
  return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

/// Per-scan state handed to libclamav as the callback context.
struct ScanContext {
  std::string first_alert;          ///< the first name reported through clcb_virus_found
  bool record_members = false;      ///< hash the members of unpacking containers (cache on)
  const std::function<void(const ScanLayer&)>* on_layer = nullptr;
  std::string top_sha256;           ///< level 0 is hashed before the scan
  std::vector<std::string> types;   ///< type per level, for the parent of the next layer
  std::vector<std::string> members; ///< SHA-256 of members, kept as Clean if the scan ends Clean
  std::uint64_t layers = 0, layer_bytes = 0;
};

/// libclamav does not always return the name through `virname` (e.g. the MaxFileSize heuristic
/// on the top-level map returns CL_VIRUS with virname unset), so the names are also collected
/// here. Must not throw: it is called from C.
extern "C" void onVirusFound(int /*fd*/, const char* virname, void* context) {
  auto* ctx = static_cast<ScanContext*>(context);
  if (ctx == nullptr || virname == nullptr || !ctx->first_alert.empty()) return;
  try {
    ctx->first_alert = virname;
  } catch (...) {
    // Out of memory: mapResult() then reports an unnamed alert as Incomplete.
  }
}

/// Every file libclamav is about to look at: the given bytes (level 0) and what it unpacks from
/// them. Counts them, hashes the members of unpacking containers for the cache, tells the test
/// observer. Must not throw; never changes what libclamav does (returns CL_SUCCESS).
extern "C" cl_error_t onFileInspection(int /*fd*/, const char* type, const char** /*ancestors*/,
                                       size_t /*parent_size*/, const char* /*name*/, size_t size,
                                       const char* buffer, uint32_t level, uint32_t attributes,
                                       void* context) {
  auto* ctx = static_cast<ScanContext*>(context);
  if (ctx == nullptr) return CL_SUCCESS;
  try {
    ++ctx->layers;
    ctx->layer_bytes += size;
    std::string_view t = type != nullptr ? type : "";
    if (level < 1024) {
      ctx->types.resize(level + 1);
      ctx->types[level] = std::string(t);
    }
    bool member = level >= 1 && level <= ctx->types.size() && unpacksMembers(ctx->types[level - 1]) &&
                  (attributes & LAYER_ATTRIBUTES_NORMALIZED) == 0 && buffer != nullptr;
    std::string digest;
    if (level == 0) {
      digest = ctx->top_sha256;
    } else if (buffer != nullptr && ((member && ctx->record_members) || ctx->on_layer != nullptr)) {
      digest = sha256(buffer, size);
    }
    if (member && ctx->record_members && !digest.empty()) ctx->members.push_back(digest);
    if (ctx->on_layer != nullptr && *ctx->on_layer) {
      (*ctx->on_layer)(ScanLayer{digest, size, level, std::string(t)});
    }
  } catch (...) {
    // Out of memory: the member is not cached and is scanned again when mugai unpacks it.
    if (ctx != nullptr) ctx->record_members = false;
  }
  return CL_SUCCESS;
}

/// Owns one compiled engine and its scan-result cache; frees both once nobody scans with them.
class ClamavScanner final : public Scanner {
 public:
  ClamavScanner(cl_engine* engine, unsigned signatures, std::string sources,
                std::vector<std::string> warnings, std::vector<std::string> watched,
                std::string stamp, std::uint64_t cache_entries,
                std::function<void(const ScanLayer&)> on_layer)
      : engine_(engine),
        signatures_(signatures),
        sources_(std::move(sources)),
        warnings_(std::move(warnings)),
        watched_(std::move(watched)),
        stamp_(std::move(stamp)),
        cache_(cache_entries),
        on_layer_(std::move(on_layer)) {
    options_.general = CL_SCAN_GENERAL_HEURISTICS;
    // Every parser libclamav has but the image fuzzy hash (see the top of this file).
    options_.parse = ~0U & ~static_cast<unsigned>(CL_SCAN_PARSE_IMAGE_FUZZY_HASH);
    options_.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
                         CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_MACROS;
    options_.mail = 0;
    options_.dev = 0;
  }
  ~ClamavScanner() override { cl_engine_free(engine_); }
  ClamavScanner(const ClamavScanner&) = delete;
  ClamavScanner& operator=(const ClamavScanner&) = delete;

  ScanResult scan(std::string_view data, std::string_view /*name_hint*/) const override {
    ++requests_;
    ScanResult r;
    if (data.empty()) {
      // Nothing to scan; libclamav refuses an empty map.
      r.status = ScanResult::Status::Clean;
      return r;
    }
    ScanContext ctx;
    if (cache_.enabled() || on_layer_) ctx.top_sha256 = sha256(data.data(), data.size());
    if (!ctx.top_sha256.empty()) {
      if (auto hit = cache_.get(ctx.top_sha256)) {
        ++cache_hits_;
        hit->cached = true;
        return *hit;
      }
    }
    ctx.record_members = cache_.enabled() && !ctx.top_sha256.empty();
    ctx.on_layer = on_layer_ ? &on_layer_ : nullptr;
    const char* virname = nullptr;
    ++engine_scans_;
    engine_bytes_ += data.size();
    cl_error_t rc = scanMap(data, &virname, &ctx);
    layers_ += ctx.layers;
    layer_bytes_ += ctx.layer_bytes;
    if (rc == CL_VIRUS && (virname == nullptr || *virname == '\0') && !ctx.first_alert.empty()) {
      virname = ctx.first_alert.c_str();
    }
    r = mapResult(rc, virname);
    remember(ctx, r);
    return r;
  }

  ScanStats stats() const override {
    ScanStats s;
    s.requests = requests_;
    s.cache_hits = cache_hits_;
    s.engine_scans = engine_scans_;
    s.engine_bytes = engine_bytes_;
    s.layers = layers_;
    s.layer_bytes = layer_bytes_;
    s.cache_entries = cache_.size();
    return s;
  }

  std::string describe() const override {
    return std::string("ClamAV ") + cl_retver() + ", " + std::to_string(signatures_) +
           (signatures_ == 1 ? " signature" : " signatures");
  }
  std::string sources() const override { return sources_; }
  std::vector<std::string> warnings() const override { return warnings_; }
  bool sourcesChanged() const override { return stampOf(watched_) != stamp_; }
  std::string sourcesStamp() const override { return stampOf(watched_); }

 private:
  /// The one libclamav scan call (see the 1.4/1.5 note at the top of the file).
  cl_error_t scanMap(std::string_view data, const char** virname, ScanContext* ctx) const {
    cl_fmap_t* map = cl_fmap_open_memory(data.data(), data.size());
    if (map == nullptr) return CL_EMEM;
    // libclamav takes a non-const options pointer; a per-call copy keeps the scanner const.
    struct cl_scan_options options = options_;
    unsigned long scanned = 0;
    cl_error_t rc = cl_scanmap_callback(map, nullptr, virname, &scanned, engine_, &options, ctx);
    cl_fmap_close(map);
    return rc;
  }

  /// Keeps what does not depend on the moment: a Clean scan (with every member of an unpacking
  /// container it went through: those bytes were scanned to the end too) or a signature found.
  /// Limits, "cannot inspect" and errors are not kept: the time limit may not be reached next
  /// time, and an error is worth asking again.
  void remember(const ScanContext& ctx, const ScanResult& r) const {
    if (ctx.top_sha256.empty()) return;
    if (r.status == ScanResult::Status::Infected) {
      cache_.put(ctx.top_sha256, r);
      return;
    }
    if (r.status != ScanResult::Status::Clean) return;
    cache_.put(ctx.top_sha256, r);
    if (!ctx.record_members) return;
    for (const auto& m : ctx.members) cache_.put(m, r);
  }

  static ScanResult mapResult(cl_error_t rc, const char* virname) {
    ScanResult r;
    switch (rc) {
      case CL_CLEAN:
        r.status = ScanResult::Status::Clean;
        return r;
      case CL_VIRUS: {
        if (virname == nullptr || *virname == '\0') {
          // An alert without a name cannot be told apart from a limit: never call it Clean,
          // never claim a signature.
          r.status = ScanResult::Status::Incomplete;
          r.signature = "Heuristics.Unnamed";
          r.detail = "libclamav reported an alert without a name";
          return r;
        }
        r.signature = virname;
        if (startsWith(r.signature, kLimitsPrefix)) {
          r.status = ScanResult::Status::Incomplete;
          r.detail = "a scan limit was reached";
        } else if (startsWith(r.signature, kEncryptedPrefix)) {
          r.status = ScanResult::Status::Incomplete;
          r.detail = "encrypted content cannot be scanned";
        } else {
          r.status = ScanResult::Status::Infected;
        }
        return r;
      }
      // Limits reported as errors (seen when the heuristic is not raised, e.g. time limit).
      case CL_ETIMEOUT:
        return limitResult(rc, "MaxScanTime");
      case CL_EMAXSIZE:
        return limitResult(rc, "MaxScanSize");
      case CL_EMAXREC:
        return limitResult(rc, "MaxRecursion");
      case CL_EMAXFILES:
        return limitResult(rc, "MaxFiles");
      default:
        r.status = ScanResult::Status::Error;
        r.detail = std::string("libclamav: ") + cl_strerror(rc);
        return r;
    }
  }

  static ScanResult limitResult(cl_error_t rc, std::string_view which) {
    ScanResult r;
    r.status = ScanResult::Status::Incomplete;
    r.signature = std::string(kLimitsPrefix) + "." + std::string(which);
    r.detail = std::string("libclamav: ") + cl_strerror(rc);
    return r;
  }

  cl_engine* engine_;
  unsigned signatures_;
  std::string sources_;
  std::vector<std::string> warnings_;
  std::vector<std::string> watched_;  ///< the signature paths (and the system folder) loaded from
  std::string stamp_;                 ///< stampOf(watched_) taken before they were loaded
  struct cl_scan_options options_ {};
  mutable scan::ScanCache cache_;
  std::function<void(const ScanLayer&)> on_layer_;
  mutable std::atomic<std::uint64_t> requests_{0}, cache_hits_{0}, engine_scans_{0},
      engine_bytes_{0}, layers_{0}, layer_bytes_{0};
};

/// Frees a half-built engine on every early return (clamd reload_th "goto done" in RAII form).
struct EngineGuard {
  cl_engine* engine = nullptr;
  ~EngineGuard() {
    if (engine != nullptr) cl_engine_free(engine);
  }
  cl_engine* release() {
    cl_engine* e = engine;
    engine = nullptr;
    return e;
  }
};

bool setNum(cl_engine* engine, cl_engine_field field, std::uint64_t value, const char* what,
            std::string* error) {
  cl_error_t rc = cl_engine_set_num(engine, field, static_cast<long long>(value));
  if (rc != CL_SUCCESS) {
    *error = std::string("cannot set ") + what + ": " + cl_strerror(rc);
    return false;
  }
  return true;
}

bool applyLimits(cl_engine* engine, const Limits& l, std::string* error) {
  constexpr std::uint64_t kU32Max = 0xffffffffULL;
  auto u32 = [](std::uint64_t v) { return v > kU32Max ? kU32Max : v; };
  // libclamav cannot scan files of 2 GiB or more and clamps (with a warning) anything above.
  constexpr std::uint64_t kMaxFileSize = 0x7fffffffULL;
  const std::uint64_t filesize = std::min(l.scan_max_filesize, kMaxFileSize);
  return setNum(engine, CL_ENGINE_MAX_FILESIZE, filesize, "scan_max_filesize", error) &&
         setNum(engine, CL_ENGINE_MAX_SCANSIZE, l.scan_max_scansize, "scan_max_scansize", error) &&
         setNum(engine, CL_ENGINE_MAX_RECURSION, u32(l.scan_max_recursion), "scan_max_recursion",
                error) &&
         setNum(engine, CL_ENGINE_MAX_FILES, u32(l.scan_max_files), "scan_max_files", error) &&
         setNum(engine, CL_ENGINE_MAX_SCANTIME, u32(l.scan_max_scantime_ms), "scan_max_scantime_ms",
                error);
}

bool loadPath(cl_engine* engine, const std::string& path, unsigned* signatures,
              std::string* error) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    *error = "signature path not found: " + path;
    return false;
  }
  if (std::filesystem::is_regular_file(status) && !isDatabaseFile(path)) {
    *error = "not a signature database (unknown extension): " + path;
    return false;
  }
  // CL_DB_STDOPT: phishing databases and signed bytecode. YARA (.yar/.yara) loads unless
  // CL_DB_YARA_EXCLUDE is given.
  cl_error_t rc = cl_load(path.c_str(), engine, signatures, CL_DB_STDOPT);
  if (rc != CL_SUCCESS) {
    *error = "cannot load signatures from " + path + ": " + cl_strerror(rc);
    return false;
  }
  return true;
}

/// The scratch folder libclamav should use ("" = its default).
std::string scratchDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("MUGAI_SCAN_TMPDIR"); env != nullptr && *env != '\0')
    return env;
  if (::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  return "";
}

std::shared_ptr<const Scanner> build(const ClamavOptions& options, std::string* error) {
  cl_error_t rc = initOnce();
  if (rc != CL_SUCCESS) {
    *error = std::string("cl_init failed: ") + cl_strerror(rc);
    return nullptr;
  }
  EngineGuard guard;
  guard.engine = cl_engine_new();
  if (guard.engine == nullptr) {
    *error = "cl_engine_new failed";
    return nullptr;
  }
  if (!applyLimits(guard.engine, options.limits, error)) return nullptr;
  std::string tmpdir = scratchDir(options.tmpdir);
  if (!tmpdir.empty()) {
    rc = cl_engine_set_str(guard.engine, CL_ENGINE_TMPDIR, tmpdir.c_str());
    if (rc != CL_SUCCESS) {
      *error = "cannot use " + tmpdir + " as scan scratch folder: " + cl_strerror(rc);
      return nullptr;
    }
  }
  cl_engine_set_clcb_virus_found(guard.engine, onVirusFound);
  cl_engine_set_clcb_file_inspection(guard.engine, onFileInspection);

  // Taken before loading: a change made while the engine loads shows as a change afterwards.
  std::vector<std::string> watched = options.signature_paths;
  if (options.include_system_db && cl_retdbdir() != nullptr) watched.push_back(cl_retdbdir());
  std::string stamp = stampOf(watched);
  unsigned signatures = 0;
  std::string sources, own;  // "3 (PATH) + 0 (PATH)"; "3 from PATH, 1 from PATH"
  auto count = [&](const std::string& path, unsigned before) {
    sources +=
        (sources.empty() ? "" : " + ") + std::to_string(signatures - before) + " (" + path + ")";
  };
  for (const auto& path : options.signature_paths) {
    unsigned before = signatures;
    if (!loadPath(guard.engine, path, &signatures, error)) return nullptr;
    count(path, before);
    own += (own.empty() ? "" : ", ") + std::to_string(signatures - before) + " from " + path;
  }
  std::vector<std::string> warnings;
  if (options.include_system_db) {
    const char* dbdir = cl_retdbdir();
    std::string dir = dbdir != nullptr ? dbdir : "(none)";
    unsigned before = signatures;
    if (dbdir != nullptr && hasDatabases(dbdir)) {
      if (!loadPath(guard.engine, dbdir, &signatures, error)) return nullptr;
    } else {
      std::error_code ec;
      warnings.push_back(
          "the system ClamAV database directory " + dir + " is " +
          (std::filesystem::is_directory(dir, ec) ? "empty" : "missing") +
          " (scanning: system_database: true): run freshclam; until then only the test "
          "signatures are loaded (" +
          (own.empty() ? "none" : own) + ")");
    }
    count(dir, before);
  }
  if (signatures == 0) {
    *error = "no signatures loaded (give signature paths or install the ClamAV databases)";
    return nullptr;
  }
  rc = cl_engine_compile(guard.engine);
  if (rc != CL_SUCCESS) {
    *error = std::string("cl_engine_compile failed: ") + cl_strerror(rc);
    return nullptr;
  }
  return std::make_shared<const ClamavScanner>(guard.release(), signatures, sources,
                                               std::move(warnings), std::move(watched),
                                               std::move(stamp),
                                               options.limits.scan_cache_entries,
                                               options.on_layer);
}

}  // namespace

std::shared_ptr<const Scanner> makeClamavScanner(const ClamavOptions& options, std::string* error) {
  std::string local;
  std::string* err = error != nullptr ? error : &local;
  try {
    return build(options, err);
  } catch (const std::exception& e) {
    *err = std::string("cannot build the ClamAV engine: ") + e.what();
  } catch (...) {
    *err = "cannot build the ClamAV engine";
  }
  return nullptr;
}

}  // namespace mugai
