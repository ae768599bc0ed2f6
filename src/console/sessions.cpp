#include "src/console/sessions.h"

#include <sodium.h>

#include <algorithm>

namespace mugai::console {

std::string randomToken() {
  unsigned char b[32];
  randombytes_buf(b, sizeof b);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, b, sizeof b);
  return hex;
}

bool tokensEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Session Sessions::create(std::int64_t now) {
  Session s;
  s.token = randomToken();
  s.csrf = randomToken();
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
  std::lock_guard lock(mu_);
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return std::nullopt;
  if (now - it->second.last_seen > idle_) {
    by_token_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen = now;
  return it->second;
}

std::optional<Session> Sessions::login(const std::string& old_token, const std::string& login,
                                       const std::string& source,
                                       std::optional<vault::User> ldap_user, std::int64_t now) {
  Session s = create(now);
  s.login = login;
  s.source = source;
  s.ldap_user = std::move(ldap_user);
  std::lock_guard lock(mu_);
  by_token_.erase(old_token);
  by_token_[s.token] = s;
  return s;
}

void Sessions::remove(const std::string& token) {
  std::lock_guard lock(mu_);
  by_token_.erase(token);
}

void Sessions::removeLogin(const std::string& login) {
  std::lock_guard lock(mu_);
  std::erase_if(by_token_, [&](const auto& kv) { return kv.second.login == login; });
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
