// The PostgreSQL vault backend (libpq): several gateways share one vault. See
// include/mugai/vault/vault.h and the top of pg_vault.cpp for the locking.
#pragma once

#include <memory>
#include <string>

#include "mugai/vault/vault.h"

namespace mugai::vault {

/// `url` is a libpq connection URI or string ("postgresql://mugai@db.example.lg.jp/mugai",
/// "postgresql:///mugai?host=/run/postgresql").
std::unique_ptr<Vault> openPgVault(const std::string& url, std::string* error);

}  // namespace mugai::vault
