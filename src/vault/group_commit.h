// Group commit for Vault::put (docs/vault.md, "Group commit"): the records of several sessions
// that arrive while a commit is in flight are written in one transaction with one fsync.
//
// The pattern of PostgreSQL's and InnoDB's group commit: a caller queues its record; when no
// group is being written it becomes the leader, takes every record queued so far (itself
// included), writes them in one transaction and wakes the followers; records queued meanwhile
// form the next group, whose leader is the first of them to wake. There is no timer: a lone
// record is written at once, as before. put() stays synchronous: every caller returns only once
// its own record is committed (or has failed). A group whose transaction fails (begin, a write
// the database refuses for the transaction as a whole, the commit) fails every record in it, so
// each of those sessions answers 4xx and the client retries; a record refused on its own (its id
// exists already) fails alone.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "mugai/vault/vault.h"

namespace mugai::vault::internal {

/// One record waiting for its group's commit; its original already compressed and hashed.
struct Pending {
  const NewRecord* record = nullptr;
  std::string packed;  ///< the compressed original as stored
  std::string sha;     ///< SHA-256 of the original, hex
  std::string file;    ///< the file beside the database holding `packed` (SQLite, large ones); "": none
  bool ok = false;     ///< set by the writer: committed
  std::string error;   ///< set by the writer when not
  bool done = false;   ///< the group holding it has been written (guarded by the queue's mutex)
};

/// The whole group failed: every record not already refused on its own gets `error`.
inline void failGroup(const std::vector<Pending*>& group, const std::string& error) {
  for (Pending* p : group) {
    if (p->ok || p->error.empty()) p->error = error;
    p->ok = false;
  }
}

class GroupCommit {
 public:
  /// Writes one group in one transaction; sets ok or error on each entry.
  using Writer = std::function<void(const std::vector<Pending*>& group)>;

  /// At most this many records in one group (a bound on one transaction's size; those queued
  /// beyond it wait for the next group).
  static constexpr std::size_t kMaxGroup = 64;

  /// Queues `p`, returns once the group holding it has been written (by this caller as the
  /// leader, or by another one).
  void submit(Pending& p, const Writer& write) {
    std::unique_lock lock(mu_);
    queue_.push_back(&p);
    while (!p.done) {
      if (writing_) {
        cv_.wait(lock);
        continue;
      }
      writing_ = true;  // this caller leads the next group
      const std::size_t n = std::min(queue_.size(), kMaxGroup);
      std::vector<Pending*> group(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      lock.unlock();
      try {
        write(group);
      } catch (...) {
        for (Pending* g : group) {
          g->ok = false;
          if (g->error.empty()) g->error = "vault: the group's write failed";
        }
      }
      lock.lock();
      for (Pending* g : group) g->done = true;
      ++groups_;
      writing_ = false;
      cv_.notify_all();
    }
  }

  /// Groups written so far.
  std::size_t groups() {
    std::lock_guard lock(mu_);
    return groups_;
  }

  /// Records queued behind the group being written.
  std::size_t queued() {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending*> queue_;
  bool writing_ = false;
  std::size_t groups_ = 0;
};

}  // namespace mugai::vault::internal
