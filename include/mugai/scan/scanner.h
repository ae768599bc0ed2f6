/**
 * @file scanner.h
 * @brief Scanner port (antivirus). The libclamav adapter lives in src/scan/.
 *
 * Trust: input bytes are hostile; the name hint is sender-controlled and used only for logs.
 * Limits: engine limits come from Limits (scan_max_*); reaching one is Incomplete, never Clean.
 * Errors: never throws; engine errors are ScanResult::Status::Error.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/limits.h"

namespace mugai {

struct ScanResult {
  enum class Status { Clean, Infected, Incomplete, Error };
  Status status = Status::Error;
  std::string signature;  ///< Infected: the signature name; Incomplete: the heuristic name
  std::string detail;     ///< operator-facing detail (error text)
  /// Answered from the scan-result cache: the same bytes were scanned to the end by the same
  /// compiled engine (same signatures, same limits) before, alone or as a member of a container
  /// (docs/scanning.md, "One scan per byte"). Reported as `"scan":"cached"`.
  bool cached = false;
};

/// What a scanner did since it was built (cumulative, all threads): how often bytes reached
/// libclamav, for tests and the bench. A "layer" is one file libclamav looked at: the bytes it
/// was given, or a member it unpacked from them (a zip entry, an OOXML part, a PDF stream).
struct ScanStats {
  std::uint64_t requests = 0;      ///< scan() calls
  std::uint64_t cache_hits = 0;    ///< answered from the cache, libclamav not called
  std::uint64_t engine_scans = 0;  ///< calls into libclamav (cl_scanmap_callback)
  std::uint64_t engine_bytes = 0;  ///< bytes of those calls
  std::uint64_t layers = 0;        ///< files libclamav inspected, the given ones and their members
  std::uint64_t layer_bytes = 0;   ///< bytes of those files
  std::uint64_t cache_entries = 0; ///< results held now
};

/// One file libclamav inspected during a scan (ClamavOptions::on_layer; in-process only).
struct ScanLayer {
  std::string sha256;        ///< 32 raw bytes; empty when libclamav gave no buffer
  std::uint64_t size = 0;
  unsigned level = 0;        ///< 0: the bytes given to scan(); 1: a member of those; ...
  std::string type;          ///< libclamav's type name ("CL_TYPE_ZIP")
};

class Scanner {
 public:
  virtual ~Scanner() = default;
  /// Thread-safe. "Clean" means scanned to the end with nothing found.
  virtual ScanResult scan(std::string_view data, std::string_view name_hint) const = 0;
  /// e.g. "ClamAV 1.4.6, 2 signatures"
  virtual std::string describe() const = 0;
  /// How many signatures came from where, for the startup line:
  /// "3 (/etc/mugai/signatures) + 0 (/var/lib/clamav)"; empty when unknown.
  virtual std::string sources() const { return ""; }
  /// Problems an operator should fix, logged as WARNING at startup and reload (the system
  /// database is configured but empty or missing).
  virtual std::vector<std::string> warnings() const { return {}; }
  /// True when the signature files it was built from changed since (a database file added,
  /// removed, resized or rewritten: freshclam ran). Cheap (stat only); thread-safe. The caller
  /// builds a new scanner and swaps, as on SIGHUP (clamd's SelfCheck, cl_statchkdir()).
  virtual bool sourcesChanged() const { return false; }
  /// What the signature sources look like on disk now (compare two to see them settle).
  virtual std::string sourcesStamp() const { return ""; }
  /// Counters since the scanner was built (zeros when the scanner keeps none).
  virtual ScanStats stats() const { return {}; }
};

struct ClamavOptions {
  std::vector<std::string> signature_paths;  ///< files or directories (.ndb .hdb .yara .cvd ...)
  bool include_system_db = true;             ///< also load the freshclam directory when present
  Limits limits;                             ///< scan_max_* are applied to the engine
  /// Scratch folder for libclamav (CL_ENGINE_TMPDIR): it makes one per scan, so a tmpfs matters
  /// (3 ms vs 85 us per small scan measured here). Empty: $MUGAI_SCAN_TMPDIR, else /dev/shm when
  /// writable, else libclamav's default ($TMPDIR or /tmp).
  std::string tmpdir;
  /// Called for every file libclamav inspects (from the scanning thread; must not throw). Tests
  /// count with it how often the same bytes reach libclamav. Not sent to the scanner process.
  std::function<void(const ScanLayer&)> on_layer;
};

/// Builds and compiles a libclamav engine. On failure returns nullptr and sets *error.
std::shared_ptr<const Scanner> makeClamavScanner(const ClamavOptions& options, std::string* error);

}  // namespace mugai
