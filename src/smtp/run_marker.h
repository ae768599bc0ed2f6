/**
 * @file run_marker.h
 * @brief Whether the previous `mugai serve` stopped cleanly, and a second one on the same state
 *        folder.
 *
 * The run marker STATE_DIR/.mugai-run/serve says "state=running pid=N started=T" while a service
 * runs and "state=stopped" after a clean stop; a flock on it tells a live holder from a dead one.
 * After a SIGKILL (or a crash, or a drain that timed out) the next start says so. Nothing needs
 * reconciling: a vault record and its original are one transaction (SQLite's WAL or PostgreSQL
 * rolls back what was not committed), and an attempt the killed run recorded but never answered
 * is retried by its client with its own copy (docs/vault.md: after a SIGKILL).
 *
 * Trust: the folder is ours.
 * Errors: reported in the returned lines; nothing throws.
 */
#pragma once

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
  /// cleanly. When another live process holds the marker, the line says so.
  std::vector<std::string> start(const std::string& dir);
  /// Writes state=stopped (a clean stop); the destructor does not.
  void stopped();

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace mugai::smtp
