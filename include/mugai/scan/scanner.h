/**
 * @file scanner.h
 * @brief Scanner port (antivirus). The libclamav adapter lives in src/scan/.
 *
 * Trust: input bytes are hostile; the name hint is sender-controlled and used only for logs.
 * Limits: engine limits come from Limits (scan_max_*); reaching one is Incomplete, never Clean.
 * Errors: never throws; engine errors are ScanResult::Status::Error.
 */
#pragma once

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
};

struct ClamavOptions {
  std::vector<std::string> signature_paths;  ///< files or directories (.ndb .hdb .yara .cvd ...)
  bool include_system_db = true;             ///< also load the freshclam directory when present
  Limits limits;                             ///< scan_max_* are applied to the engine
  /// Scratch folder for libclamav (CL_ENGINE_TMPDIR): it makes one per scan, so a tmpfs matters
  /// (3 ms vs 85 us per small scan measured here). Empty: $MUGAI_SCAN_TMPDIR, else /dev/shm when
  /// writable, else libclamav's default ($TMPDIR or /tmp).
  std::string tmpdir;
};

/// Builds and compiles a libclamav engine. On failure returns nullptr and sets *error.
std::shared_ptr<const Scanner> makeClamavScanner(const ClamavOptions& options, std::string* error);

}  // namespace mugai
