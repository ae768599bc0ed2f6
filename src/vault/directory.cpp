// The vault's directory and access decisions (include/mugai/vault/directory.h).
#include "mugai/vault/directory.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "mugai/core/verdict.h"

namespace mugai::vault {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// One of the record's recipients is an address of the user's; for a file-drop item, the user
/// is the one whose share folder it came from (its one recipient is that login).
bool isRecipient(const User& user, const RecordInfo& record) {
  if (record.kind == "file") {
    return !record.envelope.recipients.empty() &&
           lower(record.envelope.recipients.front()) == lower(user.login);
  }
  for (const auto& r : record.envelope.recipients) {
    if (contains(user.emails, lower(r))) return true;
  }
  return false;
}

Decision allow() { return {true, "", ""}; }
Decision deny(std::string ja, std::string en) { return {false, std::move(ja), std::move(en)}; }

}  // namespace

const char* roleName(Role r) {
  switch (r) {
    case Role::Staff: return "staff";
    case Role::Approver: return "approver";
    case Role::SecurityAdmin: return "security_admin";
    case Role::Auditor: return "auditor";
  }
  return "staff";
}

/// Reads a directory file one section at a time; every problem is one "FILE:LINE: key: text".
class DirectoryLoader {
 public:
  DirectoryLoader(std::string path, std::vector<std::string>& errors)
      : path_(std::move(path)), errors_(errors) {}

  std::shared_ptr<const Directory> load() {
    YAML::Node loaded;
    try {
      loaded = YAML::LoadFile(path_);
    } catch (const YAML::Exception& e) {
      errors_.push_back(path_ + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
      return nullptr;
    }
    const YAML::Node root = loaded;  // const: operator[] never adds keys
    try {
      if (!root.IsMap()) {
        errors_.push_back(path_ + ":1: a directory file is a mapping with users: and groups:");
        return nullptr;
      }
      for (const auto& kv : root) {
        const std::string k = kv.first.as<std::string>("");
        if (k != "users" && k != "groups") err(kv.first, k, "unknown key (expected users, groups)");
      }
      if (const auto users = root["users"]) loadUsers(users);
      if (const auto groups = root["groups"]) loadGroups(groups);
      checkGroupsKnown();
    } catch (const YAML::Exception& e) {
      errors_.push_back(path_ + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!errors_.empty()) return nullptr;
    return dir_;
  }

 private:
  void err(const YAML::Node& at, const std::string& key, const std::string& text) {
    int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    errors_.push_back(path_ + ":" + std::to_string(line) + ": " + key + ": " + text);
  }

  std::vector<std::string> list(const YAML::Node& n, const std::string& key) {
    std::vector<std::string> out;
    if (!n.IsDefined() || n.IsNull()) return out;  // a missing key: nothing
    if (n.IsScalar()) out.push_back(n.Scalar());
    else if (n.IsSequence()) for (const auto& x : n) out.push_back(x.as<std::string>(""));
    else err(n, key, "must be a value or a list");
    return out;
  }

  void loadUsers(const YAML::Node& users) {
    if (!users.IsMap()) err(users, "users", "must be a mapping of login: {...}");
    std::set<std::string> logins;
    for (const auto& kv : users) {
      User u;
      u.login = kv.first.as<std::string>("");
      const std::string where = "users." + u.login;
      // Logins that differ only in case are one user to the file drop (its owner is compared
      // without case: share folders on Windows) and so may not be two users here.
      if (!logins.insert(lower(u.login)).second) err(kv.first, where, "appears twice (letter case aside)");
      const YAML::Node n = kv.second;
      if (!n.IsMap() && !n.IsNull()) {
        err(n, where, "must be a mapping (email, role, groups, disabled)");
        continue;
      }
      for (const auto& f : n) {
        const std::string fk = f.first.as<std::string>("");
        if (fk != "email" && fk != "role" && fk != "groups" && fk != "disabled") {
          err(f.first, where + "." + fk, "unknown key (expected email, role, groups, disabled)");
        }
      }
      for (auto& e : list(n["email"], where + ".email")) {
        e = lower(e);
        if (e.find('@') == std::string::npos) err(n["email"], where + ".email", "'" + e + "' is not an address");
        if (!addresses_.insert(e).second) err(n["email"], where + ".email", "'" + e + "' belongs to two users");
        u.emails.push_back(e);
      }
      if (n["role"]) u.role = role(n["role"], where + ".role");
      u.groups = list(n["groups"], where + ".groups");
      if (n["disabled"]) u.disabled = n["disabled"].as<bool>(false);
      dir_->users_.push_back(std::move(u));
    }
  }

  Role role(const YAML::Node& n, const std::string& key) {
    const std::string r = n.as<std::string>("");
    if (r == "staff") return Role::Staff;
    if (r == "approver") return Role::Approver;
    if (r == "security_admin") return Role::SecurityAdmin;
    if (r == "auditor") return Role::Auditor;
    err(n, key, "unknown role '" + r + "' (staff, approver, security_admin, auditor)");
    return Role::Staff;
  }

  void loadGroups(const YAML::Node& groups) {
    if (!groups.IsMap()) err(groups, "groups", "must be a mapping of group: {approvers: [...]}");
    for (const auto& kv : groups) {
      const std::string g = kv.first.as<std::string>("");
      const std::string where = "groups." + g;
      if (!kv.second.IsMap()) {
        err(kv.second, where, "must be a mapping with approvers:");
        continue;
      }
      for (const auto& f : kv.second) {
        const std::string fk = f.first.as<std::string>("");
        if (fk != "approvers") err(f.first, where + "." + fk, "unknown key (expected approvers)");
      }
      auto approvers = list(kv.second["approvers"], where + ".approvers");
      if (approvers.empty()) err(kv.second, where + ".approvers", "a group needs at least one approver");
      for (const auto& a : approvers) {
        const User* u = dir_->find(a);
        if (!u) {
          err(kv.second["approvers"], where + ".approvers", "'" + a + "' is not a user");
        } else if (u->role != Role::Approver && u->role != Role::SecurityAdmin) {
          err(kv.second["approvers"], where + ".approvers", "'" + a + "' does not have the role approver");
        }
      }
      dir_->groups_.emplace_back(g, std::move(approvers));
    }
  }

  void checkGroupsKnown() {
    for (const auto& u : dir_->users_) {
      for (const auto& g : u.groups) {
        bool known = std::any_of(dir_->groups_.begin(), dir_->groups_.end(),
                                 [&](const auto& p) { return p.first == g; });
        if (!known) errors_.push_back(path_ + ": users." + u.login + ".groups: '" + g + "' is not a group");
      }
    }
  }

  std::string path_;
  std::vector<std::string>& errors_;
  std::shared_ptr<Directory> dir_ = std::make_shared<Directory>();
  std::set<std::string> addresses_;
};

std::shared_ptr<const Directory> Directory::load(const std::string& path,
                                                 std::vector<std::string>& errors) {
  return DirectoryLoader(path, errors).load();
}

User Directory::hostAdmin(const std::string& name) {
  User u;
  u.login = name;
  u.role = Role::SecurityAdmin;
  return u;
}

std::shared_ptr<const Directory> Directory::withUsers(const Directory* base,
                                                     const std::vector<User>& extra) {
  auto d = std::make_shared<Directory>();
  if (base) *d = *base;
  for (const auto& u : extra) {
    if (d->find(u.login)) continue;
    d->users_.push_back(u);
    if (u.role != Role::Approver) continue;
    for (const auto& g : u.groups) {
      auto it = std::find_if(d->groups_.begin(), d->groups_.end(),
                             [&](const auto& p) { return p.first == g; });
      if (it == d->groups_.end()) {
        d->groups_.emplace_back(g, std::vector<std::string>{u.login});
      } else if (!contains(it->second, u.login)) {
        it->second.push_back(u.login);
      }
    }
  }
  return d;
}

const User* Directory::find(const std::string& login) const {
  for (const auto& u : users_) {
    if (u.login == login) return &u;
  }
  return nullptr;
}

std::vector<std::string> Directory::approversFor(const User& requester) const {
  std::vector<std::string> out;
  for (const auto& [g, approvers] : groups_) {
    if (!contains(requester.groups, g)) continue;
    for (const auto& a : approvers) {
      if (a != requester.login && !contains(out, a)) out.push_back(a);
    }
  }
  return out;
}

Decision maySee(const User& user, const RecordInfo& record, const Directory* directory) {
  if (user.disabled) return deny("このアカウントは無効です。", "This account is disabled.");
  if (user.role == Role::SecurityAdmin || user.role == Role::Auditor) return allow();
  if (isRecipient(user, record)) return allow();
  if (user.role == Role::Approver && directory) {
    for (const auto& other : directory->users()) {
      if (isRecipient(other, record) && contains(directory->approversFor(other), user.login)) {
        return allow();
      }
    }
  }
  return deny("この項目を表示する権限がありません。", "You may not see this item.");
}

Decision mayRequest(const User& user, const RecordInfo& record) {
  if (user.disabled) return deny("このアカウントは無効です。", "This account is disabled.");
  if (record.tier == Tier::Never) {
    return deny("この原本は規則により取り出せません。", "The rules never release this original.");
  }
  if (user.role == Role::SecurityAdmin) return allow();
  if (user.role == Role::Auditor) return deny("監査担当は閲覧のみです。", "Auditors may only read.");
  if (!isRecipient(user, record)) {
    return deny("ご自身宛ての項目ではありません。", "This item was not addressed to you.");
  }
  if (record.tier == Tier::Admin) {
    return deny("この原本は情報セキュリティ担当のみが取り出せます（" + record.reason + "）。",
                "Only the security team may release this original (" + record.reason + ").");
  }
  return allow();
}

Decision mayDecide(const User& user, const User* requester, const RecordInfo& record,
                   const Directory* directory) {
  if (user.disabled) return deny("このアカウントは無効です。", "This account is disabled.");
  if (record.tier == Tier::Never) {
    return deny("この原本は規則により取り出せません。", "The rules never release this original.");
  }
  if (user.role == Role::SecurityAdmin) return allow();
  if (requester && requester->login == user.login) {
    return deny("ご自身の申請は承認できません。", "You cannot decide your own request.");
  }
  if (record.tier == Tier::Admin) {
    return deny("この原本は情報セキュリティ担当のみが判断できます。",
                "Only the security team may decide on this original.");
  }
  if (user.role != Role::Approver || !requester || !directory ||
      !contains(directory->approversFor(*requester), user.login)) {
    return deny("この申請の承認者ではありません。", "You are not an approver for this request.");
  }
  return allow();
}

Decision mayAdminister(const User& user) {
  if (!user.disabled && user.role == Role::SecurityAdmin) return allow();
  return deny("情報セキュリティ担当のみが行えます。", "Only the security team may do this.");
}

Tier tierFor(const policy::VaultRules& rules, const std::vector<std::string>& reasons) {
  return tierFromName(rules.tierFor(reasons)).value_or(Tier::Admin);
}

std::int64_t expiresFor(const policy::VaultRules& rules, const std::string& verdict,
                        const std::vector<std::string>& reasons, std::int64_t created) {
  unsigned days = rules.retention_default_days;
  if (auto it = rules.retention_by_verdict.find(verdict); it != rules.retention_by_verdict.end()) {
    days = it->second;
  }
  for (const auto& name : reasons) {
    auto r = reasonByName(name);
    if (!r) continue;
    if (auto it = rules.retention_by_reason.find(*r); it != rules.retention_by_reason.end()) {
      days = std::max(days, it->second);
    }
  }
  return created + static_cast<std::int64_t>(days) * 86400;
}

std::size_t approvalsNeeded(const policy::VaultRules& rules, const User* requester,
                            const Directory* directory) {
  if (rules.approval != "all" || !requester || !directory) return 1;
  return std::max<std::size_t>(1, directory->approversFor(*requester).size());
}

}  // namespace mugai::vault
