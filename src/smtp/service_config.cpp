#include "src/smtp/service_config.h"

#include <charconv>
#include <fstream>
#include <sstream>

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

bool splitHostPort(const std::string& s, std::string& host, std::uint16_t& port) {
  std::size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned v = 0;
  const char* b = s.data() + colon + 1;
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || v == 0 || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return !host.empty();
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
                         : key == "quarantine_dir" ? &c.quarantine_dir
                         : key == "tls_cert_file" ? &c.tls_cert_file
                         : key == "tls_key_file" ? &c.tls_key_file
                         : key == "relay_tls" ? &c.relay_tls
                         : key == "relay_tls_ca_file" ? &c.relay_tls_ca_file
                         : key == "smtp" ? &c.smtp
                         : key == "filedrop_inbox" ? &c.filedrop_inbox
                         : key == "filedrop_outbox" ? &c.filedrop_outbox
                                                      : nullptr;
    if (key == "xforward_hosts") {
      c.xforward_hosts = splitList(value);
    } else if (field) {
      *field = value;
    } else {
      errors.push_back(where + "unknown key '" + key +
                       "' (integer limits are set under 'limits:' in the rules file)");
    }
  }
  std::string host;
  std::uint16_t port = 0;
  if (!splitHostPort(c.listen, host, port)) errors.push_back(path + ": listen: expected HOST:PORT");
  if (!splitHostPort(c.next_hop, host, port)) errors.push_back(path + ": next_hop: expected HOST:PORT");
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
  return errors.empty();
}

std::string describeServiceConfig(const ServiceConfig& c) {
  std::string hosts;
  for (const auto& h : c.xforward_hosts) hosts += (hosts.empty() ? "" : ", ") + h;
  return "listen = " + c.listen + "\nnext_hop = " + c.next_hop + "\nmyhostname = " + c.myhostname +
         "\nrules = " + c.rules + "\nquarantine_dir = " + c.quarantine_dir +
         "\ntls_cert_file = " + c.tls_cert_file + "\ntls_key_file = " + c.tls_key_file +
         "\nrelay_tls = " + c.relay_tls + "\nrelay_tls_ca_file = " + c.relay_tls_ca_file +
         "\nxforward_hosts = " + hosts + "\nsmtp = " + c.smtp +
         "\nfiledrop_inbox = " + c.filedrop_inbox + "\nfiledrop_outbox = " + c.filedrop_outbox + "\n";
}

}  // namespace mugai::smtp
