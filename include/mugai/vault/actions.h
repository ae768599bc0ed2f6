/**
 * @file actions.h
 * @brief Asking for an original and deciding on a request, checked and audited in one place for
 *        every front end (the console; `mugai vault request|approve|deny` has its own steps
 *        today and should move here once the release work, which extends them, is merged).
 *
 * Trust: `actor` comes from the caller's authentication (a console session, --by); the checks are
 *        directory.h's maySee/mayRequest/mayDecide; a refusal is audited ("refused") here.
 * Errors: ok=false with refused=true (the decision's texts) or error (a vault error).
 */
#pragma once

#include <functional>
#include <string>

#include "mugai/policy/policy.h"
#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"

namespace mugai::vault {

struct ActionResult {
  bool ok = false;
  bool refused = false;
  Decision decision;     ///< when refused
  std::string error;     ///< when the vault failed
  std::string state;     ///< the request's state afterwards (pending | approved | denied)
  Request request;       ///< the request made or decided
  std::size_t approvals_needed = 1;
};

/// Finds a user by login (the directory, then e.g. LDAP users seen by the console).
using UserLookup = std::function<const User*(const std::string& login)>;

/// A recipient (or the security admin) asks for `record`'s original with a written reason; tier
/// self is granted at once ("rules:self").
ActionResult requestOriginal(Vault& vault, const User& actor, const RecordInfo& record,
                             const std::string& reason);

/// Approve or deny request `request_id` (0: the first pending one) of `record`.
ActionResult decideRequest(Vault& vault, const User& actor, const RecordInfo& record,
                           std::int64_t request_id, bool approve, const std::string& reason,
                           const policy::VaultRules& rules, const Directory* directory,
                           const UserLookup& lookup);

/// Audits a refusal: actor, role, "refused", record, "<what>: <why_en>".
void auditRefusal(Vault& vault, const User& actor, const std::string& what,
                  const std::string& record_id, const Decision& d);

}  // namespace mugai::vault
