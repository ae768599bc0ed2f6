#include "src/console/users.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <mutex>

namespace mugai::console {
namespace {

std::mutex g_mu;  // one store per process; sqlite3 is opened FULLMUTEX as well

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool fail(std::string* error, const std::string& what) {
  if (error) *error = "accounts: " + what;
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "\n") + x;
  return s;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b < s.size()) {
    std::size_t e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  int step() { return s ? sqlite3_step(s) : SQLITE_ERROR; }
  std::string text(int c) {
    auto* t = sqlite3_column_text(s, c);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  }
  std::int64_t i64(int c) { return sqlite3_column_int64(s, c); }
};

bool hashPassword(const std::string& password, std::string& out) {
  char buf[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(buf, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return false;
  }
  out = buf;
  return true;
}

}  // namespace

bool passwordStrongEnough(const std::string& password, std::string* why) {
  if (password.size() < 10) {
    if (why) *why = "a password has at least 10 characters / パスワードは10文字以上にしてください";
    return false;
  }
  if (password.size() > 1024) {
    if (why) *why = "a password has at most 1024 bytes";
    return false;
  }
  return true;
}

std::unique_ptr<UserStore> UserStore::open(const std::string& path, std::string* error) {
  if (sodium_init() < 0) {
    fail(error, "libsodium does not initialise");
    return nullptr;
  }
  sqlite3* db = nullptr;
  const mode_t old = umask(077);  // password hashes: owner only
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
                               SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  umask(old);
  if (rc != SQLITE_OK) {
    fail(error, "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close_v2(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 10000);
  char* msg = nullptr;
  const char* schema =
      "PRAGMA journal_mode = WAL;"
      "CREATE TABLE IF NOT EXISTS accounts(login TEXT PRIMARY KEY, hash TEXT NOT NULL,"
      " disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS ldap_users(login TEXT PRIMARY KEY, role TEXT NOT NULL,"
      " groups TEXT NOT NULL, emails TEXT NOT NULL, seen INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS sessions(key TEXT PRIMARY KEY, login TEXT NOT NULL,"
      " source TEXT NOT NULL, created INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
      "CREATE INDEX IF NOT EXISTS sessions_login ON sessions(login);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, &msg) != SQLITE_OK) {
    fail(error, "cannot set up " + path + ": " + (msg ? msg : "?"));
    sqlite3_free(msg);
    sqlite3_close_v2(db);
    return nullptr;
  }
  return std::unique_ptr<UserStore>(new UserStore(db));
}

UserStore::~UserStore() { sqlite3_close_v2(db_); }

bool UserStore::validLogin(const std::string& login) {
  if (login.empty() || login.size() > 64) return false;
  for (char c : login) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool UserStore::add(const std::string& login, const std::string& password, std::string* error) {
  if (!validLogin(login)) return fail(error, "'" + login + "' is not a login ([a-z0-9._@-], 1-64)");
  std::string why, hash;
  if (!passwordStrongEnough(password, &why)) return fail(error, why);
  if (!hashPassword(password, hash)) return fail(error, "Argon2id failed (out of memory?)");
  std::lock_guard lock(g_mu);
  Stmt s(db_, "INSERT INTO accounts(login, hash, created) VALUES (?1, ?2, ?3)");
  s.bind(1, login).bind(2, hash).bind(3, now());
  if (s.step() != SQLITE_DONE) {
    return fail(error, sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY
                           ? "'" + login + "' exists already"
                           : std::string(sqlite3_errmsg(db_)));
  }
  return true;
}

bool UserStore::setPassword(const std::string& login, const std::string& password,
                            std::string* error) {
  std::string why, hash;
  if (!passwordStrongEnough(password, &why)) return fail(error, why);
  if (!hashPassword(password, hash)) return fail(error, "Argon2id failed (out of memory?)");
  std::lock_guard lock(g_mu);
  Stmt s(db_, "UPDATE accounts SET hash = ?2 WHERE login = ?1");
  s.bind(1, login).bind(2, hash);
  if (s.step() != SQLITE_DONE) return fail(error, sqlite3_errmsg(db_));
  if (sqlite3_changes(db_) != 1) return fail(error, "no account '" + login + "'");
  return true;
}

bool UserStore::setDisabled(const std::string& login, bool disabled, std::string* error) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "UPDATE accounts SET disabled = ?2 WHERE login = ?1");
  s.bind(1, login).bind(2, std::int64_t{disabled ? 1 : 0});
  if (s.step() != SQLITE_DONE) return fail(error, sqlite3_errmsg(db_));
  if (sqlite3_changes(db_) != 1) return fail(error, "no account '" + login + "'");
  return true;
}

std::optional<Account> UserStore::find(const std::string& login) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "SELECT login, disabled, created FROM accounts WHERE login = ?1");
  s.bind(1, login);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return Account{s.text(0), s.i64(1) != 0, s.i64(2)};
}

bool UserStore::list(std::vector<Account>& out, std::string* error) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "SELECT login, disabled, created FROM accounts ORDER BY login");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.i64(1) != 0, s.i64(2)});
  return rc == SQLITE_DONE || fail(error, sqlite3_errmsg(db_));
}

bool UserStore::verify(const std::string& login, const std::string& password) {
  std::string hash;
  bool disabled = true;
  {
    std::lock_guard lock(g_mu);
    Stmt s(db_, "SELECT hash, disabled FROM accounts WHERE login = ?1");
    s.bind(1, login);
    if (s.step() == SQLITE_ROW) {
      hash = s.text(0);
      disabled = s.i64(1) != 0;
    }
  }
  if (hash.empty()) {
    // Same work for an unknown login, so the answer time does not say which logins exist.
    std::string dummy;
    hashPassword(password, dummy);
    return false;
  }
  const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return ok && !disabled;
}

bool UserStore::rememberLdapUser(const vault::User& u, std::string* error) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "INSERT INTO ldap_users(login, role, groups, emails, seen) VALUES (?1,?2,?3,?4,?5) "
              "ON CONFLICT(login) DO UPDATE SET role = excluded.role, groups = excluded.groups, "
              "emails = excluded.emails, seen = excluded.seen");
  s.bind(1, u.login).bind(2, std::string(vault::roleName(u.role))).bind(3, join(u.groups));
  s.bind(4, join(u.emails)).bind(5, now());
  return s.step() == SQLITE_DONE || fail(error, sqlite3_errmsg(db_));
}

namespace {
vault::Role roleFrom(const std::string& s) {
  using vault::Role;
  for (Role r : {Role::Staff, Role::Approver, Role::SecurityAdmin, Role::Auditor}) {
    if (s == vault::roleName(r)) return r;
  }
  return Role::Staff;
}
}  // namespace

std::optional<vault::User> UserStore::ldapUser(const std::string& login) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "SELECT login, role, groups, emails FROM ldap_users WHERE login = ?1");
  s.bind(1, login);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  vault::User u;
  u.login = s.text(0);
  u.role = roleFrom(s.text(1));
  u.groups = split(s.text(2));
  u.emails = split(s.text(3));
  return u;
}

bool UserStore::ldapUsers(std::vector<vault::User>& out) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "SELECT login, role, groups, emails FROM ldap_users ORDER BY login");
  while (s.step() == SQLITE_ROW) {
    vault::User u;
    u.login = s.text(0);
    u.role = roleFrom(s.text(1));
    u.groups = split(s.text(2));
    u.emails = split(s.text(3));
    out.push_back(std::move(u));
  }
  return true;
}

bool UserStore::saveSession(const std::string& key, const StoredSession& x) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "INSERT OR REPLACE INTO sessions(key, login, source, created, last_seen) "
              "VALUES (?1,?2,?3,?4,?5)");
  s.bind(1, key).bind(2, x.login).bind(3, x.source).bind(4, x.created).bind(5, x.last_seen);
  return s.step() == SQLITE_DONE;
}

std::optional<UserStore::StoredSession> UserStore::session(const std::string& key) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "SELECT login, source, created, last_seen FROM sessions WHERE key = ?1");
  s.bind(1, key);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return StoredSession{s.text(0), s.text(1), s.i64(2), s.i64(3)};
}

void UserStore::touchSession(const std::string& key, std::int64_t last_seen) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "UPDATE sessions SET last_seen = ?2 WHERE key = ?1");
  s.bind(1, key).bind(2, last_seen);
  s.step();
}

void UserStore::removeSession(const std::string& key) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "DELETE FROM sessions WHERE key = ?1");
  s.bind(1, key);
  s.step();
}

void UserStore::removeSessionsOf(const std::string& login) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "DELETE FROM sessions WHERE login = ?1");
  s.bind(1, login);
  s.step();
}

void UserStore::removeIdleSessions(std::int64_t before) {
  std::lock_guard lock(g_mu);
  Stmt s(db_, "DELETE FROM sessions WHERE last_seen < ?1");
  s.bind(1, before);
  s.step();
}

}  // namespace mugai::console
