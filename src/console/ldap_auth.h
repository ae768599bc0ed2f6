// Log-in against LDAP / Active Directory with OpenLDAP's libldap (docs/console.md, "LDAP").
//
// A simple bind as the user (ldap_user_dn with %s = the login; an empty password is refused, so
// an unauthenticated bind never counts as a log-in), then, with the user's own rights, their
// `mail` and the groups under ldap_group_base that list them (member, uniqueMember or memberUid):
//   cn = ldap_admin_group -> security_admin; cn = ldap_auditor_group -> auditor;
//   cn = G + ldap_approver_suffix -> approver for group G; any other cn G -> member of group G.
// The strongest role wins (security_admin > auditor > approver > staff).
// Trust: the login is checked by the caller ([a-z0-9._@-]) and escaped for the DN and the filter.
// Limits: 10 s network and operation timeouts; 200 groups.
#pragma once

#include "src/console/app.h"
#include "src/console/config.h"

namespace mugai::console {

class OpenLdapAuth final : public LdapAuth {
 public:
  explicit OpenLdapAuth(ConsoleConfig config) : c_(std::move(config)) {}
  std::optional<vault::User> authenticate(const std::string& login, const std::string& password,
                                          std::string* why) override;

 private:
  ConsoleConfig c_;
};

}  // namespace mugai::console
