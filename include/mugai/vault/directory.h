/**
 * @file directory.h
 * @brief Who is who for the vault: users, their roles, groups and approvers (上長承認), and the
 *        decisions "may this user see / request / approve this record", in one place for the
 *        command line, the console and (later) LDAP.
 *
 * Trust: the directory file is the security team's configuration, validated on load; actor names
 *        come from the caller (`--by`, a console session) and are looked up here, never trusted
 *        for a role of their own.
 * Errors: load() returns nullptr with one line per problem ("FILE:LINE: key: text").
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mugai/policy/policy.h"
#include "mugai/vault/vault.h"

namespace mugai::vault {

enum class Role { Staff, Approver, SecurityAdmin, Auditor };
const char* roleName(Role r);

struct User {
  std::string login;
  std::vector<std::string> emails;  ///< lower case
  Role role = Role::Staff;
  std::vector<std::string> groups;
  bool disabled = false;
};

class Directory {
 public:
  static std::shared_ptr<const Directory> load(const std::string& path,
                                               std::vector<std::string>& errors);
  /// The host user running `mugai vault` without --by: the security admin.
  static User hostAdmin(const std::string& name);

  /// The directory with users from elsewhere (LDAP, as the console saw them at log-in) added; a
  /// login of the directory's own wins. An added approver approves for each of their groups.
  static std::shared_ptr<const Directory> withUsers(const Directory* base,
                                                    const std::vector<User>& extra);

  const User* find(const std::string& login) const;
  /// Everyone who approves for one of `requester`'s groups (not the requester).
  std::vector<std::string> approversFor(const User& requester) const;
  const std::vector<User>& users() const { return users_; }

 private:
  friend class DirectoryLoader;
  std::vector<User> users_;
  std::vector<std::pair<std::string, std::vector<std::string>>> groups_;  ///< group -> approvers
};

/// An access decision with the reason in both languages (shown to the user, audited).
struct Decision {
  bool allowed = false;
  std::string why_ja, why_en;
};

/// Staff see their own records (a recipient address of theirs); approvers also their groups'
/// requesters' records; security admins and auditors everything.
Decision maySee(const User& user, const RecordInfo& record, const Directory* directory);
/// A recipient asks for the original: tier self or approval, their own record; the security admin
/// for anything but never.
Decision mayRequest(const User& user, const RecordInfo& record);
/// An approver of one of the requester's groups (not the requester), or the security admin;
/// tier admin records only by the security admin.
Decision mayDecide(const User& user, const User* requester, const RecordInfo& record,
                   const Directory* directory);
/// Hold, unhold, purge, download of originals: the security admin.
Decision mayAdminister(const User& user);

/// The strictest release tier among a record's reasons (rules' vault.release).
Tier tierFor(const policy::VaultRules& rules, const std::vector<std::string>& reasons);
/// created + the longest retention among its verdict and reasons, in seconds.
std::int64_t expiresFor(const policy::VaultRules& rules, const std::string& verdict,
                        const std::vector<std::string>& reasons, std::int64_t created);
/// How many approvals a request needs: 1 (any), or the number of the requester's approvers (all).
std::size_t approvalsNeeded(const policy::VaultRules& rules, const User* requester,
                            const Directory* directory);

}  // namespace mugai::vault
