// LDAP log-in against a real slapd started by the test (a throwaway slapd.conf and mdb database on
// a free 127.0.0.1 port): the bind, mail and group membership -> role and approver group, and the
// whole request/approve loop between two LDAP users through the console.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "console_fixture.h"
#include "src/console/ldap_auth.h"
#include "support/tools.h"

extern char** environ;

using namespace mugai::test;
namespace mv = mugai::vault;

namespace {

std::uint16_t freeLocalPort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

const char* kLdif = R"(dn: dc=city,dc=example
objectClass: dcObject
objectClass: organization
dc: city
o: City

dn: ou=people,dc=city,dc=example
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=city,dc=example
objectClass: organizationalUnit
ou: groups

dn: uid=kato,ou=people,dc=city,dc=example
objectClass: inetOrgPerson
uid: kato
cn: Kato
sn: Kato
mail: Kato@City.Example.LG.JP
userPassword: kato ldap pw 1

dn: uid=kacho,ou=people,dc=city,dc=example
objectClass: inetOrgPerson
uid: kacho
cn: Kacho
sn: Kacho
mail: kacho@city.example.lg.jp
userPassword: kacho ldap pw 1

dn: uid=joho,ou=people,dc=city,dc=example
objectClass: inetOrgPerson
uid: joho
cn: Joho
sn: Joho
userPassword: joho ldap pw 1

dn: cn=somu,ou=groups,dc=city,dc=example
objectClass: groupOfNames
cn: somu
member: uid=kato,ou=people,dc=city,dc=example

dn: cn=somu-approvers,ou=groups,dc=city,dc=example
objectClass: groupOfNames
cn: somu-approvers
member: uid=kacho,ou=people,dc=city,dc=example

dn: cn=mugai-admins,ou=groups,dc=city,dc=example
objectClass: groupOfNames
cn: mugai-admins
member: uid=joho,ou=people,dc=city,dc=example
)";

/// slapd with a throwaway config and database; stopped by the destructor.
class Slapd {
 public:
  Slapd() {
    if (toolMissing("slapd") || toolMissing("slapadd")) return;
    const auto d = dir_.path();
    std::filesystem::create_directories(d / "db");
    writeFile(d / "slapd.conf",
              "include /etc/ldap/schema/core.schema\n"
              "include /etc/ldap/schema/cosine.schema\n"
              "include /etc/ldap/schema/inetorgperson.schema\n"
              "include /etc/ldap/schema/nis.schema\n"
              "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
              "pidfile " + (d / "slapd.pid").string() + "\n"
              "database mdb\nmaxsize 10485760\nsuffix \"dc=city,dc=example\"\n"
              "rootdn \"cn=admin,dc=city,dc=example\"\nrootpw admin-secret\n"
              "directory " + (d / "db").string() + "\n"
              "access to attrs=userPassword by self read by anonymous auth by * none\n"
              "access to * by users read by * none\n");
    writeFile(d / "data.ldif", kLdif);
    auto r = runTool({"slapadd", "-f", (d / "slapd.conf").string(), "-l", (d / "data.ldif").string()},
                     std::chrono::seconds(60));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    port_ = freeLocalPort();
    uri_ = "ldap://127.0.0.1:" + std::to_string(port_) + "/";
    const std::string conf = (d / "slapd.conf").string();
    std::vector<std::string> argv{findTool("slapd"), "-d", "0", "-f", conf, "-h", uri_};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) == 0);
    for (int i = 0; i < 100; ++i) {  // until it accepts connections
      int s = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(s);
      if (up) {
        up_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(up_);
  }
  ~Slapd() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  bool up() const { return up_; }
  mugai::console::ConsoleConfig config() const {
    mugai::console::ConsoleConfig c;
    c.ldap_uri = uri_;
    c.ldap_user_dn = "uid=%s,ou=people,dc=city,dc=example";
    c.ldap_group_base = "ou=groups,dc=city,dc=example";
    return c;
  }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string uri_;
  bool up_ = false;
};

}  // namespace

TEST_CASE("console: LDAP bind against a real slapd, group membership gives role and approver group") {
  Slapd slapd;
  if (!slapd.up()) return;
  mugai::console::OpenLdapAuth auth(slapd.config());
  std::string why;
  auto kato = auth.authenticate("kato", "kato ldap pw 1", &why);
  INFO(why);
  REQUIRE(kato);
  CHECK(kato->role == mv::Role::Staff);
  CHECK(kato->groups == std::vector<std::string>{"somu"});
  CHECK(kato->emails == std::vector<std::string>{"kato@city.example.lg.jp"});
  auto kacho = auth.authenticate("kacho", "kacho ldap pw 1", &why);
  REQUIRE(kacho);
  CHECK(kacho->role == mv::Role::Approver);
  CHECK(kacho->groups == std::vector<std::string>{"somu"});
  auto joho = auth.authenticate("joho", "joho ldap pw 1", &why);
  REQUIRE(joho);
  CHECK(joho->role == mv::Role::SecurityAdmin);
  CHECK_FALSE(auth.authenticate("kato", "wrong", &why));
  CHECK(why.find("bind") != std::string::npos);
  CHECK_FALSE(auth.authenticate("kato", "", &why));  // never an unauthenticated bind
  CHECK_FALSE(auth.authenticate("nobody", "kato ldap pw 1", &why));
  CHECK_FALSE(auth.authenticate("kato,ou=people", "kato ldap pw 1", &why));  // escaped, no such DN
}

TEST_CASE("console: two LDAP users through the console, staff requests and the LDAP approver approves") {
  Slapd slapd;
  if (!slapd.up()) return;
  TempDir dir;
  std::string err;
  auto vault = mv::openVault("sqlite:" + (dir.path() / "vault.db").string(), &err);
  REQUIRE(vault);
  auto users = mugai::console::UserStore::open((dir.path() / "users.db").string(), &err);
  REQUIRE(users);
  REQUIRE(vault->put(makeRecord("20261206T110000-eeeeee", "kato@city.example.lg.jp", "LDAP の件",
                                "form.docm", "content.active", mv::Tier::Approval),
                     &err));
  mugai::console::OpenLdapAuth auth(slapd.config());
  mugai::console::ConsoleDeps d;
  d.vault = vault.get();
  d.users = users.get();
  d.ldap = &auth;
  d.config = slapd.config();
  mugai::console::Console console(std::move(d));
  auto server = mugai::console::Server::start(console, "127.0.0.1:0", "", "", &err);
  REQUIRE(server);
  Browser kato(server->port()), kacho(server->port()), joho(server->port());
  CHECK(kato.login("kato", "bad password!").status == 401);
  REQUIRE(kato.login("kato", "kato ldap pw 1").status == 303);
  auto list = kato.get("/items");
  CHECK(list.body.find("LDAP の件") != std::string::npos);
  kato.get("/items/20261206T110000-eeeeee");
  CHECK(kato.post("/items/20261206T110000-eeeeee/request", {{"reason", "業務で必要"}}).status == 200);
  REQUIRE(kacho.login("kacho", "kacho ldap pw 1").status == 303);
  CHECK(kacho.get("/approvals").body.find("業務で必要") != std::string::npos);
  kacho.get("/items/20261206T110000-eeeeee");
  auto done = kacho.post("/items/20261206T110000-eeeeee/decide", {{"decision", "approve"}});
  CHECK(done.body.find("承認しました") != std::string::npos);
  CHECK(vault->get("20261206T110000-eeeeee", &err)->state == "approved");
  REQUIRE(joho.login("joho", "joho ldap pw 1").status == 303);
  CHECK(joho.get("/stats").status == 200);
  std::vector<mv::AuditRow> rows;
  vault->audit(0, rows, &err);
  bool ldap_login = false;
  for (const auto& r : rows) ldap_login |= r.action == "login" && r.actor == "kacho" && r.detail.find("ldap") == 0;
  CHECK(ldap_login);
}
