// BENCH ONLY: the `discard:` vault (bench/smtp_bench.sh's "vault off" column). It keeps nothing:
// put() answers stored without writing, so the bench can show what the vault write costs beside
// the real one in the same run. The product has no vault-off mode and must not get one: openVault
// refuses `discard:` unless the environment says MUGAI_BENCH_DISCARD_VAULT=bench/smtp_bench.sh
// (only the bench sets it), and serve logs a warning when it runs on it. docs/vault.md.
#pragma once

#include <memory>
#include <string>

#include "mugai/vault/vault.h"

namespace mugai::vault {

/// The value of MUGAI_BENCH_DISCARD_VAULT that lets openVault open `discard:`.
inline constexpr const char* kBenchDiscardToken = "bench/smtp_bench.sh";

std::unique_ptr<Vault> openDiscardVault(const std::string& url, std::string* error);

}  // namespace mugai::vault
