/**
 * @file inflight.h
 * @brief What a killed `mugai serve` leaves in the quarantine, and how the next start finds it.
 *
 * The run marker DIR/.mugai-run/serve says "state=running pid=N started=T" while a service runs
 * and "state=stopped" after a clean stop; a flock on it tells a live holder from a dead one. The
 * gateway journals each SMTP attempt whose original it stored (DIR/.mugai-run/inflight-ID:
 * "stored", then "relaying" once the message goes to the next hop) and removes the entry when it
 * answered. The folder keeps these out of the listing of the records (ID.orig, ID.json).
 *
 * After a SIGKILL (or a crash, or a drain that timed out) the next start says so and reconciles:
 *   - temporary files (.mugai-tmp-*) older than this start: removed (half-written, never renamed);
 *   - an attempt journalled "stored": the client never got an answer and retries with its own
 *     copy, so the record is removed, as for an attempt answered 4xx (gateway.h);
 *   - an attempt journalled "relaying": the next hop may have the message, so the record stays.
 * Journal entries are written without fsync: they only need to survive the process, not the host
 * (after a power loss a record may stay twice; never one too few).
 *
 * Trust: the folder is ours; names come from newItemId() and readdir (checked against the form).
 * Errors: reported in the returned lines; nothing throws.
 */
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mugai::smtp {

class RunMarker {
 public:
  RunMarker() = default;
  ~RunMarker();
  RunMarker(const RunMarker&) = delete;
  RunMarker& operator=(const RunMarker&) = delete;

  /// Takes the marker in `dir`. Returns the log lines to write: that the previous run did not stop
  /// cleanly, and what reconcile() did. When another live process holds the marker, nothing is
  /// touched and the line says so.
  std::vector<std::string> start(const std::string& dir);
  /// Writes state=stopped (a clean stop); the destructor does not.
  void stopped();

 private:
  int fd_ = -1;
  std::string path_;
};

/// The journal of one SMTP attempt whose original is stored in the quarantine.
class Inflight {
 public:
  Inflight(std::string dir, std::string id) : dir_(std::move(dir)), id_(std::move(id)) {}
  ~Inflight() { end(); }
  Inflight(const Inflight&) = delete;
  Inflight& operator=(const Inflight&) = delete;

  void stored() { write("stored"); }      ///< before the record is written
  void relaying() { write("relaying"); }  ///< before the message goes to the next hop
  void end();                             ///< answered: the entry goes

 private:
  void write(const char* state);
  std::string dir_, id_;
  bool written_ = false;
};

/// Removes the killed run's leftovers in `dir` (see the file comment); one line per action.
/// `started`: this process's start; only temporary files older than it are removed.
std::vector<std::string> reconcileQuarantine(const std::string& dir,
                                             std::chrono::system_clock::time_point started);

}  // namespace mugai::smtp
