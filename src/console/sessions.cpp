#include "src/console/sessions.h"

#include <sodium.h>

#include "src/console/users.h"

#include <algorithm>

namespace mugai::console {

std::string randomToken() {
  unsigned char b[32];
  randombytes_buf(b, sizeof b);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, b, sizeof b);
  return hex;
}

namespace {
std::string sha256Hex(const std::string& domain, const std::string& token) {
  const std::string in = domain + "\n" + token;
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(in.data()), in.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}
}  // namespace

std::string csrfFor(const std::string& token) { return sha256Hex("mugai-console-csrf", token); }
std::string storedSessionKey(const std::string& token) {
  return sha256Hex("mugai-console-session", token);
}

bool tokensEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Session Sessions::create(std::int64_t now) {
  Session s;
  s.token = randomToken();
  s.csrf = csrfFor(s.token);
  s.created = s.last_seen = now;
  std::lock_guard lock(mu_);
  sweep(now);
  if (by_token_.size() >= max_) {
    // Full: drop the anonymous (log-in form) sessions first, then the oldest.
    std::erase_if(by_token_, [](const auto& kv) { return kv.second.login.empty(); });
    while (by_token_.size() >= max_) {
      auto oldest = std::min_element(by_token_.begin(), by_token_.end(), [](auto& x, auto& y) {
        return x.second.last_seen < y.second.last_seen;
      });
      by_token_.erase(oldest);
    }
  }
  by_token_[s.token] = s;
  return s;
}

std::optional<Session> Sessions::find(const std::string& token, std::int64_t now) {
  if (token.size() != 64) return std::nullopt;  // not one of ours: no store lookup
  std::unique_lock lock(mu_);
  auto it = by_token_.find(token);
  if (it == by_token_.end()) {
    lock.unlock();
    return restore(token, now);
  }
  if (now - it->second.last_seen > idle_) {
    const bool stored = !it->second.login.empty();
    by_token_.erase(it);
    lock.unlock();
    if (stored && store_) store_->removeSession(storedSessionKey(token));
    return std::nullopt;
  }
  it->second.last_seen = now;
  Session s = it->second;
  // The store's last_seen is written at most once a minute (not on every page).
  const bool write = store_ && !s.login.empty() && now - s.saved_seen >= 60;
  if (write) it->second.saved_seen = now;
  lock.unlock();
  if (write) store_->touchSession(storedSessionKey(token), now);
  return s;
}

std::optional<Session> Sessions::restore(const std::string& token, std::int64_t now) {
  if (!store_) return std::nullopt;
  const std::string key = storedSessionKey(token);
  auto stored = store_->session(key);
  if (!stored) return std::nullopt;
  if (now - stored->last_seen > idle_) {
    store_->removeSession(key);
    return std::nullopt;
  }
  Session s;
  s.token = token;
  s.csrf = csrfFor(token);
  s.login = stored->login;
  s.source = stored->source;
  s.created = stored->created;
  s.last_seen = s.saved_seen = now;
  if (s.source == "ldap") {
    // As LDAP mapped them at their last log-in (remembered in the same file); gone: no session.
    s.ldap_user = store_->ldapUser(s.login);
    if (!s.ldap_user) {
      store_->removeSession(key);
      return std::nullopt;
    }
  }
  store_->touchSession(key, now);
  std::lock_guard lock(mu_);
  by_token_[token] = s;
  return s;
}

std::optional<Session> Sessions::login(const std::string& old_token, const std::string& login,
                                       const std::string& source,
                                       std::optional<vault::User> ldap_user, std::int64_t now) {
  Session s = create(now);
  s.login = login;
  s.source = source;
  s.ldap_user = std::move(ldap_user);
  s.saved_seen = now;
  {
    std::lock_guard lock(mu_);
    by_token_.erase(old_token);
    by_token_[s.token] = s;
  }
  if (store_) {
    store_->removeIdleSessions(now - idle_);
    store_->removeSession(storedSessionKey(old_token));
    store_->saveSession(storedSessionKey(s.token), {login, source, now, now});
  }
  return s;
}

void Sessions::remove(const std::string& token) {
  {
    std::lock_guard lock(mu_);
    by_token_.erase(token);
  }
  if (store_) store_->removeSession(storedSessionKey(token));
}

void Sessions::removeLogin(const std::string& login) {
  {
    std::lock_guard lock(mu_);
    std::erase_if(by_token_, [&](const auto& kv) { return kv.second.login == login; });
  }
  if (store_) store_->removeSessionsOf(login);
}

void Sessions::sweep(std::int64_t now) {
  std::erase_if(by_token_, [&](const auto& kv) { return now - kv.second.last_seen > idle_; });
}

unsigned Throttle::count(std::vector<std::int64_t>& v, std::int64_t now, std::int64_t window) {
  std::erase_if(v, [&](std::int64_t t) { return now - t >= window; });
  return static_cast<unsigned>(v.size());
}

bool Throttle::allowed(const std::string& login, const std::string& address, std::int64_t now) {
  std::lock_guard lock(mu_);
  return count(logins_[login], now, window_) < per_login_ &&
         count(addresses_[address], now, window_) < per_address_;
}

void Throttle::failed(const std::string& login, const std::string& address, std::int64_t now) {
  std::lock_guard lock(mu_);
  if (logins_.size() > 100000) logins_.clear();  // bounded memory under a spray of logins
  if (addresses_.size() > 100000) addresses_.clear();
  logins_[login].push_back(now);
  addresses_[address].push_back(now);
}

void Throttle::succeeded(const std::string& login) {
  std::lock_guard lock(mu_);
  logins_.erase(login);
}

}  // namespace mugai::console
