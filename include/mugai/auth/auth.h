/**
 * @file auth.h
 * @brief Sender authentication on the original bytes, before anything is rewritten: SPF
 *        (libspf2), DKIM (libopendkim, every signature), DMARC (libopendmarc), with one caching
 *        DNS resolver shared by the three: the in-process implementation of the port
 *        (mugai/auth/authenticator.h). Linked into `mugai-auth` (its own process, sandboxed, with
 *        DNS), the tests and the bench, never into `mugai` (docs/dependencies.md: licences);
 *        the result travels to the engine in the Envelope (mugai/auth/sender_auth.h).
 *
 * Trust: the message is hostile: it is only given to the libraries' parsers, bounded by the
 *        message size the ingress accepted. The DNS answers are the Internet's, parsed by libresolv and the libraries.
 * Limits: each DNS query waits at most `auth_dns_timeout_s` per attempt (two attempts); after
 *         `auth_time_limit_s` of one check no new query is sent (temperror); the cache holds at
 *         most `auth_dns_cache_limit` answers, each for its TTL, at most `auth_dns_ttl_max_s`;
 *         lookups per SPF check are bounded by libspf2 (RFC 7208's 10), DKIM signatures
 *         verified per message to 8 (the rest are ignored).
 * Errors: never throws, never blocks mail by itself: a DNS failure is `temperror` for the
 *         method that needed it; a library failure is `temperror` too (logged by the caller).
 */
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/auth/authenticator.h"

namespace mugai::auth {

/// One DNS reply as the server sent it (what libopendkim wants), or no reply at all.
struct DnsAnswer {
  int rcode = -1;   ///< -1: no reply (timeout, network); else the DNS RCODE (0, 3 = NXDOMAIN, ...)
  std::string raw;  ///< the whole reply message
  bool cached = false;
};

/// A caching stub resolver over libresolv (res_nsend) that asks one configurable nameserver.
/// Thread-safe. Positive and NXDOMAIN/NODATA answers are cached for their TTL (bounded);
/// failures (no reply, SERVFAIL) are not, so the next message asks again.
class Resolver {
 public:
  explicit Resolver(DnsSettings settings);
  ~Resolver();
  DnsAnswer query(std::string_view name, int type) const;
  /// The TXT strings of `name` (each record's strings joined); `status` 0 ok (possibly empty:
  /// NXDOMAIN/NODATA), -1 no reply/server failure.
  std::vector<std::string> txt(std::string_view name, int& status) const;
  const DnsSettings& settings() const { return settings_; }
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }
  std::uint64_t sent() const { return sent_; }  ///< queries actually sent (misses within a deadline)

 private:
  struct Cache;
  DnsSettings settings_;
  std::unique_ptr<Cache> cache_;
  mutable std::atomic<std::uint64_t> hits_{0}, misses_{0}, sent_{0};
};

/// While alive, the calling thread's queries stop being sent `seconds` from now (the check's
/// DNS budget); nests, restoring the outer deadline.
class DnsDeadline {
 public:
  explicit DnsDeadline(unsigned seconds);
  ~DnsDeadline();
  DnsDeadline(const DnsDeadline&) = delete;
  DnsDeadline& operator=(const DnsDeadline&) = delete;

 private:
  std::chrono::steady_clock::time_point previous_;
};

/// The three libraries in this process (the executable `mugai-auth`, the tests of src/auth, the
/// bench). Thread-safe: one for all of a process's checks (its resolver cache is shared).
class InProcessAuthenticator final : public Authenticator {
 public:
  explicit InProcessAuthenticator(Settings settings);
  ~InProcessAuthenticator() override;

  SenderAuth check(std::string_view raw, const Peer& peer) const override;
  const Resolver& resolver() const { return *resolver_; }

 private:
  struct Dkim;
  std::unique_ptr<Resolver> resolver_;
  std::unique_ptr<Dkim> dkim_;
};

/// The RFC5322.From domain of a raw message (lower case), "" when there is not exactly one
/// From field with one address. Exposed for tests.
std::string fromDomain(std::string_view raw);

}  // namespace mugai::auth
