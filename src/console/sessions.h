// Console sessions and the log-in throttle (docs/console.md, "Sessions").
//
// A session is a 256-bit random token (libsodium randombytes) held in an HttpOnly, SameSite=Strict
// cookie (Secure on HTTPS), with its CSRF token that every POST must repeat (derived from the
// session token: SHA-256 of "csrf" and the token, so it needs no storage). A session that was idle
// longer than the idle timeout is gone. Logged-in sessions are also kept in the accounts file
// (UserStore) by the SHA-256 of their token only, so a console restart keeps them; a copy of that
// file logs nobody in. A log-in form's (anonymous) session lives in memory only.
// The throttle counts failed log-ins per login and per client address in a sliding window; over
// the limit, log-in is refused without checking the password until the window has passed.
// Times are passed in (seconds), so the tests need no clock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mugai/vault/directory.h"

namespace mugai::console {

struct Session {
  std::string token, csrf;
  std::string login;           ///< empty: not logged in yet (the log-in form's CSRF only)
  std::string source;          ///< local | ldap
  std::optional<vault::User> ldap_user;  ///< as LDAP mapped them at log-in
  std::int64_t created = 0, last_seen = 0;
  std::int64_t saved_seen = 0;  ///< last_seen as written to the store (written again a minute on)
};

class UserStore;

class Sessions {
 public:
  /// `store` (may be null: memory only) keeps logged-in sessions across a restart.
  explicit Sessions(std::int64_t idle_seconds, UserStore* store = nullptr,
                    std::size_t max_sessions = 10000)
      : idle_(idle_seconds), max_(max_sessions), store_(store) {}
  /// A new session (anonymous until login() is called on it).
  Session create(std::int64_t now);
  /// The live session for `token`, touched; nullopt when unknown or idle too long (then removed).
  /// A logged-in session the store has (written before a restart) is taken back from it.
  std::optional<Session> find(const std::string& token, std::int64_t now);
  /// Logs a session in: a fresh token (no fixation), the old one is dropped.
  std::optional<Session> login(const std::string& old_token, const std::string& login,
                               const std::string& source, std::optional<vault::User> ldap_user,
                               std::int64_t now);
  void remove(const std::string& token);
  /// Ends every session of `login` (an account disabled from the console).
  void removeLogin(const std::string& login);
  std::int64_t idleSeconds() const { return idle_; }

 private:
  void sweep(std::int64_t now);
  std::optional<Session> restore(const std::string& token, std::int64_t now);
  std::mutex mu_;
  std::map<std::string, Session> by_token_;
  std::int64_t idle_;
  std::size_t max_;
  UserStore* store_;
};

class Throttle {
 public:
  Throttle(unsigned per_login, unsigned per_address, std::int64_t window_seconds)
      : per_login_(per_login), per_address_(per_address), window_(window_seconds) {}
  /// True when a log-in attempt for (login, address) may be checked now.
  bool allowed(const std::string& login, const std::string& address, std::int64_t now);
  void failed(const std::string& login, const std::string& address, std::int64_t now);
  /// A successful log-in clears the login's count (not the address's).
  void succeeded(const std::string& login);

 private:
  static unsigned count(std::vector<std::int64_t>& v, std::int64_t now, std::int64_t window);
  std::mutex mu_;
  std::map<std::string, std::vector<std::int64_t>> logins_, addresses_;
  unsigned per_login_, per_address_;
  std::int64_t window_;
};

/// 32 random bytes, hex.
std::string randomToken();
/// The CSRF token of a session token; the hash a session is stored by (never the token itself).
std::string csrfFor(const std::string& token);
std::string storedSessionKey(const std::string& token);
/// Constant-time comparison of two tokens.
bool tokensEqual(const std::string& a, const std::string& b);

}  // namespace mugai::console
