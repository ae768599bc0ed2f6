// The bench-only discard: vault (src/vault/discard_vault.h): refused as a product setting, and
// keeping nothing when the bench opens it.
#include <cstdlib>

#include <catch2/catch.hpp>
#include <string>

#include "mugai/vault/vault.h"

namespace mv = mugai::vault;

TEST_CASE("vault: discard: is refused unless the bench's variable is set, and then keeps nothing",
          "[vault][bench]") {
  unsetenv("MUGAI_BENCH_DISCARD_VAULT");
  std::string err;
  CHECK_FALSE(mv::openVault("discard:", &err));
  CHECK(err.find("not a product setting") != std::string::npos);
  for (const char* v : {"1", "yes", "", "bench/smtp_bench.sh "}) {
    setenv("MUGAI_BENCH_DISCARD_VAULT", v, 1);
    err.clear();
    CHECK_FALSE(mv::openVault("discard:", &err));
    CHECK_FALSE(err.empty());
  }
  setenv("MUGAI_BENCH_DISCARD_VAULT", "bench/smtp_bench.sh", 1);
  CHECK_FALSE(mv::openVault("discard:/tmp/x", &err));  // nothing to name: the URL is exactly discard:
  auto v = mv::openVault("discard:", &err);
  unsetenv("MUGAI_BENCH_DISCARD_VAULT");
  REQUIRE(v);
  CHECK(v->url() == "discard:");
  mv::NewRecord r;
  r.id = "bench-1";
  r.kind = "mail";
  r.original = "kept nowhere";
  CHECK(v->put(r, &err));
  CHECK_FALSE(v->get("bench-1", &err));
  std::string bytes;
  CHECK_FALSE(v->original("bench-1", bytes, &err));
  mv::Usage u;
  REQUIRE(v->usage(u, &err));
  CHECK(u.records == 0);
  mv::ReleaseJob job;
  CHECK_FALSE(v->queueRelease(mv::ReleaseOrder{}, "a", "security_admin", job, &err));
}
