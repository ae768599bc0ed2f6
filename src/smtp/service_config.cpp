#include "src/smtp/service_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "mugai/obs/monitor.h"

namespace mugai::smtp {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> splitList(const std::string& v) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(v);
  while (std::getline(in, item, ',')) {
    std::istringstream words(item);
    std::string w;
    while (words >> w) out.push_back(w);
  }
  return out;
}

}  // namespace

bool parseHostPort(const std::string& s, std::string& host, std::uint16_t& port, std::string* why) {
  auto fail = [&](const std::string& text) {
    if (why) *why = text;
    return false;
  };
  std::size_t colon = s.rfind(':');
  if (colon == std::string::npos) return fail("no port (expected HOST:PORT, or [IPV6]:PORT)");
  std::string h = s.substr(0, colon), p = s.substr(colon + 1);
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') {
      return fail("an IPv6 address goes in brackets: [IPV6]:PORT");
    }
    h = h.substr(1, h.size() - 2);
  } else if (h.find_first_of("[]:") != std::string::npos) {
    return fail("an IPv6 address goes in brackets: [IPV6]:PORT");
  }
  if (h.empty()) return fail("no host (expected HOST:PORT, e.g. 127.0.0.1:10025)");
  for (char c : h) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '@') {
      return fail("the host '" + h + "' is not a host name or address");
    }
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return fail("the port '" + p + "' is not a number from 1 to 65535");
  }
  unsigned v = 0;
  std::from_chars(p.data(), p.data() + p.size(), v);
  if (v == 0 || v > 65535) return fail("the port '" + p + "' is not a number from 1 to 65535");
  host = h;
  port = static_cast<std::uint16_t>(v);
  return true;
}

bool splitHostPort(const std::string& s, std::string& host, std::uint16_t& port) {
  return parseHostPort(s, host, port, nullptr);
}

std::string closestKey(const std::string& key) {
  static const char* const kKeys[] = {"listen",         "next_hop",       "myhostname",
                                      "rules",          "state_dir",      "tls_cert_file",
                                      "tls_key_file",   "relay_tls",      "relay_tls_ca_file",
                                      "xforward_hosts", "smtp",           "filedrop_inbox",
                                      "filedrop_outbox", "memory_limit", "client_limit_exceptions",
                                      "isolation",      "metrics",        "metrics_remote",
                                      "syslog",         "syslog_format",  "syslog_facility", "vault",
                                      "release_sender", "console_url",    "quarantine_dir",
                                      "authentication", "authserv_id",    "trusted_authserv_ids",
                                      "dns_nameserver"};
  // Edit distance (insert, delete, substitute), case-insensitive; a key that starts with what
  // was written ("quarantine" for "quarantine_dir") or ends with it ("inbox") counts as close.
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string k = lower(key);
  std::string best;
  std::size_t best_score = std::string::npos;
  for (const char* candidate : kKeys) {
    std::string c = candidate;
    std::vector<std::size_t> row(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= k.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j) {
        std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (k[i - 1] == c[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    std::size_t score = row[c.size()];
    bool affix =
        k.size() >= 4 && (c.rfind(k, 0) == 0 || (c.size() > k.size() && c.ends_with("_" + k)));
    if (affix) score = 1;
    if (score < best_score) {
      best_score = score;
      best = c;
    }
  }
  // More than a third of the key changed: not a typo of it.
  return best_score <= std::max<std::size_t>(2, k.size() / 3) ? best : "";
}

bool loadServiceConfig(const std::string& path, ServiceConfig& c, std::vector<std::string>& errors) {
  std::ifstream in(path);
  if (!in) {
    errors.push_back(path + ": cannot read");
    return false;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string where = path + ":" + std::to_string(n) + ": ";
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::size_t eq = line.find('=');
    if (eq == std::string::npos) {
      errors.push_back(where + "expected 'key = value'");
      continue;
    }
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    std::string* field = key == "listen" ? &c.listen
                         : key == "next_hop" ? &c.next_hop
                         : key == "myhostname" ? &c.myhostname
                         : key == "rules" ? &c.rules
                         : key == "state_dir" ? &c.state_dir
                         : key == "quarantine_dir" ? &c.state_dir
                         : key == "vault" ? &c.vault
                         : key == "tls_cert_file" ? &c.tls_cert_file
                         : key == "tls_key_file" ? &c.tls_key_file
                         : key == "relay_tls" ? &c.relay_tls
                         : key == "relay_tls_ca_file" ? &c.relay_tls_ca_file
                         : key == "smtp" ? &c.smtp
                         : key == "filedrop_inbox" ? &c.filedrop_inbox
                         : key == "filedrop_outbox" ? &c.filedrop_outbox
                         : key == "memory_limit" ? &c.memory_limit
                         : key == "isolation" ? &c.isolation
                         : key == "metrics" ? &c.metrics
                         : key == "metrics_remote" ? &c.metrics_remote
                         : key == "syslog" ? &c.syslog
                         : key == "syslog_format" ? &c.syslog_format
                         : key == "syslog_facility" ? &c.syslog_facility
                         : key == "release_sender" ? &c.release_sender
                         : key == "console_url" ? &c.console_url
                         : key == "authentication" ? &c.authentication
                         : key == "authserv_id" ? &c.authserv_id
                         : key == "dns_nameserver" ? &c.dns_nameserver
                                                      : nullptr;
    if (key == "xforward_hosts") {
      c.xforward_hosts = splitList(value);
    } else if (key == "client_limit_exceptions") {
      c.client_limit_exceptions = splitList(value);
    } else if (key == "trusted_authserv_ids") {
      c.trusted_authserv_ids = splitList(value);
    } else if (field) {
      *field = value;
      if (key == "quarantine_dir") c.quarantine_dir_used = true;
    } else {
      std::string near = closestKey(key);
      errors.push_back(where + "unknown key '" + key + "'" +
                       (near.empty() ? " (integer limits are set under 'limits:' in the rules file)"
                                     : ": did you mean '" + near + "'?"));
    }
  }
  std::string host;
  std::uint16_t port = 0;
  std::string why;
  if (!parseHostPort(c.listen, host, port, &why)) {
    errors.push_back(path + ": listen = '" + c.listen + "': " + why);
  }
  if (!parseHostPort(c.next_hop, host, port, &why)) {
    errors.push_back(path + ": next_hop = '" + c.next_hop + "': " + why);
  }
  if (c.relay_tls != "none" && c.relay_tls != "may" && c.relay_tls != "encrypt") {
    errors.push_back(path + ": relay_tls: expected none, may or encrypt");
  }
  if (c.smtp != "yes" && c.smtp != "no") errors.push_back(path + ": smtp: expected yes or no");
  if (c.filedrop_inbox.empty() != c.filedrop_outbox.empty()) {
    errors.push_back(path + ": filedrop_inbox and filedrop_outbox go together");
  }
  if (c.smtp == "no" && c.filedrop_inbox.empty()) {
    errors.push_back(path + ": smtp = no needs the file drop (filedrop_inbox, filedrop_outbox)");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    errors.push_back(path + ": tls_cert_file and tls_key_file go together");
  }
  if (c.isolation != "workers" && c.isolation != "none") {
    errors.push_back(path + ": isolation = '" + c.isolation + "': expected workers or none");
  }
  for (const auto& e : checkMonitoring(c)) errors.push_back(path + ": " + e);
  if (!c.release_sender.empty() && (c.release_sender.find('@') == std::string::npos ||
                                    c.release_sender.find_first_of(" <>,;\"\\") != std::string::npos)) {
    errors.push_back(path + ": release_sender = '" + c.release_sender +
                     "': expected a plain mail address (mugai@gateway.example.lg.jp)");
  }
  if (!c.console_url.empty() && c.console_url.rfind("https://", 0) != 0 &&
      c.console_url.rfind("http://", 0) != 0) {
    errors.push_back(path + ": console_url = '" + c.console_url + "': expected https://HOST[:PORT]");
  }
  if (c.authentication != "yes" && c.authentication != "no") {
    errors.push_back(path + ": authentication: expected yes or no");
  }
  // An authserv-id is a dot-atom (RFC 8601 2.2 value): nothing that could end the header field.
  auto token = [](const std::string& v) {
    return !v.empty() && v.size() <= 253 && v.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == std::string::npos;
  };
  if (!c.authserv_id.empty() && !token(c.authserv_id)) {
    errors.push_back(path + ": authserv_id = '" + c.authserv_id + "': letters, digits, '.', '-' and '_' only");
  }
  for (const auto& id : c.trusted_authserv_ids) {
    if (!token(id)) errors.push_back(path + ": trusted_authserv_ids: '" + id + "' is not a host-like name");
  }
  if (!c.dns_nameserver.empty()) {
    std::string ip = c.dns_nameserver.substr(0, c.dns_nameserver.rfind(':'));
    unsigned char probe[4];
    std::string port = c.dns_nameserver.find(':') == std::string::npos ? "53" : c.dns_nameserver.substr(c.dns_nameserver.rfind(':') + 1);
    if (inet_pton(AF_INET, ip.c_str(), probe) != 1 || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 || std::stoul(port) > 65535)
      errors.push_back(path + ": dns_nameserver = '" + c.dns_nameserver + "': expected an IPv4 address, optionally :PORT");
  }
  std::uint64_t bytes = 0;
  if (!parseMemoryLimit(c.memory_limit, bytes)) {
    errors.push_back(path + ": memory_limit = '" + c.memory_limit +
                     "': expected a size such as 6G or 512M (at least 64M), or none");
  }
  return errors.empty();
}

std::string describeServiceConfig(const ServiceConfig& c) {
  std::string hosts;
  for (const auto& h : c.xforward_hosts) hosts += (hosts.empty() ? "" : ", ") + h;
  std::string exceptions;
  for (const auto& h : c.client_limit_exceptions) {
    exceptions += (exceptions.empty() ? "" : ", ") + h;
  }
  return "listen = " + c.listen + "\nnext_hop = " + c.next_hop + "\nmyhostname = " + c.myhostname +
         "\nrules = " + c.rules + "\nstate_dir = " + c.state_dir + "\nvault = " + vaultUrl(c) +
         "\ntls_cert_file = " + c.tls_cert_file + "\ntls_key_file = " + c.tls_key_file +
         "\nrelay_tls = " + c.relay_tls + "\nrelay_tls_ca_file = " + c.relay_tls_ca_file +
         "\nxforward_hosts = " + hosts + "\nclient_limit_exceptions = " + exceptions +
         "\nsmtp = " + c.smtp +
         "\nfiledrop_inbox = " + c.filedrop_inbox + "\nfiledrop_outbox = " + c.filedrop_outbox +
         "\nmemory_limit = " + c.memory_limit + "\nisolation = " + c.isolation +
         "\nmetrics = " + c.metrics + "\nmetrics_remote = " + c.metrics_remote +
         "\nsyslog = " + c.syslog + "\nsyslog_format = " + c.syslog_format +
         "\nsyslog_facility = " + c.syslog_facility +
         "\nrelease_sender = " + c.release_sender + "\nconsole_url = " + c.console_url +
         "\nauthentication = " + c.authentication + "\nauthserv_id = " + c.authserv_id +
         "\ntrusted_authserv_ids = " + [&] {
           std::string ids;
           for (const auto& i : c.trusted_authserv_ids) ids += (ids.empty() ? "" : ", ") + i;
           return ids;
         }() + "\ndns_nameserver = " + c.dns_nameserver + "\n";
}

std::vector<std::string> checkMonitoring(const ServiceConfig& c) {
  std::vector<std::string> errors;
  std::string host, why;
  std::uint16_t port = 0;
  if (!c.metrics.empty()) {
    if (!parseHostPort(c.metrics, host, port, &why)) {
      errors.push_back("metrics = '" + c.metrics + "': " + why);
    } else if (c.metrics_remote != "yes" && !obs::isLoopbackHost(host)) {
      errors.push_back("metrics = '" + c.metrics +
                       "': not a loopback address; /metrics has no authentication, so a "
                       "remote listener needs metrics_remote = yes (and a firewall)");
    }
  }
  if (c.metrics_remote != "yes" && c.metrics_remote != "no") {
    errors.push_back("metrics_remote: expected yes or no");
  }
  obs::SinkTarget target;
  if (!c.syslog.empty() && !obs::parseSinkTarget(c.syslog, target, &why)) {
    errors.push_back("syslog = '" + c.syslog + "': " + why);
  }
  if (c.syslog_format != "rfc5424" && c.syslog_format != "cef") {
    errors.push_back("syslog_format = '" + c.syslog_format + "': expected rfc5424 or cef");
  }
  if (obs::facilityCode(c.syslog_facility) < 0) {
    errors.push_back("syslog_facility = '" + c.syslog_facility +
                     "': expected mail, daemon, user, local0 ... local7 (RFC 5424 names)");
  }
  return errors;
}

std::string vaultUrl(const ServiceConfig& c) {
  return c.vault.empty() ? "sqlite:" + c.state_dir + "/vault.db" : c.vault;
}

bool parseMemoryLimit(const std::string& text, std::uint64_t& bytes) {
  if (text == "none" || text == "0") {
    bytes = 0;
    return true;
  }
  if (text.empty()) return false;
  std::uint64_t unit = 1;
  std::string digits = text;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K': unit = 1ULL << 10; break;
    case 'M': unit = 1ULL << 20; break;
    case 'G': unit = 1ULL << 30; break;
    case 'T': unit = 1ULL << 40; break;
    default: unit = 0;
  }
  if (unit != 0) digits.pop_back(); else unit = 1;
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  bytes = std::stoull(digits) * unit;
  return bytes >= (64ULL << 20);
}

}  // namespace mugai::smtp
