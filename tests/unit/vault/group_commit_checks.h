// Group commit on a real database, the same checks on both backends (vault_test.cpp runs them on
// SQLite, pg_vault_test.cpp on a throwaway PostgreSQL): many sessions writing at once each get a
// durable record (read back through a second vault), and a commit the database refuses fails the
// records it held, never stores one whose put() failed and never loses one whose put() succeeded.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mugai/vault/vault.h"

namespace mugai::test::group_commit {

namespace mv = mugai::vault;
using Open = std::function<std::unique_ptr<mv::Vault>()>;

inline mv::NewRecord record(const std::string& id, std::size_t size, unsigned seed) {
  mv::NewRecord r;
  r.id = id;
  r.kind = "mail";
  r.created = 1000;
  r.envelope.sender = "partner@example.co.jp";
  r.envelope.recipients = {"tanaka@city.example.lg.jp"};
  r.subject = "見積書 " + id;
  r.verdict = "sanitized";
  r.reason = "cdr.rebuilt";
  r.reasons = {"cdr.rebuilt"};
  r.report_json = "{}";
  std::mt19937 g(seed);
  r.original.resize(size);
  for (auto& c : r.original) c = static_cast<char>(g());  // incompressible, as a JPEG is
  r.tier = mv::Tier::Approval;
  return r;
}

/// `threads` sessions put `each` records at once (one of them also the id of a record stored
/// before, refused on its own); all others are stored, byte for byte, in one audit chain.
inline void concurrentWritersAreDurable(const Open& open, int threads, int each) {
  auto v = open();
  std::string err;
  REQUIRE(v->put(record("dup", 1000, 1), &err));
  std::atomic<int> failed{0};
  std::string dup_error;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        std::string e;
        if (!v->put(record("r" + std::to_string(t) + "-" + std::to_string(i), 200000, t * 100 + i), &e)) ++failed;
        if (t == 0 && i == each / 2 && !v->put(record("dup", 1000, 2), &dup_error)) ++failed;
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(failed == 1);  // the duplicate alone
  CHECK(dup_error.find("exists already") != std::string::npos);
  auto w = open();  // a second connection: what was committed
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < each; ++i) {
      const std::string id = "r" + std::to_string(t) + "-" + std::to_string(i);
      std::string bytes;
      INFO(id);
      REQUIRE(w->original(id, bytes, &err));
      CHECK(bytes == record(id, 200000, t * 100 + i).original);
    }
  }
  std::string dup;
  REQUIRE(w->original("dup", dup, &err));
  CHECK(dup == record("dup", 1000, 1).original);  // the first one, not overwritten
  const auto check = w->verifyAudit();
  CHECK(check.ok);
  CHECK(check.rows == static_cast<std::int64_t>(threads * each + 1));
}

/// `poison(v, id)` arranges that the commit of any transaction holding record `id` fails (a
/// deferred constraint, checked by the database at COMMIT). Many sessions write at once, one of
/// them the poisoned record: it fails, and with it whichever records shared its group; every
/// put() that returned true is stored and every one that returned false is not; the vault goes on.
inline void aFailedCommitFailsItsGroup(const Open& open,
                                       const std::function<void(const std::string&)>& poison,
                                       int threads, int each) {
  auto v = open();
  poison("poisoned");
  std::vector<std::vector<bool>> ok(threads, std::vector<bool>(each, false));
  std::vector<std::string> poison_error(1);
  bool poison_ok = true;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        std::string e;
        ok[t][i] = v->put(record("p" + std::to_string(t) + "-" + std::to_string(i), 100000, t * 100 + i), &e);
        if (t == 0 && i == each / 2) poison_ok = v->put(record("poisoned", 100000, 9), &poison_error[0]);
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK_FALSE(poison_ok);
  CHECK_FALSE(poison_error[0].empty());
  auto w = open();
  std::string err;
  CHECK_FALSE(w->get("poisoned", &err));
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < each; ++i) {
      const std::string id = "p" + std::to_string(t) + "-" + std::to_string(i);
      INFO(id);
      CHECK(static_cast<bool>(w->get(id, &err)) == ok[t][i]);  // the answer is what is stored
    }
  }
  // The vault's connection is not left inside a transaction: the next record is stored.
  REQUIRE(v->put(record("after", 1000, 3), &err));
  CHECK(w->get("after", &err));
  CHECK(w->verifyAudit().ok);
}

}  // namespace mugai::test::group_commit
