// The SQLite vault backend (the embedded default): one database file, WAL, originals compressed in
// their own table beside the records. See include/mugai/vault/vault.h.
#pragma once

#include <memory>
#include <string>

#include "mugai/vault/vault.h"

namespace mugai::vault {

std::unique_ptr<Vault> openSqliteVault(const std::string& path, std::string* error);

}  // namespace mugai::vault
