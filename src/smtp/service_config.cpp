#include "src/smtp/service_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
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

constexpr ServiceKeyInfo::Kind kKind_text = ServiceKeyInfo::Kind::Text;
constexpr ServiceKeyInfo::Kind kKind_list = ServiceKeyInfo::Kind::List;
constexpr ServiceKeyInfo::Kind kKind_yesno = ServiceKeyInfo::Kind::YesNo;
constexpr ServiceKeyInfo::Kind kKind_choice = ServiceKeyInfo::Kind::Choice;
constexpr bool kReload_reload = true;
constexpr bool kReload_restart = false;
constexpr ServiceKeyInfo::Check kCheck_none = ServiceKeyInfo::Check::None;
constexpr ServiceKeyInfo::Check kCheck_hostport = ServiceKeyInfo::Check::HostPort;
constexpr ServiceKeyInfo::Check kCheck_size = ServiceKeyInfo::Check::Size;
constexpr ServiceKeyInfo::Check kCheck_url = ServiceKeyInfo::Check::Url;
constexpr ServiceKeyInfo::Check kCheck_mailbox = ServiceKeyInfo::Check::Mailbox;
constexpr ServiceKeyInfo::Check kCheck_authserv = ServiceKeyInfo::Check::Authserv;
constexpr ServiceKeyInfo::Check kCheck_nameserver = ServiceKeyInfo::Check::Nameserver;

// A row's member: a string (text, yesno, choice) or a list.
#define MUGAI_SERVICE_FIELD_text(n) &ServiceConfig::n, nullptr
#define MUGAI_SERVICE_FIELD_yesno(n) &ServiceConfig::n, nullptr
#define MUGAI_SERVICE_FIELD_choice(n) &ServiceConfig::n, nullptr
#define MUGAI_SERVICE_FIELD_list(n) nullptr, &ServiceConfig::n

const ServiceKeyInfo kKeys[] = {
#define MUGAI_SERVICE_KEY(name, kind, def, choices, reload, check, example, doc)              \
  {#name, kKind_##kind, def, choices, kReload_##reload, kCheck_##check, example, doc, \
   MUGAI_SERVICE_FIELD_##kind(name)},
#include "mugai/config/service.def"
};

struct OldName {
  const char* old_name;
  const char* name;
};
const OldName kOldNames[] = {
#define MUGAI_SERVICE_OLD_NAME(old_name, name) {#old_name, #name},
#include "mugai/config/service.def"
};

const ServiceKeyInfo* findKey(std::string_view name) {
  for (const auto& k : kKeys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

/// A key or an old name of one (`old` says which).
const ServiceKeyInfo* resolveKey(std::string_view name, bool* old) {
  *old = false;
  if (const ServiceKeyInfo* k = findKey(name)) return k;
  for (const auto& o : kOldNames) {
    if (name == o.old_name) {
      *old = true;
      return findKey(o.name);
    }
  }
  return nullptr;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

/// "yes|no" -> "yes or no", "none|may|encrypt" -> "none, may or encrypt".
std::string choicesText(std::string_view choices) {
  std::vector<std::string> c;
  std::size_t start = 0;
  for (std::size_t bar; (bar = choices.find('|', start)) != std::string_view::npos; start = bar + 1)
    c.emplace_back(choices.substr(start, bar - start));
  c.emplace_back(choices.substr(start));
  std::string out;
  for (std::size_t i = 0; i < c.size(); ++i) out += (i == 0 ? "" : i + 1 == c.size() ? " or " : ", ") + c[i];
  return out;
}

bool isChoice(std::string_view choices, std::string_view value) {
  std::size_t start = 0;
  for (;;) {
    std::size_t bar = choices.find('|', start);
    if (choices.substr(start, bar == std::string_view::npos ? bar : bar - start) == value) return true;
    if (bar == std::string_view::npos) return false;
    start = bar + 1;
  }
}

/// An authserv-id is a dot-atom (RFC 8601 2.2 value): nothing that could end the header field.
bool authservToken(const std::string& v) {
  return !v.empty() && v.size() <= 253 &&
         v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
             std::string::npos;
}

/// The key's own format (the row's check column): "" when fine, else why (after "KEY = 'V': ").
std::string checkFormat(ServiceKeyInfo::Check check, const std::string& v) {
  using Check = ServiceKeyInfo::Check;
  switch (check) {
    case Check::None: return "";
    case Check::HostPort: {
      std::string host, why;
      std::uint16_t port = 0;
      return parseHostPort(v, host, port, &why) ? "" : why;
    }
    case Check::Size: {
      std::uint64_t bytes = 0;
      return parseMemoryLimit(v, bytes) ? "" : "expected a size such as 6G or 512M (at least 64M), or none";
    }
    case Check::Url:
      return v.empty() || v.rfind("https://", 0) == 0 || v.rfind("http://", 0) == 0
                 ? ""
                 : "expected https://HOST[:PORT]";
    case Check::Mailbox:
      return v.empty() || (v.find('@') != std::string::npos &&
                           v.find_first_of(" <>,;\"\\") == std::string::npos)
                 ? ""
                 : "expected a plain mail address (mugai@gateway.example.lg.jp)";
    case Check::Authserv:
      return v.empty() || authservToken(v) ? "" : "letters, digits, '.', '-' and '_' only";
    case Check::Nameserver: {
      if (v.empty()) return "";
      std::string ip = v.substr(0, v.rfind(':'));
      unsigned char probe[4];
      std::string port = v.find(':') == std::string::npos ? "53" : v.substr(v.rfind(':') + 1);
      bool ok = inet_pton(AF_INET, ip.c_str(), probe) == 1 && !port.empty() && port.size() <= 5 &&
                port.find_first_not_of("0123456789") == std::string::npos &&
                std::stoul(port) != 0 && std::stoul(port) <= 65535;
      return ok ? "" : "expected an IPv4 address, optionally :PORT";
    }
  }
  return "";
}

/// Why one value of a text key (its choices, then its format), or one item of a list, is not
/// usable; empty when it is.
std::string valueProblem(const ServiceKeyInfo& k, const std::string& v) {
  if (!k.list && *k.choices && !isChoice(k.choices, v)) return "expected " + choicesText(k.choices);
  return checkFormat(k.check, v);
}

/// One row's checks on the loaded value: its choices, then its format (each item of a list).
void checkKey(const ServiceKeyInfo& k, const ServiceConfig& c, const std::string& where,
              std::vector<std::string>& errors) {
  if (k.list) {
    for (const auto& item : c.*k.list) {
      std::string why = valueProblem(k, item);
      if (!why.empty()) errors.push_back(where + k.name + ": '" + item + "': " + why);
    }
    return;
  }
  const std::string& v = c.*k.text;
  std::string why = valueProblem(k, v);
  if (why.empty()) return;
  if (*k.choices && !isChoice(k.choices, v)) {
    errors.push_back(where + k.name + ": " + why + " (not '" + v + "')");
  } else {
    errors.push_back(where + k.name + " = '" + v + "': " + why);
  }
}

}  // namespace

std::vector<std::string> splitServiceList(const std::string& v) {
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

const ServiceKeyInfo* serviceKeyTable(std::size_t* count) {
  *count = std::size(kKeys);
  return kKeys;
}

std::string serviceKeyValue(const ServiceConfig& c, const ServiceKeyInfo& k) {
  if (k.list) return joinList(c.*k.list);
  if (k.text == &ServiceConfig::vault) return vaultUrl(c);
  return c.*k.text;
}

bool setServiceKey(ServiceConfig& c, const std::string& key, const std::string& value) {
  bool old = false;
  const ServiceKeyInfo* k = resolveKey(key, &old);
  if (!k) return false;
  if (old && k->text == &ServiceConfig::state_dir) c.quarantine_dir_used = true;
  if (k->list) c.*k->list = splitServiceList(value);
  else c.*k->text = value;
  return true;
}

std::string checkServiceValue(const std::string& key, const std::string& value) {
  bool old = false;
  const ServiceKeyInfo* k = resolveKey(key, &old);
  if (!k) return "not a key of the service config";
  if (!k->list) return valueProblem(*k, value);
  for (const auto& item : splitServiceList(value)) {
    std::string why = valueProblem(*k, item);
    if (!why.empty()) return "'" + item + "': " + why;
  }
  return "";
}

std::vector<std::string> restartKeysChanged(const ServiceConfig& running, const ServiceConfig& fresh) {
  std::vector<std::string> changed;
  for (const auto& k : kKeys) {
    if (!k.reload && serviceKeyValue(running, k) != serviceKeyValue(fresh, k)) changed.push_back(k.name);
  }
  return changed;
}

std::string serviceKeysMarkdown() {
  auto cell = [](std::string s) {
    std::string out;
    for (char ch : s) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return out;
  };
  auto code = [&](const std::string& s) { return s.empty() ? std::string("(empty)") : "`" + cell(s) + "`"; };
  std::string t =
      "# Service configuration keys\n\n"
      "Generated by `mugai serve --print-config --markdown` from include/mugai/config/service.def.\n"
      "These are the admin's keys in `mugai.conf` (`key = value`, `#` comments; "
      "docs/deployment.md §4); integer limits are in [parameters.md](parameters.md), set under "
      "`limits:` in the rules. *SIGHUP*: `reload` keys take effect on SIGHUP, `restart` keys are "
      "bound at start (a change is logged and the running value kept). Each key is also an option of "
      "`mugai serve`, `--KEY VALUE` with `-` for `_` (`--relay-tls may`), applied over the file.\n\n"
      "| key | kind | default | SIGHUP | example | meaning |\n|---|---|---|---|---|---|\n";
  for (const auto& k : kKeys) {
    std::string kind = k.kind == ServiceKeyInfo::Kind::List ? "list" : *k.choices ? choicesText(k.choices) : "text";
    t += "| `" + std::string(k.name) + "` | " + cell(kind) + " | " + code(k.default_value) + " | " +
         (k.reload ? "reload" : "restart") + " | " + code(k.example) + " | " + cell(k.doc) + " |\n";
  }
  t += "\nOld names still read: ";
  for (std::size_t i = 0; i < std::size(kOldNames); ++i)
    t += std::string(i ? ", " : "") + "`" + kOldNames[i].old_name + "` (`" + kOldNames[i].name + "`)";
  t += ".\n";
  return t;
}

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
  std::vector<const char*> names;
  for (const auto& k : kKeys) names.push_back(k.name);
  for (const auto& o : kOldNames) names.push_back(o.old_name);
  // Edit distance (insert, delete, substitute), case-insensitive; a key that starts with what
  // was written ("quarantine" for "quarantine_dir") or ends with it ("inbox") counts as close.
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string k = lower(key);
  std::string best;
  std::size_t best_score = std::string::npos;
  for (const char* candidate : names) {
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

bool readServiceConfig(const std::string& path, ServiceConfig& c, std::vector<std::string>& errors) {
  std::ifstream in(path);
  if (!in) {
    errors.push_back(path + ": cannot read");
    return false;
  }
  std::size_t before = errors.size();
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
    if (!setServiceKey(c, key, value)) {
      std::string near = closestKey(key);
      errors.push_back(where + "unknown key '" + key + "'" +
                       (near.empty() ? " (integer limits are set under 'limits:' in the rules file)"
                                     : ": did you mean '" + near + "'?"));
    }
  }
  return errors.size() == before;
}

bool checkServiceConfig(const ServiceConfig& c, const std::string& where,
                        std::vector<std::string>& errors) {
  std::size_t before = errors.size();
  std::string w = where.empty() ? "" : where + ": ";
  // Each key's own checks (service.def: choices, format), on the values read.
  for (const auto& k : kKeys) checkKey(k, c, w, errors);
  // Checks across keys.
  if (c.filedrop_inbox.empty() != c.filedrop_outbox.empty()) {
    errors.push_back(w + "filedrop_inbox and filedrop_outbox go together (serve --inbox DIR --outbox DIR)");
  }
  if (c.smtp == "no" && c.filedrop_inbox.empty()) {
    errors.push_back(w + "smtp = no (--no-smtp) needs the file drop (filedrop_inbox, filedrop_outbox)");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    errors.push_back(w + "tls_cert_file and tls_key_file go together");
  }
  for (const auto& e : checkMonitoring(c)) errors.push_back(w + e);
  return errors.size() == before;
}

bool loadServiceConfig(const std::string& path, ServiceConfig& c, std::vector<std::string>& errors) {
  bool read = readServiceConfig(path, c, errors);
  bool checked = checkServiceConfig(c, path, errors);
  return read && checked;
}

std::string describeServiceConfig(const ServiceConfig& c) {
  std::string t;
  for (const auto& k : kKeys) t += std::string(k.name) + " = " + serviceKeyValue(c, k) + "\n";
  return t;
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
  obs::SinkTarget target;
  if (!c.syslog.empty() && !obs::parseSinkTarget(c.syslog, target, &why)) {
    errors.push_back("syslog = '" + c.syslog + "': " + why);
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
