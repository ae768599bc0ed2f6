#include "src/console/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace mugai::console {
namespace {

enum class Kind { Text, Count, Flag };

struct Key {
  const char* name;
  Kind kind;
  std::string ConsoleConfig::*text;
  unsigned ConsoleConfig::*count;
  bool ConsoleConfig::*flag;
  const char* doc;
};

// The one table of console keys.
const Key kConsoleKeys[] = {
    {"listen", Kind::Text, &ConsoleConfig::listen, nullptr, nullptr,
     "HOST:PORT; plain HTTP only on a loopback address, else tls_cert_file/tls_key_file"},
    {"vault", Kind::Text, &ConsoleConfig::vault, nullptr, nullptr,
     "sqlite:PATH or postgresql://... (the same vault as mugai serve)"},
    {"rules", Kind::Text, &ConsoleConfig::rules, nullptr, nullptr,
     "rules file whose vault: section gives tiers and the directory (empty: embedded)"},
    {"tls_cert_file", Kind::Text, &ConsoleConfig::tls_cert_file, nullptr, nullptr,
     "PEM certificate (chain) for HTTPS"},
    {"tls_key_file", Kind::Text, &ConsoleConfig::tls_key_file, nullptr, nullptr,
     "PEM private key for HTTPS"},
    {"users", Kind::Text, &ConsoleConfig::users, nullptr, nullptr,
     "local accounts file (empty: console-users.db beside a SQLite vault)"},
    {"public_url", Kind::Text, &ConsoleConfig::public_url, nullptr, nullptr,
     "the console's address as staff type it (https://mugai.city.example.lg.jp/)"},
    {"mugai_binary", Kind::Text, &ConsoleConfig::mugai_binary, nullptr, nullptr,
     "the mugai executable that checks uploaded rules (empty: the one beside mugai-console)"},
    {"idle_minutes", Kind::Count, nullptr, &ConsoleConfig::idle_minutes, nullptr,
     "a session idle this long is logged out"},
    {"login_limit_per_user", Kind::Count, nullptr, &ConsoleConfig::login_limit_per_user, nullptr,
     "failed log-ins per login within login_window_minutes before log-in is refused"},
    {"login_limit_per_address", Kind::Count, nullptr, &ConsoleConfig::login_limit_per_address,
     nullptr, "failed log-ins per client address within the window"},
    {"login_window_minutes", Kind::Count, nullptr, &ConsoleConfig::login_window_minutes, nullptr,
     "the throttle's window"},
    {"ldap_uri", Kind::Text, &ConsoleConfig::ldap_uri, nullptr, nullptr,
     "ldap://HOST or ldaps://HOST (empty: local accounts only)"},
    {"ldap_user_dn", Kind::Text, &ConsoleConfig::ldap_user_dn, nullptr, nullptr,
     "bind DN, %s is the login: uid=%s,ou=people,dc=city,dc=example (AD: %s@city.example)"},
    {"ldap_group_base", Kind::Text, &ConsoleConfig::ldap_group_base, nullptr, nullptr,
     "base DN searched for (member=USER-DN) groups"},
    {"ldap_admin_group", Kind::Text, &ConsoleConfig::ldap_admin_group, nullptr, nullptr,
     "group cn whose members are security admins"},
    {"ldap_auditor_group", Kind::Text, &ConsoleConfig::ldap_auditor_group, nullptr, nullptr,
     "group cn whose members are auditors"},
    {"ldap_approver_suffix", Kind::Text, &ConsoleConfig::ldap_approver_suffix, nullptr, nullptr,
     "a member of cn=G<suffix> approves for group G"},
    {"ldap_starttls", Kind::Flag, nullptr, nullptr, &ConsoleConfig::ldap_starttls,
     "yes: StartTLS on ldap:// before the bind"},
};

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

bool loadConsoleConfig(const std::string& path, ConsoleConfig& c, std::vector<std::string>& errors) {
  std::ifstream in(path);
  if (!in) {
    errors.push_back(path + ": cannot read");
    return false;
  }
  std::string line;
  const std::size_t before = errors.size();
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = path + ":" + std::to_string(n) + ": ";
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) {
      errors.push_back(where + "expected 'key = value'");
      continue;
    }
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    const Key* k = nullptr;
    for (const auto& x : kConsoleKeys) {
      if (key == x.name) k = &x;
    }
    if (!k) {
      errors.push_back(where + "unknown key '" + key + "' (docs/console.md lists the keys)");
      continue;
    }
    if (k->kind == Kind::Text) {
      c.*(k->text) = value;
    } else if (k->kind == Kind::Flag) {
      if (value != "yes" && value != "no") errors.push_back(where + key + " is yes or no");
      c.*(k->flag) = value == "yes";
    } else {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || v == 0 || v > 100000) {
        errors.push_back(where + key + " is a whole number from 1 to 100000");
      } else {
        c.*(k->count) = v;
      }
    }
  }
  return errors.size() == before;
}

std::string describeConsoleConfig(const ConsoleConfig& c) {
  std::ostringstream out;
  for (const auto& k : kConsoleKeys) {
    out << "# " << k.doc << "\n" << k.name << " = ";
    if (k.kind == Kind::Text) out << c.*(k.text);
    if (k.kind == Kind::Count) out << c.*(k.count);
    if (k.kind == Kind::Flag) out << (c.*(k.flag) ? "yes" : "no");
    out << "\n";
  }
  return out.str();
}

}  // namespace mugai::console
