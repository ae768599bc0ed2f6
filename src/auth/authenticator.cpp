// SPF (libspf2), DKIM (libopendkim) and DMARC (libopendmarc) on the original bytes, all three
// asking DNS through the one caching Resolver.
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <unistd.h>

// libopendkim's header is C99 (_Bool); C++ spells it bool, with the same ABI.
#define _Bool bool
extern "C" {
#include <opendkim/dkim.h>
#include <opendmarc/dmarc.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
// Exported by libopendmarc (the organizational domain from the public suffix list) but left out
// of its header.
int opendmarc_get_tld(u_char* domain, u_char* tld, size_t tld_len);
}
#undef _Bool

#include "mugai/auth/auth.h"

namespace mugai::auth {
namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

/// A name fit to be written into the header: LDH labels (and '_'), at most 253 bytes; else "".
std::string safeDomain(std::string_view d) {
  std::string o = lower(d);
  while (!o.empty() && o.back() == '.') o.pop_back();
  if (o.empty() || o.size() > 253 || o.front() == '.' || o.find("..") != std::string::npos) return "";
  for (char c : o) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return "";
  }
  return o;
}

std::string domainOf(std::string_view address) {
  auto at = address.rfind('@');
  return safeDomain(at == std::string_view::npos ? address : address.substr(at + 1));
}

// ---- SPF: a libspf2 DNS layer over the Resolver -------------------------------------------

/// One SPF check's DNS: the resolver, and whether any lookup went unanswered (libspf2 says
/// permerror for some of those; RFC 7208 2.6.6 says temperror).
struct SpfDns {
  const Resolver* resolver;
  bool failed = false;
};

SPF_dns_rr_t* spfLookup(SPF_dns_server_t* server, const char* domain, ns_type type, int) {
  auto* dns = static_cast<SpfDns*>(server->hook);
  DnsAnswer a = dns->resolver->query(domain, type);
  if (a.rcode == ns_r_nxdomain) return SPF_dns_rr_new_init(server, domain, type, 0, HOST_NOT_FOUND);
  if (a.rcode != ns_r_noerror) {
    dns->failed = true;
    return SPF_dns_rr_new_init(server, domain, type, 0, TRY_AGAIN);
  }
  ns_msg msg;
  const auto* raw = reinterpret_cast<const unsigned char*>(a.raw.data());
  if (ns_initparse(raw, static_cast<int>(a.raw.size()), &msg) != 0)
    return SPF_dns_rr_new_init(server, domain, type, 0, TRY_AGAIN);
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, 0, NETDB_SUCCESS);
  if (!rr) return nullptr;
  int n = 0;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr r;
    if (ns_parserr(&msg, ns_s_an, i, &r) != 0) break;
    if (ns_rr_type(r) != type) continue;  // CNAMEs on the way
    const unsigned char* p = ns_rr_rdata(r);
    std::size_t len = ns_rr_rdlen(r);
    std::string text;
    switch (type) {
      case ns_t_a:
        if (len != 4 || SPF_dns_rr_buf_realloc(rr, n, sizeof(in_addr)) != SPF_E_SUCCESS) continue;
        std::memcpy(&rr->rr[n]->a, p, 4);
        ++n;
        continue;
      case ns_t_aaaa:
        if (len != 16 || SPF_dns_rr_buf_realloc(rr, n, sizeof(in6_addr)) != SPF_E_SUCCESS) continue;
        std::memcpy(&rr->rr[n]->aaaa, p, 16);
        ++n;
        continue;
      case ns_t_mx:
      case ns_t_ptr: {
        char name[NS_MAXDNAME];
        const unsigned char* at = type == ns_t_mx ? p + 2 : p;
        if ((type == ns_t_mx && len < 3) ||
            dn_expand(ns_msg_base(msg), ns_msg_end(msg), at, name, sizeof name) < 0)
          continue;
        text = name;
        break;
      }
      case ns_t_txt: {
        const unsigned char* end = p + len;
        while (p < end) {
          std::size_t l = *p++;
          if (l > static_cast<std::size_t>(end - p)) break;
          text.append(reinterpret_cast<const char*>(p), l);
          p += l;
        }
        break;
      }
      default:
        continue;
    }
    if (SPF_dns_rr_buf_realloc(rr, n, text.size() + 1) != SPF_E_SUCCESS) continue;
    std::memcpy(rr->rr[n]->txt, text.c_str(), text.size() + 1);
    ++n;
  }
  rr->num_rr = n;
  if (n == 0) rr->herrno = NO_DATA;
  return rr;
}

struct SpfOutcome {
  std::string result = "none", identity, domain;  // identity: "mailfrom" | "helo"
  std::string comment;                             // RFC 8601 comment, may be empty
};

SpfOutcome checkSpf(const Resolver& resolver, const Peer& peer, const std::string& ip) {
  SpfOutcome o;
  o.identity = peer.mail_from.empty() ? "helo" : "mailfrom";
  o.domain = peer.mail_from.empty() ? safeDomain(peer.helo) : domainOf(peer.mail_from);
  if (ip.empty() || o.domain.empty()) return o;  // nothing to check against: none
  // A loopback client is the front MTA on this host that sent no XFORWARD: the real client is
  // unknown (and libspf2 would pass loopback as "localhost is always allowed").
  if (ip.rfind("127.", 0) == 0 || ip == "::1") {
    o.comment = " (client unknown: the front MTA sent no XFORWARD)";
    return o;
  }
  SpfDns dns{&resolver};
  SPF_dns_server_t layer {};
  layer.lookup = spfLookup;
  layer.name = "mugai";
  layer.hook = &dns;
  SPF_server_t* server = SPF_server_new_dns(&layer, 0);
  if (!server) return {"temperror", o.identity, o.domain};
  SPF_request_t* req = SPF_request_new(server);
  SPF_response_t* resp = nullptr;
  bool v6 = ip.find(':') != std::string::npos;
  bool ok = req && (v6 ? SPF_request_set_ipv6_str(req, ip.c_str()) : SPF_request_set_ipv4_str(req, ip.c_str())) == SPF_E_SUCCESS;
  if (ok && !peer.helo.empty()) SPF_request_set_helo_dom(req, peer.helo.c_str());
  if (ok) {
    std::string from = peer.mail_from.empty() ? "postmaster@" + o.domain : peer.mail_from;
    ok = SPF_request_set_env_from(req, from.c_str()) == 0;
  }
  if (ok) {
    SPF_request_query_mailfrom(req, &resp);
    o.result = resp ? SPF_strresult(SPF_response_result(resp)) : "temperror";
    if (o.result == "(invalid)") o.result = "permerror";
    if (o.result == "permerror" && dns.failed) o.result = "temperror";
  } else {
    o.result = "permerror";
  }
  if (resp) SPF_response_free(resp);
  if (req) SPF_request_free(req);
  SPF_server_free(server);
  return o;
}

// ---- DKIM: libopendkim, its DNS through the Resolver ---------------------------------------

struct DkimQuery {
  std::size_t bytes = 0;
  int error = 0;
};

int dkimStart(void* srv, int type, unsigned char* query, unsigned char* buf, std::size_t buflen, void** qh) {
  const auto* resolver = static_cast<const Resolver*>(srv);
  DnsAnswer a = resolver->query(reinterpret_cast<const char*>(query), type);
  if (a.rcode < 0 || a.raw.size() > buflen) return DKIM_DNS_ERROR;
  std::memcpy(buf, a.raw.data(), a.raw.size());
  *qh = new DkimQuery{a.raw.size(), 0};
  return DKIM_DNS_SUCCESS;
}

int dkimCancel(void*, void* qh) {
  delete static_cast<DkimQuery*>(qh);
  return DKIM_DNS_SUCCESS;
}

int dkimWait(void*, void* qh, struct timeval*, std::size_t* bytes, int* error, int* dnssec) {
  auto* q = static_cast<DkimQuery*>(qh);
  if (bytes) *bytes = q->bytes;
  if (error) *error = q->error;
  if (dnssec) *dnssec = DKIM_DNSSEC_UNKNOWN;
  return DKIM_DNS_SUCCESS;
}

/// A sender can put any number of DKIM-Signature fields on a message, each naming a key to look
/// up: only the first kMaxSignatures are verified, the rest are ignored (and not reported).
constexpr int kMaxSignatures = 8;

DKIM_CBSTAT prescreen(DKIM*, DKIM_SIGINFO** sigs, int n) {
  for (int i = kMaxSignatures; i < n; ++i) dkim_sig_ignore(sigs[i]);
  return DKIM_CBSTAT_CONTINUE;
}

struct SigOutcome {
  std::string result, domain, selector;
};

std::string dkimResult(DKIM_SIGINFO* sig) {
  if (DKIM_SIG_CHECK(sig)) return "pass";
  switch (dkim_sig_geterror(sig)) {
    case DKIM_SIGERROR_KEYFAIL:
      return "temperror";  // the key could not be fetched: ask again next time
    case DKIM_SIGERROR_BADSIG:
    case DKIM_SIGERROR_OK:  // processed, body hash or signature did not match
      return "fail";
    default:
      return dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ? "fail" : "permerror";
  }
}

/// The best of several results (RFC 8601 does not rank them; staff want to know if any passed).
std::string best(const std::vector<SigOutcome>& sigs) {
  static const char* order[] = {"pass", "fail", "temperror", "permerror", "neutral", "policy"};
  for (const char* w : order) {
    for (const auto& s : sigs)
      if (s.result == w) return w;
  }
  return "none";
}

// ---- From domain --------------------------------------------------------------------------

/// The header block's fields named `name`, unfolded (raw bytes).
std::vector<std::string> headerFields(std::string_view raw, std::string_view name) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  std::string* current = nullptr;
  while (pos < raw.size()) {
    std::size_t eol = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? raw.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line[0] == ' ' || line[0] == '\t') {
      if (current) current->append(line);
      continue;
    }
    current = nullptr;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view field = line.substr(0, colon);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
    if (lower(field) == lower(name)) {
      out.emplace_back(line.substr(colon + 1));
      current = &out.back();
    }
  }
  return out;
}

}  // namespace

std::string fromDomain(std::string_view raw) {
  auto fields = headerFields(raw, "From");
  if (fields.size() != 1) return "";
  // Comments and quoted strings out; then exactly one mailbox, its <addr-spec> or bare address.
  std::string v;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < fields[0].size(); ++i) {
    char c = fields[0][i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
      continue;
    }
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '(') depth = 1;
    else v += c;
  }
  if (v.find(',') != std::string::npos || v.find(';') != std::string::npos) return "";  // several
  std::string addr = v;
  if (auto lt = v.find('<'); lt != std::string::npos) {
    auto gt = v.find('>', lt);
    if (gt == std::string::npos || v.find('<', lt + 1) != std::string::npos) return "";
    addr = v.substr(lt + 1, gt - lt - 1);
  }
  addr.erase(std::remove_if(addr.begin(), addr.end(), [](char c) { return c == ' ' || c == '\t'; }), addr.end());
  if (std::count(addr.begin(), addr.end(), '@') != 1) return "";
  return domainOf(addr);
}

struct InProcessAuthenticator::Dkim {
  DKIM_LIB* lib = nullptr;
  ~Dkim() {
    if (lib) dkim_close(lib);
  }
};

InProcessAuthenticator::InProcessAuthenticator(Settings settings)
    : Authenticator(std::move(settings)),
      resolver_(std::make_unique<Resolver>(settings_.dns)),
      dkim_(std::make_unique<Dkim>()) {
  dkim_->lib = dkim_init(nullptr, nullptr);
  if (dkim_->lib) {
    unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
    dkim_options(dkim_->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
    dkim_dns_set_query_service(dkim_->lib, resolver_.get());
    dkim_dns_set_query_start(dkim_->lib, dkimStart);
    dkim_dns_set_query_cancel(dkim_->lib, dkimCancel);
    dkim_dns_set_query_waitreply(dkim_->lib, dkimWait);
    // The service is our Resolver: libopendkim must neither set up nor free a resolver of its
    // own (its default close frees the service handle).
    dkim_set_prescreen(dkim_->lib, prescreen);
    dkim_dns_set_init(dkim_->lib, [](void**) { return DKIM_DNS_SUCCESS; });
    dkim_dns_set_close(dkim_->lib, [](void*) {});
  }
  // libopendmarc keeps its public suffix list in process-wide state: read it once.
  static std::once_flag once;
  std::string psl = settings_.public_suffix_list;
  std::call_once(once, [psl] {
    OPENDMARC_LIB_T lib {};
    if (!psl.empty() && psl.size() < sizeof lib.tld_source_file && ::access(psl.c_str(), R_OK) == 0) {
      lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
      std::memcpy(lib.tld_source_file, psl.c_str(), psl.size() + 1);
    }
    opendmarc_policy_library_init(&lib);
  });
}

InProcessAuthenticator::~InProcessAuthenticator() = default;

SenderAuth InProcessAuthenticator::check(std::string_view raw, const Peer& peer) const {
  DnsDeadline budget(settings_.dns.time_limit_s);
  SenderAuth out;
  out.checked = true;
  out.authserv_id = settings_.authserv_id;
  out.trusted_authserv_ids = settings_.trusted_authserv_ids;

  std::string ip = peer.client_addr;
  if (ip.size() > 5 && lower(ip.substr(0, 5)) == "ipv6:") ip = ip.substr(5);  // XFORWARD's form
  unsigned char probe[16];
  bool v6 = inet_pton(AF_INET6, ip.c_str(), probe) == 1;
  if (!v6 && inet_pton(AF_INET, ip.c_str(), probe) != 1) ip.clear();

  // SPF
  SpfOutcome spf = checkSpf(*resolver_, peer, ip);
  out.spf = spf.result;

  // DKIM: every signature
  std::vector<SigOutcome> sigs;
  bool dkim_error = false;
  if (dkim_->lib) {
    DKIM_STAT st;
    DKIM* d = dkim_verify(dkim_->lib, reinterpret_cast<const unsigned char*>("mugai"), nullptr, &st);
    if (d) {
      dkim_chunk(d, reinterpret_cast<u_char*>(const_cast<char*>(raw.data())), raw.size());
      dkim_chunk(d, nullptr, 0);
      st = dkim_eom(d, nullptr);
      DKIM_SIGINFO** list = nullptr;
      int n = 0;
      if (st != DKIM_STAT_NOSIG && dkim_getsiglist(d, &list, &n) == DKIM_STAT_OK) {
        for (int i = 0; i < n && i < kMaxSignatures; ++i) {
          if (dkim_sig_getflags(list[i]) & DKIM_SIGFLAG_IGNORE) continue;
          const unsigned char* dom = dkim_sig_getdomain(list[i]);
          const unsigned char* sel = dkim_sig_getselector(list[i]);
          sigs.push_back({dkimResult(list[i]), dom ? safeDomain(reinterpret_cast<const char*>(dom)) : "",
                          sel ? safeDomain(reinterpret_cast<const char*>(sel)) : ""});
        }
      }
      dkim_free(d);
    } else {
      dkim_error = true;
    }
  } else {
    dkim_error = true;
  }
  out.dkim = dkim_error ? "temperror" : best(sigs);

  // DMARC
  out.from_domain = fromDomain(raw);
  std::string org;
  if (out.from_domain.empty()) {
    out.dmarc = headerFields(raw, "From").empty() ? "none" : "permerror";
  } else {
    int status = 0;
    std::string record, record_domain = out.from_domain;
    auto pick = [&](const std::string& domain) {
      auto txts = resolver_->txt("_dmarc." + domain, status);
      int found = 0;
      for (auto& t : txts) {
        if (lower(t.substr(0, 8)) == "v=dmarc1") {
          record = t;
          ++found;
        }
      }
      if (found > 1) record.clear();  // RFC 7489 6.6.3: several records: none applies
    };
    pick(out.from_domain);
    u_char tld[256] = {0};
    std::string fd = out.from_domain;
    if (opendmarc_get_tld(reinterpret_cast<u_char*>(fd.data()), tld, sizeof tld) == 0)
      org = reinterpret_cast<const char*>(tld);
    if (status == 0 && record.empty() && !org.empty() && org != out.from_domain) {
      record_domain = org;
      pick(org);
    }
    if (status != 0) {
      out.dmarc = "temperror";
    } else if (record.empty()) {
      out.dmarc = "none";
    } else {
      DMARC_POLICY_T* p = opendmarc_policy_connect_init(reinterpret_cast<u_char*>(ip.empty() ? const_cast<char*>("0.0.0.0") : ip.data()),
                                                        v6 ? DMARC_POLICY_IP_TYPE_IPV6 : DMARC_POLICY_IP_TYPE_IPV4);
      if (!p) {
        out.dmarc = "temperror";
      } else {
        opendmarc_policy_store_from_domain(p, reinterpret_cast<u_char*>(fd.data()));
        std::string rd = record_domain, od = org;
        if (opendmarc_policy_store_dmarc(p, reinterpret_cast<u_char*>(record.data()), reinterpret_cast<u_char*>(fd.data()),
                                         od.empty() ? nullptr : reinterpret_cast<u_char*>(od.data())) != DMARC_PARSE_OKAY) {
          out.dmarc = "permerror";
        } else {
          int spf_code = spf.result == "pass"        ? DMARC_POLICY_SPF_OUTCOME_PASS
                         : spf.result == "temperror" ? DMARC_POLICY_SPF_OUTCOME_TMPFAIL
                         : spf.result == "none"      ? DMARC_POLICY_SPF_OUTCOME_NONE
                                                     : DMARC_POLICY_SPF_OUTCOME_FAIL;
          std::string sd = spf.domain;
          if (!sd.empty())
            opendmarc_policy_store_spf(p, reinterpret_cast<u_char*>(sd.data()), spf_code,
                                       spf.identity == "helo" ? DMARC_POLICY_SPF_ORIGIN_HELO : DMARC_POLICY_SPF_ORIGIN_MAILFROM,
                                       nullptr);
          for (auto& s : sigs) {
            if (s.domain.empty()) continue;
            int code = s.result == "pass"        ? DMARC_POLICY_DKIM_OUTCOME_PASS
                       : s.result == "temperror" ? DMARC_POLICY_DKIM_OUTCOME_TMPFAIL
                                                 : DMARC_POLICY_DKIM_OUTCOME_FAIL;
            opendmarc_policy_store_dkim(p, reinterpret_cast<u_char*>(s.domain.data()),
                                        reinterpret_cast<u_char*>(s.selector.data()), code, nullptr);
          }
          switch (opendmarc_get_policy_to_enforce(p)) {
            case DMARC_POLICY_PASS: out.dmarc = "pass"; break;
            case DMARC_POLICY_ABSENT: out.dmarc = "none"; break;
            case DMARC_POLICY_REJECT: out.dmarc = "fail"; out.dmarc_policy = "reject"; break;
            case DMARC_POLICY_QUARANTINE: out.dmarc = "fail"; out.dmarc_policy = "quarantine"; break;
            case DMARC_POLICY_NONE: out.dmarc = "fail"; out.dmarc_policy = "none"; break;
            default: out.dmarc = "permerror"; break;
          }
          if (out.dmarc == "pass") {
            int pol = 0;
            if (opendmarc_policy_fetch_p(p, &pol) == DMARC_PARSE_OKAY)
              out.dmarc_policy = pol == DMARC_RECORD_P_REJECT ? "reject" : pol == DMARC_RECORD_P_QUARANTINE ? "quarantine" : "none";
          }
        }
        opendmarc_policy_connect_shutdown(p);
      }
    }
  }

  // Authentication-Results (RFC 8601 2.2): method=result ptype.property=value, one per result.
  std::string r = "spf=" + out.spf + spf.comment;
  if (!spf.domain.empty()) r += (spf.identity == "helo" ? " smtp.helo=" : " smtp.mailfrom=") + spf.domain;
  if (sigs.empty()) {
    r += "; dkim=" + out.dkim;
  } else {
    for (const auto& s : sigs) {
      r += "; dkim=" + s.result;
      if (!s.domain.empty()) r += " header.d=" + s.domain;
      if (!s.selector.empty()) r += " header.s=" + s.selector;
    }
  }
  r += "; dmarc=" + out.dmarc;
  if (!out.dmarc_policy.empty()) r += " (p=" + out.dmarc_policy + ")";
  if (!out.from_domain.empty()) r += " header.from=" + out.from_domain;
  out.results = r;
  return out;
}

}  // namespace mugai::auth
