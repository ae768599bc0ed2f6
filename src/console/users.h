// Local console accounts (`mugai console user add|passwd|disable|enable|list`) and the LDAP users
// seen at log-in, in one small SQLite file beside the vault (docs/console.md, "Accounts").
//
// Why a file of its own and not a table in the vault: the vault's interface (vault.h) is about
// originals and their release, shared by serve, the release runner and two backends; passwords
// are the console's alone and need neither the audit chain nor PostgreSQL. Every account action
// is still audited in the vault by the caller (appendAudit).
// Trust: logins are checked ([a-z0-9._@-], 1..64); passwords are hashed with Argon2id
//        (libsodium crypto_pwhash_str, "interactive" limits) and never stored or logged.
// Errors: false with *error ("accounts: ...").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mugai/vault/directory.h"

struct sqlite3;

namespace mugai::console {

struct Account {
  std::string login;
  bool disabled = false;
  std::int64_t created = 0;
};

class UserStore {
 public:
  static std::unique_ptr<UserStore> open(const std::string& path, std::string* error);
  ~UserStore();

  static bool validLogin(const std::string& login);
  bool add(const std::string& login, const std::string& password, std::string* error);
  bool setPassword(const std::string& login, const std::string& password, std::string* error);
  bool setDisabled(const std::string& login, bool disabled, std::string* error);
  std::optional<Account> find(const std::string& login);
  bool list(std::vector<Account>& out, std::string* error);
  /// True when the login exists, is enabled and the password matches (constant-time verify).
  bool verify(const std::string& login, const std::string& password);

  /// LDAP users as their last log-in mapped them (role, groups, mail), so that a request made by
  /// one can be decided later; `disabled` mirrors a failed lookup.
  bool rememberLdapUser(const vault::User& user, std::string* error);
  std::optional<vault::User> ldapUser(const std::string& login);
  bool ldapUsers(std::vector<vault::User>& out);

  /// Logged-in console sessions (sessions.h), keyed by the SHA-256 of their token: a restart of
  /// the console keeps them. `key` is storedSessionKey(token).
  struct StoredSession {
    std::string login, source;
    std::int64_t created = 0, last_seen = 0;
  };
  bool saveSession(const std::string& key, const StoredSession& s);
  std::optional<StoredSession> session(const std::string& key);
  void touchSession(const std::string& key, std::int64_t last_seen);
  void removeSession(const std::string& key);
  void removeSessionsOf(const std::string& login);
  /// Forgets sessions idle since before `before` (unix seconds).
  void removeIdleSessions(std::int64_t before);

 private:
  explicit UserStore(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

/// At least 10 characters (the console refuses shorter ones).
bool passwordStrongEnough(const std::string& password, std::string* why);

}  // namespace mugai::console
