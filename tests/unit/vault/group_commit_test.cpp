// Group commit (src/vault/group_commit.h): records that queue while a group is being written are
// written as the next group, by one leader, in one call; a group that fails fails every record in
// it, and each caller returns only once its own group is written.
#include "src/vault/group_commit.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace mi = mugai::vault::internal;

namespace {

/// A writer that holds the first group until `release()`, and records every group it is given.
class HeldWriter {
 public:
  void operator()(const std::vector<mi::Pending*>& group) {
    std::unique_lock lock(mu_);
    sizes_.push_back(group.size());
    const bool first = sizes_.size() == 1;
    if (first) cv_.wait(lock, [this] { return released_; });
    for (mi::Pending* p : group) {
      p->ok = first || !fail_later_;
      if (!p->ok) p->error = "vault: commit: disk I/O error";
    }
  }
  void release(bool fail_later) {
    std::lock_guard lock(mu_);
    released_ = true;
    fail_later_ = fail_later;
    cv_.notify_all();
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard lock(mu_);
    return sizes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  bool fail_later_ = false;
  std::vector<std::size_t> sizes_;
};

/// One record through `gc` on its own thread; `done` counts the callers that returned.
struct Caller {
  mugai::vault::NewRecord record;
  mi::Pending p;
  std::thread t;
};

void runHeld(bool fail_second, std::vector<std::size_t>& sizes, std::vector<bool>& ok) {
  mi::GroupCommit gc;
  HeldWriter w;
  const auto write = [&w](const std::vector<mi::Pending*>& g) { w(g); };
  std::vector<Caller> callers(8);
  std::atomic<int> returned{0};
  for (auto& c : callers) c.p.record = &c.record;
  // The first caller leads the first group and is held inside the write.
  callers[0].t = std::thread([&] { gc.submit(callers[0].p, write); ++returned; });
  while (w.sizes().empty()) std::this_thread::yield();
  for (std::size_t i = 1; i < callers.size(); ++i) {
    callers[i].t = std::thread([&, i] { gc.submit(callers[i].p, write); ++returned; });
  }
  while (gc.queued() < callers.size() - 1) std::this_thread::yield();
  CHECK(returned == 0);  // nobody returns before its group is written
  w.release(fail_second);
  for (auto& c : callers) c.t.join();
  sizes = w.sizes();
  for (auto& c : callers) ok.push_back(c.p.ok);
  CHECK(gc.groups() == 2);
}

}  // namespace

TEST_CASE("group commit: records queued behind a commit are written as one group", "[vault][group]") {
  std::vector<std::size_t> sizes;
  std::vector<bool> ok;
  runHeld(false, sizes, ok);
  REQUIRE(sizes == std::vector<std::size_t>{1, 7});
  for (bool b : ok) CHECK(b);
}

TEST_CASE("group commit: a group that fails fails every record in it, and only those", "[vault][group]") {
  std::vector<std::size_t> sizes;
  std::vector<bool> ok;
  runHeld(true, sizes, ok);
  REQUIRE(sizes == std::vector<std::size_t>{1, 7});
  CHECK(ok[0]);  // the first group was written before the failure
  for (std::size_t i = 1; i < ok.size(); ++i) CHECK_FALSE(ok[i]);
}

TEST_CASE("group commit: a lone record is written at once, by its own caller", "[vault][group]") {
  mi::GroupCommit gc;
  mugai::vault::NewRecord r;
  for (int i = 0; i < 3; ++i) {
    mi::Pending p;
    p.record = &r;
    std::thread::id writer;
    gc.submit(p, [&](const std::vector<mi::Pending*>& g) {
      writer = std::this_thread::get_id();
      REQUIRE(g.size() == 1);
      g[0]->ok = true;
    });
    CHECK(p.ok);
    CHECK(writer == std::this_thread::get_id());
  }
  CHECK(gc.groups() == 3);
}

TEST_CASE("group commit: a writer that throws fails its group, the next group is written", "[vault][group]") {
  mi::GroupCommit gc;
  mugai::vault::NewRecord r;
  mi::Pending a, b;
  a.record = b.record = &r;
  gc.submit(a, [](const std::vector<mi::Pending*>&) { throw std::runtime_error("boom"); });
  CHECK_FALSE(a.ok);
  CHECK_FALSE(a.error.empty());
  gc.submit(b, [](const std::vector<mi::Pending*>& g) { g[0]->ok = true; });
  CHECK(b.ok);
}
