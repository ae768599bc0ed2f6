/**
 * @file authenticator.h
 * @brief The sender-authentication port: SPF, DKIM and DMARC of one message's original bytes,
 *        as the ingress (src/smtp/gateway.cpp, `mugai mail --authenticate`) asks for it.
 *
 * Two implementations: InProcessAuthenticator (mugai/auth/auth.h: libspf2, libopendkim,
 * libopendmarc in this process; the executable `mugai-auth`, the tests of src/auth and the
 * bench) and the remote one (src/authclient/remote_authenticator.h: the `mugai` executable,
 * which asks the process `mugai-auth` and links none of the three libraries; licence:
 * docs/dependencies.md).
 *
 * Trust: the message is hostile; the Settings are the admin's.
 * Limits: an implementation bounds its own DNS and time (auth.h; the remote one waits at most
 *         remoteReplyTimeoutMs(settings) for a reply).
 * Errors: check() never throws and never blocks mail by itself: what it could not find out is
 *         `temperror` for the method concerned (RFC 8601 2.7).
 */
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mugai/auth/sender_auth.h"

namespace mugai::auth {

struct DnsSettings {
  /// "" = the system resolver (/etc/resolv.conf); else "IP" or "IP:PORT" (IPv4), e.g. a local
  /// unbound on 127.0.0.1:5353 in the tests.
  std::string nameserver;
  unsigned timeout_s = 2;
  unsigned cache_limit = 10000;
  unsigned ttl_max_s = 3600;
  /// All of one check's DNS: once this much time has passed, no further query is sent.
  unsigned time_limit_s = 10;
};

struct Settings {
  std::string authserv_id;
  std::vector<std::string> trusted_authserv_ids;
  DnsSettings dns;
  /// The public suffix list DMARC uses for organizational domains (Debian's publicsuffix).
  std::string public_suffix_list = "/usr/share/publicsuffix/public_suffix_list.dat";
};

/// Who handed the message over (from the SMTP session, XFORWARD's when the front MTA sent it).
struct Peer {
  std::string mail_from;    ///< envelope sender, may be empty (bounce)
  std::string helo;
  std::string client_addr;  ///< IPv4 or IPv6 literal
};

class Authenticator {
 public:
  explicit Authenticator(Settings settings) : settings_(std::move(settings)) {}
  virtual ~Authenticator() = default;
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  /// SPF, every DKIM signature and DMARC for `raw` (the original bytes). Never throws.
  virtual SenderAuth check(std::string_view raw, const Peer& peer) const = 0;
  const Settings& settings() const { return settings_; }

 protected:
  Settings settings_;
};

}  // namespace mugai::auth
