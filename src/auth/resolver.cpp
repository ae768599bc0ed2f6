// The one DNS path of sender authentication: libresolv's res_nsend to one configurable
// nameserver (the system's from /etc/resolv.conf by default), with a TTL-bounded cache.
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "mugai/auth/auth.h"

namespace mugai::auth {
namespace {

using Clock = std::chrono::steady_clock;

/// "IP" or "IP:PORT" (IPv4) -> sockaddr_in; false when it is neither.
bool parseNameserver(const std::string& s, sockaddr_in& out) {
  std::string host = s;
  unsigned port = 53;
  if (auto colon = s.rfind(':'); colon != std::string::npos) {
    host = s.substr(0, colon);
    std::string p = s.substr(colon + 1);
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
    port = static_cast<unsigned>(std::stoul(p));
    if (port == 0 || port > 65535) return false;
  }
  std::memset(&out, 0, sizeof out);
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<std::uint16_t>(port));
  return inet_pton(AF_INET, host.c_str(), &out.sin_addr) == 1;
}

/// The system's IPv4 nameservers (/etc/resolv.conf), read once when the Resolver is made: in
/// `mugai-auth` every later thread runs in the sandbox, which opens no file, and its res_ninit
/// would fall back to 127.0.0.1.
std::vector<sockaddr_in> systemNameservers() {
  std::vector<sockaddr_in> out;
  struct __res_state st {};
  if (res_ninit(&st) != 0) return out;
  for (int i = 0; i < st.nscount && i < MAXNS; ++i) {
    if (st.nsaddr_list[i].sin_family == AF_INET) out.push_back(st.nsaddr_list[i]);
  }
  res_nclose(&st);
  return out;
}

/// One resolver state per thread, set up for this nameserver and timeout (res_ninit reads
/// /etc/resolv.conf once per thread, not per query; the system's nameservers are the ones read
/// when the Resolver was made).
res_state threadState(const DnsSettings& d, const std::vector<sockaddr_in>& system) {
  struct State {
    struct __res_state st {};
    bool init = false;
    std::string key;
    ~State() {
      if (init) res_nclose(&st);
    }
  };
  thread_local State t;
  std::string key = d.nameserver + "/" + std::to_string(d.timeout_s);
  if (t.init && t.key == key) return &t.st;
  if (t.init) res_nclose(&t.st);
  std::memset(&t.st, 0, sizeof t.st);
  t.init = false;
  if (res_ninit(&t.st) != 0) return nullptr;
  t.init = true;
  t.key = key;
  t.st.retrans = static_cast<int>(std::max(1u, d.timeout_s));
  t.st.retry = 2;
  t.st.options &= ~(RES_DNSRCH | RES_DEFNAMES);  // the names asked are absolute
  if (!d.nameserver.empty()) {
    sockaddr_in sa;
    if (!parseNameserver(d.nameserver, sa)) return nullptr;
    t.st.nsaddr_list[0] = sa;
    t.st.nscount = 1;
  } else if (!system.empty()) {
    for (std::size_t i = 0; i < system.size() && i < MAXNS; ++i) t.st.nsaddr_list[i] = system[i];
    t.st.nscount = static_cast<int>(std::min<std::size_t>(system.size(), MAXNS));
  }
  return &t.st;
}

/// Seconds this reply may be cached: the smallest answer TTL, or for NXDOMAIN/NODATA the SOA's
/// negative TTL (RFC 2308), 60 s when there is none; at most `max`.
unsigned cacheTtl(const std::string& raw, unsigned max) {
  ns_msg msg;
  if (ns_initparse(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()), &msg) != 0)
    return 0;
  unsigned ttl = max;
  bool any = false;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) return 0;
    ttl = std::min<unsigned>(ttl, ns_rr_ttl(rr));
    any = true;
  }
  if (any) return ttl;
  for (int i = 0; i < ns_msg_count(msg, ns_s_ns); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_ns, i, &rr) != 0) return 0;
    if (ns_rr_type(rr) != ns_t_soa || ns_rr_rdlen(rr) < 4) continue;
    const unsigned char* end = ns_rr_rdata(rr) + ns_rr_rdlen(rr);  // MINIMUM: the last 32 bits
    unsigned minimum = (unsigned(end[-4]) << 24) | (unsigned(end[-3]) << 16) | (unsigned(end[-2]) << 8) | end[-1];
    return std::min({ttl, minimum, static_cast<unsigned>(ns_rr_ttl(rr))});
  }
  return std::min(ttl, 60u);
}

/// The end of the calling thread's current check (Authenticator::check); none outside one.
thread_local Clock::time_point t_deadline = Clock::time_point::max();

}  // namespace

DnsDeadline::DnsDeadline(unsigned seconds) : previous_(t_deadline) {
  t_deadline = Clock::now() + std::chrono::seconds(seconds);
}
DnsDeadline::~DnsDeadline() { t_deadline = previous_; }

struct Resolver::Cache {
  struct Entry {
    DnsAnswer answer;
    Clock::time_point expires;
  };
  std::mutex mutex;
  std::unordered_map<std::string, Entry> map;
  std::vector<sockaddr_in> system;  ///< when settings.nameserver is "": read once, at the start
};

Resolver::Resolver(DnsSettings settings) : settings_(std::move(settings)), cache_(std::make_unique<Cache>()) {
  if (settings_.nameserver.empty()) cache_->system = systemNameservers();
}
Resolver::~Resolver() = default;

DnsAnswer Resolver::query(std::string_view name, int type) const {
  std::string key = std::to_string(type) + " ";
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!key.empty() && key.back() == '.') key.pop_back();
  auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (auto it = cache_->map.find(key); it != cache_->map.end()) {
      if (it->second.expires > now) {
        ++hits_;
        DnsAnswer a = it->second.answer;
        a.cached = true;
        return a;
      }
      cache_->map.erase(it);
    }
  }
  ++misses_;
  DnsAnswer out;
  if (now >= t_deadline) return out;  // the check's DNS time is spent: no reply, temperror
  if (name.empty() || name.size() > 253) {
    out.rcode = 3;  // not a name anyone can hold: NXDOMAIN, without asking
    return out;
  }
  res_state st = threadState(settings_, cache_->system);
  if (!st) return out;
  std::string qname(name);
  unsigned char query[NS_PACKETSZ + 64];
  int qlen = res_nmkquery(st, ns_o_query, qname.c_str(), ns_c_in, type, nullptr, 0, nullptr, query,
                          sizeof query);
  if (qlen <= 0) {
    out.rcode = 3;
    return out;
  }
  ++sent_;
  std::string reply(65536, '\0');
  int n = res_nsend(st, query, qlen, reinterpret_cast<unsigned char*>(reply.data()), static_cast<int>(reply.size()));
  if (n < static_cast<int>(NS_HFIXEDSZ)) return out;  // no reply: temperror for whoever asked
  reply.resize(static_cast<std::size_t>(std::min<int>(n, static_cast<int>(reply.size()))));
  out.rcode = static_cast<unsigned char>(reply[3]) & 0x0F;
  out.raw = std::move(reply);
  if (out.rcode != ns_r_noerror && out.rcode != ns_r_nxdomain) return out;  // SERVFAIL etc: not cached
  if (unsigned ttl = cacheTtl(out.raw, settings_.ttl_max_s); ttl > 0 && settings_.cache_limit > 0) {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->map.size() >= settings_.cache_limit) {
      std::erase_if(cache_->map, [&](const auto& kv) { return kv.second.expires <= now; });
      if (cache_->map.size() >= settings_.cache_limit) cache_->map.clear();  // bounded, simply
    }
    cache_->map[key] = Cache::Entry{out, now + std::chrono::seconds(ttl)};
  }
  return out;
}

std::vector<std::string> Resolver::txt(std::string_view name, int& status) const {
  std::vector<std::string> out;
  DnsAnswer a = query(name, ns_t_txt);
  if (a.rcode == ns_r_nxdomain) {
    status = 0;
    return out;
  }
  if (a.rcode != ns_r_noerror) {
    status = -1;
    return out;
  }
  status = 0;
  ns_msg msg;
  if (ns_initparse(reinterpret_cast<const unsigned char*>(a.raw.data()), static_cast<int>(a.raw.size()), &msg) != 0) {
    status = -1;
    return out;
  }
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) {
      status = -1;
      return {};
    }
    if (ns_rr_type(rr) != ns_t_txt) continue;  // a CNAME on the way
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string joined;
    while (p < end) {
      std::size_t len = *p++;
      if (len > static_cast<std::size_t>(end - p)) break;
      joined.append(reinterpret_cast<const char*>(p), len);
      p += len;
    }
    out.push_back(std::move(joined));
  }
  return out;
}

}  // namespace mugai::auth
