// mugai-console: the console's own executable (`mugai console ...` runs it). It links the vault,
// Poco's HTTP(S) server, libsodium and libldap — never libclamav, qpdf, Gumbo or the sanitizers:
// it parses no content (tests/licence_check.cmake checks its ldd).
#include <pwd.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "mugai/policy/vault_rules.h"
#include "src/notify/notify.h"
#include "src/console/app.h"
#include "src/console/config.h"
#include "src/console/ldap_auth.h"
#include "src/console/server.h"
#include "src/console/users.h"

namespace {

namespace fs = std::filesystem;
namespace mc = mugai::console;

const char* kUsage = R"(Usage: mugai console [--config FILE] [--listen HOST:PORT] [--vault URL] [--rules FILE]
                     [--users FILE]
       mugai console user add|passwd LOGIN [--password-file FILE]
       mugai console user disable|enable LOGIN
       mugai console user list
       mugai console --print-config

The web console over the vault (docs/console.md): 隔離一覧, 詳細, 申請/承認/却下, 統計, ルール,
監査ログ. Plain HTTP only on a loopback address; elsewhere give tls_cert_file and tls_key_file
in the config. Roles and groups come from the rules' directory (vault: directory:) or LDAP.
Local accounts (Argon2id) are kept in the users file (default: console-users.db beside a SQLite
vault). Without --password-file the password is read from the terminal (or one line of stdin).
Exit status: 0 done, 1 usage or setup error.
)";

struct Args {
  std::string config, listen, vault, rules, users, password_file;
  std::vector<std::string> positional;
  bool print_config = false;
};

int fail(const std::string& m) {
  std::cerr << "mugai console: " << m << "\n";
  return 1;
}

std::string hostActor() {
  const passwd* pw = getpwuid(getuid());
  return std::string("host:") + (pw ? pw->pw_name : std::to_string(getuid()));
}

std::string selfDir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::string readPassword(const std::string& file, const std::string& prompt) {
  std::string pw;
  if (!file.empty()) {
    std::ifstream in(file);
    std::getline(in, pw);
    return pw;
  }
  if (isatty(0)) {
    std::cerr << prompt << std::flush;
    termios old{}, quiet{};
    tcgetattr(0, &old);
    quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(0, TCSANOW, &quiet);
    std::getline(std::cin, pw);
    tcsetattr(0, TCSANOW, &old);
    std::cerr << "\n";
    return pw;
  }
  std::getline(std::cin, pw);
  return pw;
}

std::string defaultUsersPath(const std::string& vault_url) {
  std::string path = vault_url.rfind("sqlite:", 0) == 0 ? vault_url.substr(7) : vault_url;
  if (vault_url.find("://") != std::string::npos) return "/var/lib/mugai/console-users.db";
  fs::path p(path);
  return (p.has_parent_path() ? p.parent_path() : fs::path(".")) / "console-users.db";
}

int userCommand(const Args& a, mc::UserStore& store, mugai::vault::Vault& vault) {
  const std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  const std::string login = a.positional.size() > 2 ? a.positional[2] : "";
  std::string err;
  auto audit = [&](const std::string& action) {
    vault.appendAudit(hostActor(), "security_admin", action, "", "account " + login, &err);
  };
  if (sub == "list") {
    std::vector<mc::Account> accounts;
    if (!store.list(accounts, &err)) return fail(err);
    for (const auto& x : accounts) std::cout << x.login << (x.disabled ? "  (disabled)" : "") << "\n";
    std::vector<mugai::vault::User> ldap;
    store.ldapUsers(ldap);
    for (const auto& u : ldap) std::cout << u.login << "  (ldap, " << mugai::vault::roleName(u.role) << ")\n";
    return 0;
  }
  if (login.empty()) return fail("user " + sub + " needs a LOGIN");
  if (sub == "add" || sub == "passwd") {
    const std::string pw = readPassword(a.password_file, "password for " + login + ": ");
    if (!(sub == "add" ? store.add(login, pw, &err) : store.setPassword(login, pw, &err))) return fail(err);
    audit(sub == "add" ? "account.add" : "account.passwd");
    std::cout << (sub == "add" ? "added " : "password changed for ") << login << "\n";
    return 0;
  }
  if (sub == "disable" || sub == "enable") {
    if (!store.setDisabled(login, sub == "disable", &err)) return fail(err);
    audit("account." + sub);
    std::cout << login << (sub == "disable" ? " disabled (its sessions end at their next request)\n"
                                             : " enabled\n");
    return 0;
  }
  return fail("user needs add, passwd, disable, enable or list");
}

}  // namespace

/// The command line into `a`: -1 to go on, else the exit code (--help, a bad option).
int parseArgs(int argc, char** argv, Args& a) {
  int first = 1;
  if (argc > 1 && std::strcmp(argv[1], "console") == 0) first = 2;  // argv of `mugai console`
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) return false;
      into = argv[++i];
      return true;
    };
    bool ok = true;
    if (s == "--help" || s == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (s == "--config") ok = value(a.config);
    else if (s == "--listen") ok = value(a.listen);
    else if (s == "--vault") ok = value(a.vault);
    else if (s == "--rules") ok = value(a.rules);
    else if (s == "--users") ok = value(a.users);
    else if (s == "--password-file") ok = value(a.password_file);
    else if (s == "--print-config") a.print_config = true;
    else if (s.size() > 1 && s[0] == '-') return fail("unknown option " + s + "\nTry 'mugai console --help'.");
    else a.positional.push_back(s);
    if (!ok) return fail(s + " needs a value");
  }
  return -1;
}

/// The rules' vault: section (tiers, contact, directory) and their reason texts into deps; false
/// with *err when they do not load or no one would have a role.
bool loadRules(const mc::ConsoleConfig& cfg, mc::ConsoleDeps& deps, std::string& err) {
  std::string base_dir;
  if (cfg.rules.empty()) {
    deps.rules_text = mugai::policy::embeddedDefaultRules();
    deps.rules_name = "(embedded defaults)";
    base_dir = mugai::policy::embeddedRulesDir();
  } else {
    std::ifstream in(cfg.rules, std::ios::binary);
    if (!in) {
      err = "cannot read the rules " + cfg.rules;
      return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    deps.rules_text = ss.str();
    deps.rules_name = cfg.rules;
    base_dir = fs::absolute(cfg.rules).parent_path().string();
  }
  std::vector<std::string> errors;
  auto rules = mugai::policy::loadVaultRules(deps.rules_text, deps.rules_name, base_dir, errors);
  if (!rules) {
    err = "the rules' vault: section does not load:";
    for (const auto& e : errors) err += "\n  " + e;
    return false;
  }
  deps.rules = *rules;
  deps.reason_ja = mc::reasonTextsJa(deps.rules_text);
  if (!rules->directory.empty()) {
    deps.directory = mugai::vault::Directory::load(rules->directory, errors);
    if (!deps.directory) {
      err = "the directory does not load:";
      for (const auto& e : errors) err += "\n  " + e;
      return false;
    }
  }
  return true;
}

/// A request or decision made in the console queues the release and the notification mails
/// exactly as `mugai vault request|approve|deny` does; serve's release runner carries them out.
void queueAfterChanges(mc::ConsoleDeps& deps, mugai::vault::Vault* vault_ptr) {
  mugai::release::NoticeOptions notices;
  notices.console_url = deps.config.public_url;
  notices.contact_ja = deps.rules.contact_ja;
  notices.contact_en = deps.rules.contact_en;
  std::shared_ptr<const mugai::vault::Directory> directory = deps.directory;
  deps.after_change = [vault_ptr, directory, notices](const mugai::vault::RecordInfo& record,
                                                      const mugai::vault::Request& request,
                                                      const std::string& state,
                                                      const mugai::vault::User& actor) {
    std::string err;
    bool ok = state == "pending" && request.approvals.empty()
                  ? mugai::release::afterRequest(*vault_ptr, directory.get(), record, request,
                                                 notices, &err)
                  : mugai::release::afterDecision(*vault_ptr, directory.get(), record, request,
                                                  state, actor.login,
                                                  mugai::vault::roleName(actor.role), notices, &err);
    if (!ok) std::cerr << "mugai-console: after " << state << " of " << record.id << ": " << err << "\n";
  };
}

int main(int argc, char** argv) {
  Args a;
  if (int rc = parseArgs(argc, argv, a); rc >= 0) return rc;
  mc::ConsoleConfig cfg;
  std::vector<std::string> errors;
  if (!a.config.empty() && !mc::loadConsoleConfig(a.config, cfg, errors)) {
    std::string m = "the config does not load:";
    for (const auto& e : errors) m += "\n  " + e;
    return fail(m);
  }
  if (!a.listen.empty()) cfg.listen = a.listen;
  if (!a.vault.empty()) cfg.vault = a.vault;
  if (!a.rules.empty()) cfg.rules = a.rules;
  if (!a.users.empty()) cfg.users = a.users;
  if (cfg.vault.empty()) {
    const char* env = std::getenv("MUGAI_VAULT");
    cfg.vault = env && *env ? env : "sqlite:/var/lib/mugai/vault.db";
  }
  if (cfg.users.empty()) cfg.users = defaultUsersPath(cfg.vault);
  if (a.print_config) {
    std::cout << mc::describeConsoleConfig(cfg);
    return 0;
  }
  std::string err;
  auto vault = mugai::vault::openVault(cfg.vault, &err);
  if (!vault) return fail(err);
  auto users = mc::UserStore::open(cfg.users, &err);
  if (!users) return fail(err);
  if (!a.positional.empty()) {
    if (a.positional[0] == "user") return userCommand(a, *users, *vault);
    return fail("unknown command '" + a.positional[0] + "'\nTry 'mugai console --help'.");
  }

  mc::ConsoleDeps deps;
  deps.config = cfg;
  deps.vault = vault.get();
  deps.users = users.get();
  if (!loadRules(cfg, deps, err)) return fail(err);
  std::unique_ptr<mc::OpenLdapAuth> ldap;
  if (!cfg.ldap_uri.empty()) {
    ldap = std::make_unique<mc::OpenLdapAuth>(cfg);
    deps.ldap = ldap.get();
  }
  if (!deps.directory && !deps.ldap) {
    return fail("no one would have a role: name a directory in the rules (vault: directory:) or "
                "configure ldap_uri / 役割を決めるディレクトリ（ルールの vault: directory:）か LDAP を設定してください");
  }
  queueAfterChanges(deps, vault.get());
  deps.mugai_binary = cfg.mugai_binary.empty() ? selfDir() + "/mugai" : cfg.mugai_binary;
  if (access(deps.mugai_binary.c_str(), X_OK) != 0) deps.mugai_binary.clear();

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mc::Console console(std::move(deps));
  auto server = mc::Server::start(console, cfg.listen, cfg.tls_cert_file, cfg.tls_key_file, &err);
  if (!server) return fail(err);
  const bool tls = !cfg.tls_cert_file.empty();
  std::cerr << "mugai console: listening on " << cfg.listen.substr(0, cfg.listen.rfind(':')) << ":"
            << server->port() << (tls ? " (HTTPS)" : " (HTTP, loopback only)") << ", vault "
            << cfg.vault << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  std::cerr << "mugai console: stopping (signal " << sig << ")\n";
  server->stop();
  return 0;
}
