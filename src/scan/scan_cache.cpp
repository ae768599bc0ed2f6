// The scan-result cache (scan_cache.h).
#include "src/scan/scan_cache.h"

namespace mugai::scan {

std::optional<ScanResult> ScanCache::get(const std::string& sha256) {
  if (capacity_ == 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(m_);
  auto it = index_.find(sha256);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->result;
}

void ScanCache::put(const std::string& sha256, const ScanResult& result) {
  if (capacity_ == 0 || sha256.empty()) return;
  std::lock_guard<std::mutex> lock(m_);
  auto it = index_.find(sha256);
  if (it != index_.end()) {
    it->second->result = result;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front({sha256, result});
  index_[sha256] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

std::uint64_t ScanCache::size() const {
  std::lock_guard<std::mutex> lock(m_);
  return lru_.size();
}

}  // namespace mugai::scan
