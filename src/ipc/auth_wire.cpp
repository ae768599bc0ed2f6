// The authentication process's wire (auth_wire.h).
#include "src/ipc/auth_wire.h"

#include <algorithm>
#include <array>

namespace mugai::ipc {
namespace {

constexpr std::size_t kMaxField = 4096;

bool oneOf(const std::string& v, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(), [&](const char* w) { return v == w; });
}

bool resultWord(const std::string& v) {
  return oneOf(v, {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"});
}

/// Empty, or LDH labels (and '_') of at most 253 bytes in all, lower case.
bool domainText(const std::string& d) {
  if (d.size() > 253) return false;
  return std::all_of(d.begin(), d.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

/// Printable ASCII only: no CR, LF or other control byte can reach the header it goes into.
bool headerText(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

void encodeAuthSettings(WireWriter& w, const auth::Settings& s) {
  w.str(s.authserv_id);
  w.u32(static_cast<std::uint32_t>(s.trusted_authserv_ids.size()));
  for (const auto& t : s.trusted_authserv_ids) w.str(t);
  w.str(s.dns.nameserver);
  for (unsigned v : {s.dns.timeout_s, s.dns.cache_limit, s.dns.ttl_max_s, s.dns.time_limit_s}) w.u32(v);
  w.str(s.public_suffix_list);
}

bool decodeAuthSettings(WireReader& r, auth::Settings& s) {
  s.authserv_id = r.str(kMaxField);
  std::uint32_t n = r.count(256);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) s.trusted_authserv_ids.push_back(r.str(kMaxField));
  s.dns.nameserver = r.str(kMaxField);
  for (unsigned* v : {&s.dns.timeout_s, &s.dns.cache_limit, &s.dns.ttl_max_s, &s.dns.time_limit_s}) *v = r.u32();
  s.public_suffix_list = r.str(kMaxField);
  return r.atEnd();
}

void encodeAuthPeer(WireWriter& w, const auth::Peer& p) {
  for (const std::string* s : {&p.mail_from, &p.helo, &p.client_addr}) w.str(s->substr(0, kMaxField));
}

bool decodeAuthPeer(WireReader& r, auth::Peer& p) {
  for (std::string* s : {&p.mail_from, &p.helo, &p.client_addr}) *s = r.str(kMaxField);
  return r.ok();
}

std::string encodeAuthReply(const SenderAuth& a) {
  WireWriter w;
  for (const std::string* s : {&a.spf, &a.dkim, &a.dmarc, &a.dmarc_policy, &a.from_domain}) w.str(*s);
  w.str(a.results);
  return w.bytes();
}

bool decodeAuthReply(std::string_view in, SenderAuth& a) {
  WireReader r(in);
  std::array<std::string, 5> f;
  for (auto& s : f) s = r.str(256);
  std::string results = r.str(kMaxAuthResults);
  if (!r.atEnd() || !resultWord(f[0]) || !resultWord(f[1]) || !resultWord(f[2]) ||
      !oneOf(f[3], {"", "none", "quarantine", "reject"}) || !domainText(f[4]) || !headerText(results)) {
    return false;
  }
  a.spf = f[0];
  a.dkim = f[1];
  a.dmarc = f[2];
  a.dmarc_policy = f[3];
  a.from_domain = f[4];
  a.results = std::move(results);
  return true;
}

}  // namespace mugai::ipc
