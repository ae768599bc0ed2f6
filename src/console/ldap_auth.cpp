#include "src/console/ldap_auth.h"

#include <ldap.h>

#include <algorithm>
#include <cctype>

namespace mugai::console {
namespace {

/// RFC 4514 escaping of an attribute value in a DN.
std::string dnEscape(const std::string& s) {
  std::string o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' ||
        c == '=' || (c == '#' && i == 0) || (c == ' ' && (i == 0 || i + 1 == s.size()))) {
      o += '\\';
    }
    o += c;
  }
  return o;
}

/// RFC 4515 escaping of a value in a search filter.
std::string filterEscape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0) {
      char b[4];
      std::snprintf(b, sizeof b, "\\%02x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

std::vector<std::string> values(LDAP* ld, LDAPMessage* e, const char* attr) {
  std::vector<std::string> out;
  berval** v = ldap_get_values_len(ld, e, attr);
  if (!v) return out;
  for (int i = 0; v[i]; ++i) out.emplace_back(v[i]->bv_val, v[i]->bv_len);
  ldap_value_free_len(v);
  return out;
}

struct Conn {
  LDAP* ld = nullptr;
  ~Conn() {
    if (ld) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }
};

}  // namespace

std::optional<vault::User> OpenLdapAuth::authenticate(const std::string& login,
                                                      const std::string& password,
                                                      std::string* why) {
  auto fail = [&](const std::string& m) -> std::optional<vault::User> {
    if (why) *why = "ldap: " + m;
    return std::nullopt;
  };
  if (c_.ldap_uri.empty() || c_.ldap_user_dn.find("%s") == std::string::npos) {
    return fail("not configured");
  }
  if (password.empty()) return fail("empty password");
  Conn conn;
  if (ldap_initialize(&conn.ld, c_.ldap_uri.c_str()) != LDAP_SUCCESS) return fail("bad ldap_uri");
  int version = LDAP_VERSION3;
  ldap_set_option(conn.ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(conn.ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  timeval tv{10, 0};
  ldap_set_option(conn.ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(conn.ld, LDAP_OPT_TIMEOUT, &tv);
  if (c_.ldap_starttls && ldap_start_tls_s(conn.ld, nullptr, nullptr) != LDAP_SUCCESS) {
    return fail("StartTLS failed");
  }
  std::string dn = c_.ldap_user_dn;
  dn.replace(dn.find("%s"), 2, dnEscape(login));
  berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
  int rc = ldap_sasl_bind_s(conn.ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return fail(std::string("bind: ") + ldap_err2string(rc));

  vault::User u;
  u.login = login;
  {
    LDAPMessage* res = nullptr;
    char* attrs[] = {const_cast<char*>("mail"), nullptr};
    rc = ldap_search_ext_s(conn.ld, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
                           nullptr, nullptr, &tv, 1, &res);
    if (rc == LDAP_SUCCESS) {
      for (LDAPMessage* e = ldap_first_entry(conn.ld, res); e; e = ldap_next_entry(conn.ld, e)) {
        for (auto m : values(conn.ld, e, "mail")) {
          std::transform(m.begin(), m.end(), m.begin(),
                         [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
          u.emails.push_back(m);
        }
      }
    }
    ldap_msgfree(res);
  }
  if (!c_.ldap_group_base.empty()) {
    LDAPMessage* res = nullptr;
    char* attrs[] = {const_cast<char*>("cn"), nullptr};
    const std::string filter = "(|(member=" + filterEscape(dn) + ")(uniqueMember=" + filterEscape(dn) +
                               ")(memberUid=" + filterEscape(login) + "))";
    rc = ldap_search_ext_s(conn.ld, c_.ldap_group_base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                           attrs, 0, nullptr, nullptr, &tv, 200, &res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
      ldap_msgfree(res);
      return fail(std::string("group search: ") + ldap_err2string(rc));
    }
    auto rank = [](vault::Role r) {
      return r == vault::Role::SecurityAdmin ? 3 : r == vault::Role::Auditor ? 2 : r == vault::Role::Approver ? 1 : 0;
    };
    auto raise = [&](vault::Role r) {
      if (rank(r) > rank(u.role)) u.role = r;
    };
    const std::string& suffix = c_.ldap_approver_suffix;
    for (LDAPMessage* e = ldap_first_entry(conn.ld, res); e; e = ldap_next_entry(conn.ld, e)) {
      for (const auto& cn : values(conn.ld, e, "cn")) {
        if (cn == c_.ldap_admin_group) {
          raise(vault::Role::SecurityAdmin);
        } else if (cn == c_.ldap_auditor_group) {
          raise(vault::Role::Auditor);
        } else if (!suffix.empty() && cn.size() > suffix.size() && cn.ends_with(suffix)) {
          raise(vault::Role::Approver);
          const std::string g = cn.substr(0, cn.size() - suffix.size());
          if (std::find(u.groups.begin(), u.groups.end(), g) == u.groups.end()) u.groups.push_back(g);
        } else if (std::find(u.groups.begin(), u.groups.end(), cn) == u.groups.end()) {
          u.groups.push_back(cn);
        }
      }
    }
    ldap_msgfree(res);
  }
  return u;
}

}  // namespace mugai::console
