/**
 * @file scan_cache.h
 * @brief The scan-result cache of one compiled libclamav engine: SHA-256 of the bytes -> result.
 *
 * Trust: keys are SHA-256 digests of hostile bytes (collisions are not a practical concern);
 *        values are libclamav's own results, never anything the sender chose.
 * Limits: at most `capacity` entries, least recently used first out (scan_cache_entries).
 * Errors: none; capacity 0 keeps nothing.
 *
 * One cache belongs to one engine (one signature set, one set of limits and scan options): a
 * reload builds a new engine with an empty cache, so a result is never reused across signature
 * sets. Only results that do not depend on the moment are kept (Clean, Infected): limits of
 * time, errors and "cannot inspect" are asked again.
 */
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "mugai/scan/scanner.h"

namespace mugai::scan {

class ScanCache {
 public:
  explicit ScanCache(std::uint64_t capacity) : capacity_(capacity) {}
  /// The result kept for `sha256` (and it becomes the most recently used), or nullopt.
  std::optional<ScanResult> get(const std::string& sha256);
  /// Keeps `result` for `sha256`; an entry already there is refreshed.
  void put(const std::string& sha256, const ScanResult& result);
  std::uint64_t size() const;
  bool enabled() const { return capacity_ > 0; }

 private:
  struct Entry {
    std::string key;
    ScanResult result;
  };
  const std::uint64_t capacity_;
  mutable std::mutex m_;
  std::list<Entry> lru_;  // front: most recently used; guarded by m_
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;  // guarded by m_
};

}  // namespace mugai::scan
