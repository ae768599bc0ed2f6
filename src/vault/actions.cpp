#include "mugai/vault/actions.h"

namespace mugai::vault {

void auditRefusal(Vault& vault, const User& actor, const std::string& what,
                  const std::string& record_id, const Decision& d) {
  std::string err;
  vault.appendAudit(actor.login, roleName(actor.role), "refused", record_id, what + ": " + d.why_en,
                    &err);
}

ActionResult requestOriginal(Vault& vault, const User& actor, const RecordInfo& record,
                             const std::string& reason) {
  ActionResult out;
  if (auto d = mayRequest(actor, record); !d.allowed) {
    auditRefusal(vault, actor, "request", record.id, d);
    out.refused = true;
    out.decision = d;
    return out;
  }
  if (!vault.addRequest(record.id, actor.login, reason, roleName(actor.role), out.request,
                        &out.error)) {
    return out;
  }
  out.state = "pending";
  if (record.tier == Tier::Self) {
    if (!vault.decide(out.request.id, true, "rules:self", "system", "tier self", 1, &out.error,
                      &out.state)) {
      return out;
    }
  }
  out.ok = true;
  return out;
}

ActionResult decideRequest(Vault& vault, const User& actor, const RecordInfo& record,
                           std::int64_t request_id, bool approve, const std::string& reason,
                           const policy::VaultRules& rules, const Directory* directory,
                           const UserLookup& lookup) {
  ActionResult out;
  const char* verb = approve ? "approve" : "deny";
  std::vector<Request> reqs;
  if (!vault.requests(record.id, reqs, &out.error)) return out;
  const Request* req = nullptr;
  for (const auto& q : reqs) {
    if (!req && (request_id ? q.id == request_id : q.state == "pending")) req = &q;
  }
  if (!req) {
    out.error = "no pending request for " + record.id;
    return out;
  }
  const User* requester = lookup ? lookup(req->requester) : nullptr;
  if (auto d = mayDecide(actor, requester, record, directory); !d.allowed) {
    auditRefusal(vault, actor, verb, record.id, d);
    out.refused = true;
    out.decision = d;
    return out;
  }
  out.approvals_needed =
      actor.role == Role::SecurityAdmin ? 1 : approvalsNeeded(rules, requester, directory);
  out.request = *req;
  if (!vault.decide(req->id, approve, actor.login, roleName(actor.role), reason,
                    out.approvals_needed, &out.error, &out.state)) {
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace mugai::vault
