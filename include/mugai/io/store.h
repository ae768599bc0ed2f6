/**
 * @file store.h
 * @brief Durable, atomic file writes for outputs and reports (originals go to the vault).
 *
 * Trust: names passed here are already safe (sanitized) names; paths are ours.
 * Limits: none.
 * Errors: functions return false and set *error (with errno text); nothing half-written remains.
 */
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mugai::io {

/// Now: fsync the file and its folder before returning. Deferred: the caller makes a whole batch
/// durable at once with syncFilesystems() before relying on it (the file drop's group commit).
enum class Sync { Now, Deferred };

/// Writes `data` to `path` through a temporary file in the same folder: write, fsync, rename,
/// fsync the folder. Mode 0600 unless `mode` says otherwise. Replaces an existing file.
bool writeFileAtomic(const std::string& path, std::string_view data, std::string* error,
                     unsigned mode = 0600, Sync sync = Sync::Now);

/// Writes `data` as dir/name through a temporary file and link(): never replaces.
/// Returns 0 when written, 1 when dir/name already exists, -1 on error (*error set).
int writeFileNew(const std::string& dir, const std::string& name, std::string_view data,
                 std::string* error, unsigned mode = 0644, Sync sync = Sync::Now);

/// syncfs() once per filesystem holding one of `dirs`; false with *error when one fails.
bool syncFilesystems(const std::vector<std::string>& dirs, std::string* error);

/// Like writeFileAtomic but never replaces: "name.ext" exists -> "name-1.ext", "name-2.ext"...
/// Returns the path written (empty on error).
std::string writeFileUnique(const std::string& dir, const std::string& name, std::string_view data,
                            std::string* error, unsigned mode = 0644);

/// Writes a command's output (`mugai mail -o`, `--report`) to `path`, which the operator named:
/// "-" is standard output; a path that exists and is not a regular file (a device such as
/// /dev/null, a FIFO, also reached through a symbolic link such as /dev/stdout) is opened and
/// written to as it is, never replaced; a symbolic link to a regular file, a directory or a
/// socket is refused; anything else goes through writeFileAtomic(). False with *error.
bool writeOutput(const std::string& path, std::string_view data, std::string* error,
                 unsigned mode = 0644);

/// Removes a stale output at `path` only when it is a regular file (never a device, FIFO,
/// socket or symbolic link). Missing files are no error.
void removeStaleOutput(const std::string& path);

}  // namespace mugai::io
