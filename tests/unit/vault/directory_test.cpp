// The vault's directory and who may see, request and decide what: staff only their own items,
// approvers their groups' requests (not their own), admin-tier only the security team.
#include "mugai/vault/directory.h"

#include <catch2/catch.hpp>

#include "support/test_support.h"

namespace mv = mugai::vault;

namespace {

std::shared_ptr<const mv::Directory> exampleDirectory() {
  std::vector<std::string> errors;
  auto d = mv::Directory::load((mugai::test::sourceDir() / "rules" / "directory.example.yaml").string(), errors);
  for (const auto& e : errors) INFO(e);
  REQUIRE(d);
  return d;
}

mv::RecordInfo recordFor(const std::string& rcpt, mv::Tier tier) {
  mv::RecordInfo r;
  r.id = "id-1";
  r.envelope.recipients = {rcpt};
  r.tier = tier;
  r.reason = "content.active";
  return r;
}

}  // namespace

TEST_CASE("directory: the shipped example loads, groups give approvers") {
  auto d = exampleDirectory();
  const mv::User* tanaka = d->find("tanaka");
  REQUIRE(tanaka);
  CHECK(tanaka->role == mv::Role::Staff);
  CHECK(d->approversFor(*tanaka) == std::vector<std::string>{"sato"});
  CHECK(d->approversFor(*d->find("suzuki")) == std::vector<std::string>{"yamada", "sato"});
  CHECK(d->find("joho-admin")->role == mv::Role::SecurityAdmin);
  CHECK_FALSE(d->find("nobody"));
}

TEST_CASE("directory: staff A cannot see or request staff B's item, by changing the id or otherwise") {
  auto d = exampleDirectory();
  const auto& tanaka = *d->find("tanaka");
  const auto& suzuki = *d->find("suzuki");
  auto mine = recordFor("Tanaka@City.Example.LG.JP", mv::Tier::Approval);
  CHECK(mv::maySee(tanaka, mine, d.get()).allowed);
  CHECK(mv::mayRequest(tanaka, mine).allowed);
  auto no = mv::maySee(suzuki, mine, d.get());
  CHECK_FALSE(no.allowed);
  CHECK(no.why_ja.find("権限") != std::string::npos);
  CHECK_FALSE(mv::mayRequest(suzuki, mine).allowed);
  // The approver of tanaka's group sees it; the other group's approver does not.
  CHECK(mv::maySee(*d->find("sato"), mine, d.get()).allowed);
  CHECK_FALSE(mv::maySee(*d->find("yamada"), mine, d.get()).allowed);
  CHECK(mv::maySee(*d->find("kansa"), mine, d.get()).allowed);
  CHECK_FALSE(mv::mayRequest(*d->find("kansa"), mine).allowed);
}

TEST_CASE("directory: tiers decide who may request and decide") {
  auto d = exampleDirectory();
  const auto& tanaka = *d->find("tanaka");
  const auto& sato = *d->find("sato");
  const auto admin = mv::Directory::hostAdmin("host:root");
  auto approval = recordFor("tanaka@city.example.lg.jp", mv::Tier::Approval);
  CHECK(mv::mayDecide(sato, &tanaka, approval, d.get()).allowed);
  CHECK_FALSE(mv::mayDecide(*d->find("yamada"), &tanaka, approval, d.get()).allowed);
  CHECK_FALSE(mv::mayDecide(tanaka, &tanaka, approval, d.get()).allowed);  // not their own
  auto adminTier = recordFor("tanaka@city.example.lg.jp", mv::Tier::Admin);
  auto refused = mv::mayRequest(tanaka, adminTier);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.why_en.find("security team") != std::string::npos);
  CHECK_FALSE(mv::mayDecide(sato, &tanaka, adminTier, d.get()).allowed);
  CHECK(mv::mayDecide(admin, &tanaka, adminTier, d.get()).allowed);
  auto never = recordFor("tanaka@city.example.lg.jp", mv::Tier::Never);
  CHECK_FALSE(mv::mayRequest(admin, never).allowed);
  CHECK_FALSE(mv::mayDecide(admin, &tanaka, never, d.get()).allowed);
  CHECK(mv::mayAdminister(admin).allowed);
  CHECK_FALSE(mv::mayAdminister(sato).allowed);
  mv::User disabled = tanaka;
  disabled.disabled = true;
  CHECK_FALSE(mv::maySee(disabled, approval, d.get()).allowed);
}

TEST_CASE("directory: the strictest tier and the longest retention of a record's reasons") {
  mugai::policy::VaultRules rules;
  rules.release_default = "approval";
  rules.release_by_reason[mugai::Reason::AvInfected] = "admin";
  rules.release_by_reason[mugai::Reason::FilenameChanged] = "self";
  rules.retention_default_days = 30;
  rules.retention_by_verdict["blocked"] = 90;
  rules.retention_by_reason[mugai::Reason::AvInfected] = 180;
  CHECK(mv::tierFor(rules, {"content.active"}) == mv::Tier::Approval);
  CHECK(mv::tierFor(rules, {"filename.changed", "av.infected"}) == mv::Tier::Admin);
  CHECK(mv::expiresFor(rules, "sanitized", {"content.active"}, 0) == 30 * 86400);
  CHECK(mv::expiresFor(rules, "blocked", {"content.active"}, 0) == 90 * 86400);
  CHECK(mv::expiresFor(rules, "blocked", {"av.infected"}, 0) == 180 * 86400);
  rules.approval = "all";
  auto d = exampleDirectory();
  CHECK(mv::approvalsNeeded(rules, d->find("suzuki"), d.get()) == 2);
  rules.approval = "any";
  CHECK(mv::approvalsNeeded(rules, d->find("suzuki"), d.get()) == 1);
}

TEST_CASE("directory: errors name the file, line and key") {
  mugai::test::TempDir t;
  auto p = t.path() / "dir.yaml";
  mugai::test::writeFile(p, "users:\n  a:\n    email: [a@x.jp]\n    role: boss\n    groups: [nope]\n"
                            "  b:\n    email: A@X.JP\ngroups:\n  g:\n    approvers: [a]\n");
  std::vector<std::string> errors;
  CHECK_FALSE(mv::Directory::load(p.string(), errors));
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  INFO(all);
  CHECK(all.find("dir.yaml:4: users.a.role: unknown role 'boss'") != std::string::npos);
  CHECK(all.find("belongs to two users") != std::string::npos);
  CHECK(all.find("'nope' is not a group") != std::string::npos);
  CHECK(all.find("does not have the role approver") != std::string::npos);
}

TEST_CASE("directory: a file-drop item is its owner's, by login, and logins differing only in case are refused") {
  auto d = exampleDirectory();
  // A file-drop record's one recipient is the owner's login (its share folder's name).
  mv::RecordInfo file = recordFor("tanaka", mv::Tier::Approval);
  file.kind = "file";
  const mv::User* tanaka = d->find("tanaka");
  REQUIRE(tanaka);
  CHECK(mv::maySee(*tanaka, file, d.get()).allowed);
  CHECK(mv::mayRequest(*tanaka, file).allowed);
  for (const auto& u : {"suzuki", "yamada"}) {
    if (const mv::User* other = d->find(u); other && other->role == mv::Role::Staff) {
      INFO(u);
      CHECK_FALSE(mv::maySee(*other, file, d.get()).allowed);
    }
  }
  // A mail record whose recipient is the text of a login is not that user's (mail is by address).
  mv::RecordInfo mail = recordFor("tanaka", mv::Tier::Approval);
  mail.kind = "mail";
  CHECK_FALSE(mv::maySee(*tanaka, mail, d.get()).allowed);
  mugai::test::TempDir t;
  auto p = t.path() / "dir.yaml";
  mugai::test::writeFile(p, "users:\n  alice:\n    email: [alice@x.jp]\n  Alice:\n    email: [alice2@x.jp]\n");
  std::vector<std::string> errors;
  CHECK_FALSE(mv::Directory::load(p.string(), errors));
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  CHECK(all.find("appears twice (letter case aside)") != std::string::npos);
}
