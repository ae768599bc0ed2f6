/**
 * @file store.h
 * @brief Durable, atomic file writes for outputs, reports and quarantine.
 *
 * Trust: names passed here are already safe (sanitized) names; paths are ours.
 * Limits: none.
 * Errors: functions return false and set *error (with errno text); nothing half-written remains.
 */
#pragma once

#include <string>
#include <string_view>

namespace mugai::io {

/// Writes `data` to `path` through a temporary file in the same folder: write, fsync, rename,
/// fsync the folder. Mode 0600 unless `mode` says otherwise. Replaces an existing file.
bool writeFileAtomic(const std::string& path, std::string_view data, std::string* error,
                     unsigned mode = 0600);

/// Like writeFileAtomic but never replaces: "name.ext" exists -> "name-1.ext", "name-2.ext"...
/// Returns the path written (empty on error).
std::string writeFileUnique(const std::string& dir, const std::string& name, std::string_view data,
                            std::string* error, unsigned mode = 0644);

/// Keeps an original and its report: DIR/ID.orig and DIR/ID.json (both atomic, 0600).
bool quarantineStore(const std::string& dir, const std::string& id, std::string_view original,
                     const std::string& report_json, std::string* error);

}  // namespace mugai::io
