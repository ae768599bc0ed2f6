// The console's config file (`mugai console --config FILE`; docs/console.md, "Configuration"):
// `key = value` lines, `#` comments, unknown keys are errors — the same format as mugai.conf.
// The keys are one table (kConsoleKeys in config.cpp): name, default, meaning.
// Trust: the file is the operator's. Errors: false with "FILE:LINE: ..." lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mugai::console {

struct ConsoleConfig {
  std::string listen = "127.0.0.1:8080";
  std::string vault;            ///< empty: $MUGAI_VAULT or sqlite:/var/lib/mugai/vault.db
  std::string rules;            ///< empty: the embedded rules
  std::string tls_cert_file, tls_key_file;  ///< both set: HTTPS (required off loopback)
  std::string users;            ///< accounts file; empty: console-users.db beside a SQLite vault
  std::string public_url;       ///< how staff reach the console (shown on pages; notices)
  std::string mugai_binary;     ///< for `rules check` and dry runs; empty: mugai beside us
  unsigned idle_minutes = 15;
  unsigned login_limit_per_user = 5;
  unsigned login_limit_per_address = 20;
  unsigned login_window_minutes = 15;
  // LDAP / Active Directory (empty ldap_uri: local accounts only).
  std::string ldap_uri;           ///< ldap://host:389 or ldaps://host
  std::string ldap_user_dn;       ///< bind DN template, %s = the login ("uid=%s,ou=people,dc=...")
  std::string ldap_group_base;    ///< where groups are searched ((member=USER-DN))
  std::string ldap_admin_group = "mugai-admins";      ///< cn -> security_admin
  std::string ldap_auditor_group = "mugai-auditors";  ///< cn -> auditor
  std::string ldap_approver_suffix = "-approvers";    ///< cn G-approvers -> approver of G
  bool ldap_starttls = false;
};

bool loadConsoleConfig(const std::string& path, ConsoleConfig& config,
                       std::vector<std::string>& errors);
/// Every key with its default and meaning, as a config file (docs, --print-config).
std::string describeConsoleConfig(const ConsoleConfig& config);

}  // namespace mugai::console
