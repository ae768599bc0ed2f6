// What a test reads back from a vault: the records of sqlite:DIR/vault.db as text, their
// originals. Tests assert on what the disposition layer stored, through the vault's own API.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mugai/vault/vault.h"

namespace mugai::test {

inline std::unique_ptr<vault::Vault> openTestVault(const std::string& url) {
  std::string err;
  auto v = vault::openVault(url, &err);
  INFO(err);
  REQUIRE(v);
  return v;
}

/// The vault of a state folder (the default sqlite:STATE_DIR/vault.db).
inline std::string stateVault(const std::string& state_dir) {
  return "sqlite:" + state_dir + "/vault.db";
}

/// Every record, newest first (at most 10,000).
inline std::vector<vault::RecordInfo> vaultRecords(const std::string& url) {
  auto v = openTestVault(url);
  vault::Query q;
  q.limit = 10000;
  std::vector<vault::RecordInfo> out;
  std::string err;
  INFO(err);
  REQUIRE(v->list(q, out, &err));
  return out;
}

/// One block per record: "id=... kind=... verdict=... reason=... tier=... source=...
/// delivered=... size=N\n", one "object PART WHAT ACTION REASON SHA256" line per object, then the
/// report JSON on its own line.
inline std::string vaultText(const std::string& url) {
  auto v = openTestVault(url);
  std::string all, err;
  for (const auto& info : vaultRecords(url)) {
    auto r = v->get(info.id, &err);
    REQUIRE(r);
    all += "id=" + r->id + " kind=" + r->kind + " verdict=" + r->verdict + " reason=" + r->reason +
           " tier=" + vault::tierName(r->tier) + " source=" + r->envelope.source +
           " delivered=" + r->delivered_id + " size=" + std::to_string(r->size) + "\n";
    for (const auto& o : r->objects) {
      all += "object " + o.part + " " + o.what + " " + o.action + " " + o.reason + " " + o.sha256 +
             "\n";
    }
    all += v->report(info.id, &err).value_or("") + "\n";
  }
  return all;
}

inline std::string vaultOriginal(const std::string& url, const std::string& id) {
  auto v = openTestVault(url);
  std::string bytes, err;
  INFO(err);
  REQUIRE(v->original(id, bytes, &err));
  return bytes;
}

}  // namespace mugai::test
