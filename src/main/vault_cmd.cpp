// `mugai vault ...`: the operator's command line over the vault (include/mugai/vault/vault.h).
//
// Trust: the host user who runs it acts as the security admin (audited as "host:<user>").
//        Record fields are sender-controlled: printed through escapeForTerminal(), never raw.
// Errors: exit 1 with "mugai vault: ..." on stderr; 2 for `audit verify` that finds a break.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <iomanip>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mugai/io/store.h"
#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/policy/policy.h"
#include "mugai/sanitizer/registry.h"
#include "mugai/text/charset.h"
#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"
#include "src/notify/notify.h"
#include "src/release/runner.h"
#include "src/release/unlock.h"
#include "src/scanclient/remote_scanner.h"
#include "src/smtp/service_config.h"

namespace {

namespace mv = mugai::vault;
namespace fs = std::filesystem;

const char* kVaultUsage = R"(Usage: mugai vault [--vault URL] [--rules FILE] [--by USER] [--json] COMMAND ...
The vault keeps every withheld original with its report, envelope and release state, and an
audit log whose rows are chained by SHA-256 (docs/vault.md).

  list [--recipient ADDR] [--sender ADDR] [--reason NAME] [--state STATE] [--search TEXT]
       [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--limit N] [--offset N]
  show ID                    the record, its removed objects, requests and report
  original ID -o FILE        write the original to FILE (never replaces; audited as download)
  hold ID | unhold ID        legal hold: a held record is never purged
  purge [--dry-run]          delete the records past their retention (not those on hold)
  audit verify               check the hash chain; exit 2 when a row was changed or removed
  audit export [--since YYYY-MM-DD]
                             the audit rows as JSON lines, for the auditors
  import DIR                 bring in a quarantine folder's ID.orig + ID.json pairs (tier and
                             expiry from the rules)
  request ID --by USER --reason TEXT
                             ask for the original (a recipient; tier self: granted at once)
  approve ID --by USER [--request N]
  deny ID --by USER --reason TEXT
                             an approver of the requester's group, or the security admin; an
                             approval queues the release to the requester's address
  release ID [--to ADDR]... [--now]
                             the security admin releases without a request (to the original
                             recipients, or those named by --to); with --now the release queue is
                             carried out at once: re-scan, delivery through the next hop
  release --now              carry out every due job of the release queue once (releases,
                             unlocks, notification mails), then exit
  unlock ID --password-file FILE [--now]
                             PPAP: open the encrypted ZIP/PDF/Office file with the password in
                             FILE (chmod 600; "-": standard input), send it through the policy
                             and queue the sanitized result for the recipient (a file-drop item:
                             for that user's outbox); wrong passwords are counted

--vault URL: sqlite:PATH (default sqlite:/var/lib/mugai/vault.db, or $MUGAI_VAULT).
--config FILE: the service config (mugai.conf) whose next_hop, myhostname, relay_tls,
filedrop_outbox, console_url and release_sender the release runner uses (--next-hop HOST:PORT
overrides next_hop).
--rules FILE: the rules whose vault: section gives tiers, retention and the directory (default:
the embedded rules). --by USER: act as that user of the directory; without it, a command run on
the host acts as the security admin and is audited as host:<user>. --by USER --by-email ADDRESS
(repeatable): a user the directory lacks (the console's LDAP log-in) acts as staff with those
addresses (a user the directory has keeps its entry).
Exit status: 0 done, 1 usage or vault error, 2 audit chain broken, 3 refused (not allowed).
)";

constexpr int kRefused = 3;

struct VaultArgs {
  std::string url, rules, by, command, sub, id, output, recipient, sender, reason, state, search;
  std::string config, next_hop, password_file;
  std::vector<std::string> to;
  std::vector<std::string> by_email;  ///< --by-email: the addresses of a --by user the directory lacks
  bool now = false;
  std::int64_t request = 0;
  std::int64_t since = 0, until = 0;
  std::size_t limit = 50, offset = 0;
  bool json = false, dry_run = false;
  std::vector<std::string> positional;
};

int fail(const std::string& msg) {
  std::cerr << "mugai vault: " << msg << "\n";
  return 1;
}

/// Sender-controlled text for a terminal: controls, bidi and other invisible characters shown as
/// <U+XXXX> (text::logEscape, the same as the service's log lines).
std::string escapeForTerminal(const std::string& s) { return mugai::text::logEscape(s, 400); }

bool parseDate(const std::string& s, std::int64_t& out) {
  std::tm tm{};
  std::istringstream in(s);
  in >> std::get_time(&tm, "%Y-%m-%d");
  if (in.fail()) return false;
  out = static_cast<std::int64_t>(timegm(&tm));
  return true;
}

std::string isoTime(std::int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hostActor() {
  const passwd* pw = getpwuid(getuid());
  return std::string("host:") + (pw ? pw->pw_name : std::to_string(getuid()));
}

// The options, by what they take. --by-email, --request and --to are read by readOption().
const std::map<std::string, std::string VaultArgs::*> kTextOptions = {
    {"--vault", &VaultArgs::url},          {"--rules", &VaultArgs::rules},
    {"--by", &VaultArgs::by},              {"--config", &VaultArgs::config},
    {"--next-hop", &VaultArgs::next_hop},  {"--password-file", &VaultArgs::password_file},
    {"-o", &VaultArgs::output},            {"--output", &VaultArgs::output},
    {"--recipient", &VaultArgs::recipient}, {"--sender", &VaultArgs::sender},
    {"--reason", &VaultArgs::reason},      {"--state", &VaultArgs::state},
    {"--search", &VaultArgs::search}};
const std::map<std::string, bool VaultArgs::*> kFlagOptions = {
    {"--json", &VaultArgs::json}, {"--now", &VaultArgs::now}, {"--dry-run", &VaultArgs::dry_run}};
const std::map<std::string, std::size_t VaultArgs::*> kNumberOptions = {
    {"--limit", &VaultArgs::limit}, {"--offset", &VaultArgs::offset}};
const std::map<std::string, std::int64_t VaultArgs::*> kDateOptions = {
    {"--since", &VaultArgs::since}, {"--until", &VaultArgs::until}};

/// argv from a position on: an option's value, checked as a number or a date where it must be one.
struct ArgReader {
  int argc;
  char** argv;
  int i;
  std::string& err;

  bool value(const std::string& opt, std::string& into) {
    if (i + 1 >= argc) {
      err = opt + " needs a value";
      return false;
    }
    into = argv[++i];
    return true;
  }
  bool number(const std::string& opt, std::size_t& into) {
    std::string v;
    if (!value(opt, v)) return false;
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
      err = opt + " needs a number";
      return false;
    }
    into = std::stoul(v);
    return true;
  }
  bool date(const std::string& opt, std::int64_t& into) {
    std::string v;
    if (!value(opt, v)) return false;
    if (!parseDate(v, into)) {
      err = opt + " needs a date YYYY-MM-DD, not '" + v + "'";
      return false;
    }
    return true;
  }
};

/// One option (s, at in.i) into `a`; false with `in.err` set when it is unknown or its value wrong.
bool readOption(const std::string& s, ArgReader& in, VaultArgs& a) {
  if (auto t = kTextOptions.find(s); t != kTextOptions.end()) return in.value(s, a.*(t->second));
  if (auto f = kFlagOptions.find(s); f != kFlagOptions.end()) return a.*(f->second) = true;
  if (auto n = kNumberOptions.find(s); n != kNumberOptions.end())
    return in.number(s, a.*(n->second));
  if (auto d = kDateOptions.find(s); d != kDateOptions.end()) return in.date(s, a.*(d->second));
  std::string v;
  if (s == "--by-email") {  // matched without case, as the directory's addresses are
    if (!in.value(s, v)) return false;
    for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    a.by_email.push_back(v);
    return true;
  }
  if (s == "--to") {
    if (!in.value(s, v)) return false;
    a.to.push_back(v);
    return true;
  }
  if (s == "--request") {
    std::size_t n = 0;
    if (!in.number(s, n)) return false;
    a.request = static_cast<std::int64_t>(n);
    return true;
  }
  in.err = "unknown option " + s;
  return false;
}

bool parseVaultArgs(int argc, char** argv, VaultArgs& a, std::string& err) {
  const char* env = std::getenv("MUGAI_VAULT");
  a.url = env && *env ? env : "sqlite:/var/lib/mugai/vault.db";
  ArgReader in{argc, argv, 2, err};
  for (; in.i < argc; ++in.i) {
    std::string s = argv[in.i];
    if (s.size() > 1 && s[0] == '-') {
      if (!readOption(s, in, a)) return false;
    } else {
      a.positional.push_back(s);
    }
  }
  if (a.positional.empty()) {
    err = "which command? (list, show, original, hold, unhold, purge, audit, import, request, "
          "approve, deny, release, unlock)";
    return false;
  }
  a.command = a.positional[0];
  return true;
}

Poco::JSON::Object::Ptr recordJson(const mv::RecordInfo& r) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
  o->set("id", r.id);
  o->set("kind", r.kind);
  o->set("created", isoTime(r.created));
  o->set("expires", r.expires ? isoTime(r.expires) : "");
  o->set("sender", r.envelope.sender);
  Poco::JSON::Array::Ptr rcpts = new Poco::JSON::Array;
  for (const auto& x : r.envelope.recipients) rcpts->add(x);
  o->set("recipients", rcpts);
  o->set("client_addr", r.envelope.client_addr);
  o->set("subject", r.subject);
  o->set("from", r.from);
  o->set("filename", r.filename);
  o->set("verdict", r.verdict);
  o->set("reason", r.reason);
  Poco::JSON::Array::Ptr reasons = new Poco::JSON::Array;
  for (const auto& x : r.reasons) reasons->add(x);
  o->set("reasons", reasons);
  o->set("sha256", r.sha256);
  o->set("size", r.size);
  o->set("tier", std::string(mv::tierName(r.tier)));
  o->set("state", r.state);
  o->set("hold", r.hold);
  Poco::JSON::Array::Ptr objects = new Poco::JSON::Array;
  for (const auto& x : r.objects) {
    Poco::JSON::Object::Ptr ob = new Poco::JSON::Object;
    ob->set("part", x.part);
    ob->set("what", x.what);
    ob->set("action", x.action);
    ob->set("reason", x.reason);
    ob->set("sha256", x.sha256);
    objects->add(ob);
  }
  o->set("objects", objects);
  return o;
}

/// The rules, the directory and the acting user, for the commands that decide who may act.
struct Context {
  mugai::policy::PolicyConstSharedPtr policy;
  std::shared_ptr<const mv::Directory> directory;
  mv::User actor;
};

bool loadContext(const VaultArgs& a, Context& c, std::string& err) {
  static const mugai::Registry* registry = [] {
    auto* r = new mugai::Registry();
    mugai::registerBuiltinSanitizers(*r);
    return r;
  }();
  std::vector<std::string> errors;
  c.policy = a.rules.empty()
                 ? mugai::policy::loadPolicyText(mugai::policy::embeddedDefaultRules(),
                                                 "(embedded defaults)",
                                                 mugai::policy::embeddedRulesDir(), *registry, errors)
                 : mugai::policy::loadPolicyFile(a.rules, *registry, errors);
  if (!c.policy) {
    err = "the rules do not load:";
    for (const auto& e : errors) err += "\n  " + e;
    return false;
  }
  if (!c.policy->vault.directory.empty()) {
    c.directory = mv::Directory::load(c.policy->vault.directory, errors);
    if (!c.directory) {
      err = "the directory does not load:";
      for (const auto& e : errors) err += "\n  " + e;
      return false;
    }
  }
  if (a.by.empty()) {
    c.actor = mv::Directory::hostAdmin(hostActor());
    return true;
  }
  const mv::User* u = c.directory ? c.directory->find(a.by) : nullptr;
  if (u) {
    c.actor = *u;  // the directory is authoritative: --by-email does not change a user it knows
    return true;
  }
  if (!a.by_email.empty()) {
    // A user someone else authenticated (the console's LDAP log-in) whom the directory lacks:
    // staff, with these addresses. This grants nothing a command run on the host lacks (that
    // acts as the security admin); it only lets the audit name the real actor.
    c.actor.login = a.by;
    c.actor.role = mv::Role::Staff;
    c.actor.emails = a.by_email;
    return true;
  }
  if (!c.directory) {
    err = "--by needs a directory (vault: directory: in the rules; see rules/directory.example.yaml)";
    return false;
  }
  err = "'" + a.by + "' is not a user of " + c.policy->vault.directory;
  return false;
}

/// A refusal: said in both languages, audited, exit 3.
int refuse(mv::Vault& v, const Context& c, const std::string& what, const std::string& id,
           const mv::Decision& d) {
  std::string err;
  v.appendAudit(c.actor.login, mv::roleName(c.actor.role), "refused", id, what + ": " + d.why_en,
                &err);
  std::cerr << "mugai vault: " << d.why_ja << "\n             " << d.why_en << "\n";
  return kRefused;
}


/// The service settings the release runner and the notification mails use: --config (mugai.conf)
/// and --next-hop.
bool loadService(const VaultArgs& a, mugai::smtp::ServiceConfig& s, std::string& err) {
  std::vector<std::string> errors;
  if (!a.config.empty() && !mugai::smtp::loadServiceConfig(a.config, s, errors)) {
    err = "the config does not load:";
    for (const auto& e : errors) err += "\n  " + e;
    return false;
  }
  if (!a.next_hop.empty()) {
    std::string host, why;
    std::uint16_t port = 0;
    if (!mugai::smtp::parseHostPort(a.next_hop, host, port, &why)) {
      err = "--next-hop '" + a.next_hop + "': " + why;
      return false;
    }
    s.next_hop = a.next_hop;
  }
  if (s.myhostname.empty()) {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    s.myhostname = name[0] ? name : "localhost";
  }
  return true;
}

mugai::release::NoticeOptions noticeOptions(const mugai::smtp::ServiceConfig& s, const Context& c) {
  mugai::release::NoticeOptions o;
  o.sender = s.release_sender;
  o.hostname = s.myhostname;
  o.console_url = s.console_url;
  o.contact_ja = c.policy->vault.contact_ja;
  o.contact_en = c.policy->vault.contact_en;
  return o;
}

/// The engine (rules and signatures as loaded now) for the re-scan and for unlocked content.
std::shared_ptr<const mugai::Engine> loadEngine(const VaultArgs& a, std::string& err) {
  std::vector<std::string> errors;
  std::shared_ptr<const mugai::Engine> e =
      mugai::makeEngine(a.rules, errors, mugai::scanclient::remoteScanner);
  if (!e) {
    err = "the engine does not start:";
    for (const auto& x : errors) err += "\n  " + x;
  }
  return e;
}

/// Carries out every job of the release queue due now, printing one line each.
int runQueueNow(mv::Vault& v, const VaultArgs& a, const Context& c, const std::string& only_id) {
  mugai::smtp::ServiceConfig s;
  std::string err;
  if (!loadService(a, s, err)) return fail(err);
  auto engine = loadEngine(a, err);
  if (!engine) return fail(err);
  mugai::release::RunnerOptions o;
  o.worker = s.myhostname + ":" + std::to_string(getpid()) + "/cli";
  o.relay = mugai::smtp::relayTarget(s, static_cast<int>(engine->policy().limits.relay_timeout_s));
  if (!o.relay.tls_error.empty()) return fail(o.relay.tls_error + " (the queue is left for serve)");
  o.outbox = s.filedrop_outbox;
  o.notices = noticeOptions(s, c);
  mugai::release::Runner runner(std::shared_ptr<mv::Vault>(&v, [](mv::Vault*) {}), o,
                                [engine] { return engine->services().scanner; });
  const auto results = runner.drain(static_cast<std::int64_t>(std::time(nullptr)));
  int bad = 0;
  for (const auto& r : results) {
    std::cout << r.job.kind << " " << r.job.id << " of " << r.job.record_id << ": "
              << mv::outcomeName(r.outcome) << " (" << escapeForTerminal(r.detail) << ")\n";
    if (!only_id.empty() && r.job.record_id == only_id && r.job.kind != "notice" &&
        r.outcome != mv::ReleaseOutcome::Delivered) {
      bad = 1;
    }
  }
  if (results.empty()) std::cout << "nothing due in the release queue\n";
  return bad ? kRefused : 0;
}

int cmdRelease(mv::Vault& v, const VaultArgs& a) {
  Context c;
  std::string err;
  if (!loadContext(a, c, err)) return fail(err);
  if (a.positional.size() < 2) {
    if (!a.now) return fail("release needs an ID (or --now to carry out the queue)");
    return runQueueNow(v, a, c, "");
  }
  auto r = v.get(a.positional[1], &err);
  if (!r) return fail(err);
  std::vector<mv::ReleaseJob> open;
  for (const char* st : {"queued", "running", "retry"}) {
    if (!v.releases(r->id, st, open, &err)) return fail(err);
  }
  std::erase_if(open, [](const mv::ReleaseJob& j) { return j.kind == "notice"; });
  if (open.empty()) {
    if (auto d = mv::mayAdminister(c.actor); !d.allowed) return refuse(v, c, "release", r->id, d);
    if (r->tier == mv::Tier::Never) {
      return refuse(v, c, "release", r->id,
                    {false, "この原本は規則により解除できません（tier never）。",
                     "the rules say this original is never released (tier never)."});
    }
    mv::ReleaseOrder order;
    order.record_id = r->id;
    order.recipients = a.to.empty() ? r->envelope.recipients : a.to;
    order.note = a.to.empty() ? "to the original recipients" : "to the recipients named by the admin";
    mv::ReleaseJob job;
    if (!v.queueRelease(order, c.actor.login, mv::roleName(c.actor.role), job, &err)) return fail(err);
    std::cout << "release " << job.id << " of " << r->id << " queued for ";
    for (std::size_t i = 0; i < job.recipients.size(); ++i) {
      std::cout << (i ? ", " : "") << escapeForTerminal(job.recipients[i]);
    }
    std::cout << "\n";
  } else {
    std::cout << r->id << " has a release under way already (job " << open.front().id << ", "
              << open.front().state << ")\n";
  }
  return a.now ? runQueueNow(v, a, c, r->id) : 0;
}

/// Wrong passwords given for record `r` so far (audit rows unlock.wrong since it was stored).
/// An audit log that cannot be read counts as the limit reached (fail closed).
int wrongAttempts(mv::Vault& v, const mv::RecordInfo& r) {
  std::vector<mv::AuditRow> rows;
  std::string err;
  if (!v.audit(r.created, rows, &err)) return std::numeric_limits<int>::max();
  const std::string& id = r.id;
  int n = 0;
  for (const auto& r : rows) n += r.record_id == id && r.action == "unlock.wrong";
  return n;
}

/// Who gets what `unlock` opens: the acting user's own address among the record's recipients, or
/// for the security admin --to / the original recipients. Empty (with *refusal) when the actor may
/// not unlock it: the password is the recipient's to give; approvers and auditors see items but
/// do not open them.
std::vector<std::string> unlockRecipients(const Context& c, const mv::RecordInfo& r,
                                          const VaultArgs& a, mv::Decision* refusal) {
  if (r.kind == "file") {
    // A file-drop item belongs to the user whose share folder it came from (its one recipient,
    // the folder name, a login): the result goes to that user's outbox; the addresses here are
    // who hears of it (the directory's addresses of the owner; the admin's --to).
    auto lower = [](std::string s) {
      for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return s;
    };
    const std::string owner = r.envelope.recipients.empty() ? "" : lower(r.envelope.recipients.front());
    const bool is_owner = !owner.empty() && lower(c.actor.login) == owner;
    if (c.actor.role != mv::Role::SecurityAdmin && !is_owner) {
      *refusal = {false, "この項目の持ち主ではないため、解除できません。",
                  "only the user whose folder this file came from (or the security admin) may unlock it."};
      return {};
    }
    if (!a.to.empty() && c.actor.role == mv::Role::SecurityAdmin) return a.to;
    const mv::User* u = c.directory ? c.directory->find(owner) : nullptr;
    if (u && !u->emails.empty()) return u->emails;
    if (is_owner && !c.actor.emails.empty()) return c.actor.emails;
    *refusal = {false, "この利用者のメールアドレスがディレクトリにないため、解除の通知を送れません。",
                "the directory has no mail address for " + owner + " to tell of the unlock (--to ADDRESS, as the security admin)."};
    return {};
  }
  if (c.actor.role == mv::Role::SecurityAdmin) return a.to.empty() ? r.envelope.recipients : a.to;
  for (const auto& e : c.actor.emails) {
    for (const auto& x : r.envelope.recipients) {
      std::string lx = x;
      for (auto& ch : lx) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lx == e) return {x};
    }
  }
  *refusal = {false, "この項目の宛先ではないため、解除できません。",
              "only a recipient of this item (or the security admin) may unlock it."};
  return {};
}

/// Reads the password, opens the original with it and wipes it; the password never leaves here.
mugai::release::UnlockResult openWithPassword(mv::Vault& v, const VaultArgs& a,
                                              const mv::RecordInfo& r, const mugai::Limits& limits,
                                              std::string& err) {
  mugai::release::UnlockResult u;
  std::string password, original;
  if (!mugai::release::readPasswordFile(a.password_file, password, &err)) return u;
  if (!v.original(r.id, original, &err)) {
    mugai::release::wipe(password);
    return u;
  }
  u = r.kind == "file" ? mugai::release::unlockFile(original, password, limits)
                       : mugai::release::unlockMessage(original, password, limits);
  mugai::release::wipe(password);
  return u;
}

/// The opened mail through the whole policy (scan, rebuild, notice); the sanitized result queued
/// for `to` like a release (the runner adds X-Mugai-Released).
int queueUnlocked(mv::Vault& v, const VaultArgs& a, const Context& c, const mv::RecordInfo& r,
                  const mugai::Engine& engine, mugai::release::UnlockResult& u,
                  const std::vector<std::string>& to) {
  const std::string role = mv::roleName(c.actor.role);
  std::string opened, err;
  for (const auto& n : u.opened) opened += (opened.empty() ? "" : ", ") + n;
  const std::string item_id = mugai::newItemId();
  const mugai::Envelope env{r.envelope.sender, to, r.envelope.client_name, r.envelope.client_addr,
                            r.envelope.helo};
  const bool file = r.kind == "file";
  mugai::ProcessResult p = file ? engine.processFile(u.output, r.filename, item_id)
                                : engine.processMessage(u.output, env, item_id);
  mugai::release::wipe(u.output);
  const std::string verdict(mugai::verdictName(p.verdict));
  // A file the policy blocks has nothing to go to the outbox (its "output" is the notice).
  if (p.output.empty() || (file && (p.blocked() || p.notice_only))) {
    v.appendAudit(c.actor.login, role, "unlock.failed", r.id,
                  "opened " + opened + "; the policy left nothing to deliver (" + verdict + ")", &err);
    return fail("opened " + opened + ", but the policy left nothing to deliver (" + verdict + ")");
  }
  if (!v.appendAudit(c.actor.login, role, "unlock", r.id,
                     "opened " + opened + "; policy " + verdict + " as " + item_id, &err)) {
    return fail(err);
  }
  mv::ReleaseOrder order;
  order.record_id = r.id;
  order.kind = "unlock";
  order.recipients = to;
  // A file goes to the user's outbox under the engine's safe name; a mail is delivered, with a
  // header that says what was opened (names are the sender's: encoded).
  order.payload = file ? mugai::release::filePayload(p.output_filename.empty() ? r.filename : p.output_filename,
                                                     p.output)
                       : mugai::mime::encodeHeader("X-Mugai-Unlocked", opened) + p.output;
  order.note = "sanitized as " + item_id;
  mv::ReleaseJob job;
  if (!v.queueRelease(order, c.actor.login, role, job, &err)) return fail(err);
  std::cout << "unlocked " << escapeForTerminal(opened) << " in " << r.id << "; the sanitized result ("
            << verdict << ", " << p.report.actions.size() << " action(s)) is queued as job " << job.id
            << "\n";
  return a.now ? runQueueNow(v, a, c, r.id) : 0;
}

int cmdUnlock(mv::Vault& v, const VaultArgs& a) {
  if (a.positional.size() < 2) return fail("unlock needs an ID");
  if (a.password_file.empty()) {
    return fail("unlock needs --password-file FILE (the password is never given on the command line)");
  }
  Context c;
  std::string err;
  if (!loadContext(a, c, err)) return fail(err);
  auto r = v.get(a.positional[1], &err);
  if (!r) return fail(err);
  mv::Decision refusal;
  const std::vector<std::string> to = unlockRecipients(c, *r, a, &refusal);
  if (to.empty()) return refuse(v, c, "unlock", r->id, refusal);
  const std::string role = mv::roleName(c.actor.role);
  const std::uint64_t limit = c.policy->limits.unlock_attempt_limit;
  const int wrong = wrongAttempts(v, *r);
  if (static_cast<std::uint64_t>(wrong) >= limit) {
    return refuse(v, c, "unlock", r->id,
                  {false, "パスワードの誤りが上限（" + std::to_string(limit) +
                              " 回）に達したため、この項目は解除できません。セキュリティ管理者に連絡してください。",
                   "the wrong-password limit (" + std::to_string(limit) +
                       ") was reached for this item; ask the security admin."});
  }
  auto engine = loadEngine(a, err);
  if (!engine) return fail(err);
  mugai::release::UnlockResult u = openWithPassword(v, a, *r, engine->policy().limits, err);
  if (!err.empty()) return fail(err);
  using S = mugai::release::UnlockResult::Status;
  if (u.status == S::WrongPassword) {
    v.appendAudit(c.actor.login, role, "unlock.wrong", r->id,
                  "attempt " + std::to_string(wrong + 1) + " of " + std::to_string(limit), &err);
    std::cerr << "mugai vault: パスワードが違います（" << wrong + 1 << " / " << limit << " 回）。\n"
              << "             wrong password (attempt " << wrong + 1 << " of " << limit << ").\n";
    return kRefused;
  }
  if (u.status != S::Unlocked) {
    const std::string why = u.status == S::NothingEncrypted
                                ? "nothing in " + r->id + " is encrypted with a password mugai can open" +
                                      (u.detail.empty() ? "" : " (" + u.detail + ")")
                                : "cannot open " + r->id + ": " + u.detail;
    v.appendAudit(c.actor.login, role, "unlock.failed", r->id, why, &err);
    return fail(why);
  }
  return queueUnlocked(v, a, c, *r, *engine, u, to);
}

int cmdRequest(mv::Vault& v, const VaultArgs& a) {
  if (a.positional.size() < 2) return fail("request needs an ID");
  if (a.reason.empty()) return fail("request needs --reason TEXT (why the original is needed)");
  Context c;
  std::string err;
  if (!loadContext(a, c, err)) return fail(err);
  auto r = v.get(a.positional[1], &err);
  if (!r) return fail(err);
  if (auto d = mv::mayRequest(c.actor, *r); !d.allowed) return refuse(v, c, "request", r->id, d);
  mugai::smtp::ServiceConfig service;  // read first: a bad --config stops before the request
  if (!loadService(a, service, err)) return fail(err);
  mv::Request req;
  if (!v.addRequest(r->id, c.actor.login, a.reason, mv::roleName(c.actor.role), req, &err)) {
    return fail(err);
  }
  const auto notices = noticeOptions(service, c);
  if (r->tier == mv::Tier::Self) {
    std::string state;
    if (!v.decide(req.id, true, "rules:self", "system", "tier self", 1, &err, &state)) return fail(err);
    req.state = state;
    mv::ReleaseJob job;
    if (!mugai::release::afterDecision(v, c.directory.get(), *r, req, state, "rules:self", "system",
                                       notices, &err, &job)) {
      return fail(err);
    }
    std::cout << "request " << req.id << " for " << r->id << " granted (tier self: the recipient may take it)";
    if (job.id) std::cout << "; release " << job.id << " queued";
    std::cout << "\n";
    return 0;
  }
  if (!mugai::release::afterRequest(v, c.directory.get(), *r, req, notices, &err)) return fail(err);
  std::cout << "request " << req.id << " for " << r->id << " is waiting for approval";
  if (r->tier == mv::Tier::Admin) {
    std::cout << " by the security team";
  } else if (c.directory && !a.by.empty()) {
    auto approvers = c.directory->approversFor(c.actor);
    std::cout << " by ";
    for (std::size_t i = 0; i < approvers.size(); ++i) std::cout << (i ? ", " : "") << approvers[i];
    if (approvers.empty()) std::cout << "the security team (no approver in the directory)";
  }
  std::cout << "\n";
  return 0;
}

int cmdDecide(mv::Vault& v, const VaultArgs& a, bool approve) {
  const char* verb = approve ? "approve" : "deny";
  if (a.positional.size() < 2) return fail(std::string(verb) + " needs an ID");
  if (!approve && a.reason.empty()) return fail("deny needs --reason TEXT (the requester reads it)");
  Context c;
  std::string err;
  if (!loadContext(a, c, err)) return fail(err);
  auto r = v.get(a.positional[1], &err);
  if (!r) return fail(err);
  std::vector<mv::Request> reqs;
  if (!v.requests(r->id, reqs, &err)) return fail(err);
  const mv::Request* req = nullptr;
  for (const auto& q : reqs) {
    if ((a.request ? q.id == a.request : q.state == "pending") && !req) req = &q;
  }
  if (!req) return fail("no pending request for " + r->id + (a.request ? " with that number" : ""));
  const mv::User* requester = c.directory ? c.directory->find(req->requester) : nullptr;
  if (auto d = mv::mayDecide(c.actor, requester, *r, c.directory.get()); !d.allowed) {
    return refuse(v, c, verb, r->id, d);
  }
  const std::size_t needed = c.actor.role == mv::Role::SecurityAdmin
                                 ? 1
                                 : mv::approvalsNeeded(c.policy->vault, requester, c.directory.get());
  mugai::smtp::ServiceConfig service;  // read first: a bad --config stops before the decision
  if (!loadService(a, service, err)) return fail(err);
  std::string state;
  if (!v.decide(req->id, approve, c.actor.login, mv::roleName(c.actor.role), a.reason, needed, &err,
                &state)) {
    return fail(err);
  }
  std::cout << "request " << req->id << " for " << r->id << ": " << state;
  if (state == "pending") std::cout << " (approval 'all': more approvers must approve)";
  std::cout << "\n";
  mv::Request decided = *req;
  decided.state = state;
  decided.decision_reason = a.reason;
  mv::ReleaseJob job;
  if (!mugai::release::afterDecision(v, c.directory.get(), *r, decided, state, c.actor.login,
                                     mv::roleName(c.actor.role), noticeOptions(service, c), &err,
                                     &job)) {
    return fail(err);
  }
  if (job.id) {
    std::cout << "release " << job.id << " queued for " << escapeForTerminal(job.recipients.front())
              << " (the original is scanned again before it goes)\n";
  } else if (state == "approved") {
    std::cout << "nothing queued: " << escapeForTerminal(decided.requester)
              << " has no mail address in the directory; release it with `mugai vault release "
              << r->id << " --to ADDR`\n";
  }
  return a.now && job.id ? runQueueNow(v, a, c, r->id) : 0;
}

/// With `who`, only the records that user may see (staff: their own; approvers: also their
/// groups'; admins and auditors: all).
int cmdList(mv::Vault& v, const VaultArgs& a, const Context* who = nullptr) {
  mv::Query q;
  q.recipient = a.recipient;
  q.sender = a.sender;
  q.reason = a.reason;
  q.state = a.state;
  q.text = a.search;
  q.since = a.since;
  q.until = a.until;
  q.limit = a.limit;
  q.offset = a.offset;
  std::vector<mv::RecordInfo> out;
  std::string err;
  if (!v.list(q, out, &err)) return fail(err);
  if (who) {
    std::erase_if(out, [&](const mv::RecordInfo& r) {
      return !mv::maySee(who->actor, r, who->directory.get()).allowed;
    });
  }
  if (a.json) {
    for (const auto& r : out) {
      recordJson(r)->stringify(std::cout);
      std::cout << "\n";
    }
    return 0;
  }
  if (out.empty()) {
    std::cout << "(no records)\n";
    return 0;
  }
  for (const auto& r : out) {
    std::cout << r.id << "  " << isoTime(r.created) << "  " << r.verdict << "  " << r.reason
              << "  " << mv::tierName(r.tier) << "/" << r.state << (r.hold ? " HOLD" : "") << "\n"
              << "    from " << (r.envelope.sender.empty() ? std::string("<>") : escapeForTerminal(r.envelope.sender))
              << "  subject " << escapeForTerminal(r.subject.substr(0, 200))
              << (r.filename.empty() ? "" : "  file " + escapeForTerminal(r.filename)) << "\n";
  }
  return 0;
}

/// `show --json`: the record, its requests and release jobs, and its report as JSON.
void showJson(const mv::RecordInfo& r, const std::vector<mv::Request>& reqs,
              const std::vector<mv::ReleaseJob>& jobs, const std::optional<std::string>& report) {
  auto o = recordJson(r);
  Poco::JSON::Array::Ptr ra = new Poco::JSON::Array;
  for (const auto& q : reqs) {
    Poco::JSON::Object::Ptr x = new Poco::JSON::Object;
    x->set("id", q.id);
    x->set("requester", q.requester);
    x->set("reason", q.reason);
    x->set("state", q.state);
    x->set("created", isoTime(q.created));
    x->set("decided_by", q.decided_by);
    ra->add(x);
  }
  o->set("requests", ra);
  Poco::JSON::Array::Ptr ja = new Poco::JSON::Array;
  for (const auto& j : jobs) {
    Poco::JSON::Object::Ptr x = new Poco::JSON::Object;
    x->set("id", j.id);
    x->set("kind", j.kind);
    x->set("state", j.state);
    x->set("request", j.request_id);
    Poco::JSON::Array::Ptr to = new Poco::JSON::Array;
    for (const auto& t : j.recipients) to->add(t);
    x->set("recipients", to);
    x->set("attempts", j.attempts);
    x->set("due", isoTime(j.due));
    x->set("detail", j.detail);
    ja->add(x);
  }
  o->set("releases", ja);
  if (report) {
    try {
      Poco::JSON::Parser p;
      o->set("report", p.parse(*report));
    } catch (...) {
      o->set("report", *report);
    }
  }
  o->stringify(std::cout);
  std::cout << "\n";
}

/// `show` for a person at a terminal: every field the sender chose escaped.
void showText(const mv::RecordInfo& r, const std::vector<mv::Request>& reqs,
              const std::vector<mv::ReleaseJob>& jobs) {
  std::cout << "id:         " << r.id << " (" << r.kind << ")\n"
            << "received:   " << isoTime(r.created) << "\n"
            << "verdict:    " << r.verdict << " (" << r.reason << ")\n"
            << "reasons:    ";
  for (const auto& x : r.reasons) std::cout << x << " ";
  std::cout << "\nsender:     " << escapeForTerminal(r.envelope.sender) << "\nrecipients: ";
  for (const auto& x : r.envelope.recipients) std::cout << escapeForTerminal(x) << " ";
  std::cout << "\nclient:     " << escapeForTerminal(r.envelope.client_addr) << "\n"
            << "subject:    " << escapeForTerminal(r.subject) << "\n"
            << "original:   " << r.size << " bytes, sha256 " << r.sha256 << "\n"
            << "release:    tier " << mv::tierName(r.tier) << ", state " << r.state
            << (r.hold ? ", legal hold" : "") << "\n"
            << "expires:    " << (r.expires ? isoTime(r.expires) : "never") << "\n";
  for (const auto& o : r.objects) {
    std::cout << "  " << o.action << " " << escapeForTerminal(o.what) << " (" << o.reason
              << ") sha256 " << (o.sha256.empty() ? "-" : o.sha256) << "\n";
  }
  for (const auto& q : reqs) {
    std::cout << "  request " << q.id << " by " << escapeForTerminal(q.requester) << " ("
              << q.state << "): " << escapeForTerminal(q.reason) << "\n";
  }
  for (const auto& j : jobs) {
    std::cout << "  " << j.kind << " " << j.id << " " << j.state << " to ";
    for (std::size_t i = 0; i < j.recipients.size(); ++i) {
      std::cout << (i ? ", " : "") << escapeForTerminal(j.recipients[i]);
    }
    std::cout << " (attempts " << j.attempts << (j.detail.empty() ? "" : ": " + escapeForTerminal(j.detail))
              << ")\n";
  }
}

int cmdShow(mv::Vault& v, const VaultArgs& a) {
  if (a.positional.size() < 2) return fail("show needs an ID");
  std::string err;
  auto r = v.get(a.positional[1], &err);
  if (!r) return fail(err);
  std::vector<mv::Request> reqs;
  if (!v.requests(r->id, reqs, &err)) return fail(err);
  auto report = v.report(r->id, &err);
  std::vector<mv::ReleaseJob> jobs;
  if (!v.releases(r->id, "", jobs, &err)) return fail(err);
  if (a.json) {
    showJson(*r, reqs, jobs, report);
  } else {
    showText(*r, reqs, jobs);
  }
  return 0;
}

int cmdOriginal(mv::Vault& v, const VaultArgs& a) {
  if (a.positional.size() < 2 || a.output.empty()) return fail("original needs an ID and -o FILE");
  std::string bytes, err;
  if (!v.original(a.positional[1], bytes, &err)) return fail(err);
  fs::path out(a.output);
  fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  int rc = mugai::io::writeFileNew(dir.string(), out.filename().string(), bytes, &err, 0600);
  if (rc == 1) return fail(a.output + " exists already (never replaced)");
  if (rc != 0) return fail(err);
  if (!v.appendAudit(hostActor(), "security_admin", "download", a.positional[1],
                     "to " + a.output, &err)) {
    return fail(err);
  }
  std::cerr << "mugai vault: wrote " << bytes.size() << " bytes to " << a.output
            << " (audited). Do not open it on this host: it is the unsanitized original.\n";
  return 0;
}

int cmdHold(mv::Vault& v, const VaultArgs& a, bool hold) {
  if (a.positional.size() < 2) return fail(std::string(hold ? "hold" : "unhold") + " needs an ID");
  std::string err;
  if (!v.setHold(a.positional[1], hold, hostActor(), "security_admin", &err)) return fail(err);
  std::cout << a.positional[1] << (hold ? " is on legal hold\n" : " is no longer on hold\n");
  return 0;
}

int cmdPurge(mv::Vault& v, const VaultArgs& a) {
  mv::PurgeResult r;
  std::string err;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!v.purge(now, a.dry_run, hostActor(), r, &err)) return fail(err);
  for (const auto& id : r.purged) std::cout << (a.dry_run ? "would purge " : "purged ") << id << "\n";
  std::cout << (a.dry_run ? "would purge " : "purged ") << r.purged.size() << " record(s), "
            << r.bytes << " bytes stored; " << r.held_skipped << " due but on hold\n";
  return 0;
}

int cmdAudit(mv::Vault& v, const VaultArgs& a) {
  const std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  std::string err;
  if (sub == "verify") {
    auto c = v.verifyAudit();
    if (!c.ok) {
      std::cout << "audit log BROKEN: " << c.problem << "\n";
      return 2;
    }
    std::cout << "audit log intact: " << c.rows << " rows, head " << c.head << "\n";
    return 0;
  }
  if (sub == "export") {
    std::vector<mv::AuditRow> rows;
    if (!v.audit(a.since, rows, &err)) return fail(err);
    for (const auto& r : rows) {
      Poco::JSON::Object o;
      o.set("seq", r.seq);
      o.set("time", isoTime(r.time));
      o.set("actor", r.actor);
      o.set("role", r.role);
      o.set("action", r.action);
      o.set("record", r.record_id);
      o.set("detail", r.detail);
      o.set("prev_hash", r.prev_hash);
      o.set("hash", r.hash);
      o.stringify(std::cout);
      std::cout << "\n";
    }
    return 0;
  }
  return fail("audit needs verify or export");
}

/// "20261123T141203-5f3a9c" -> its time; 0 when the id is not of that form.
std::int64_t idTime(const std::string& id) {
  std::tm tm{};
  std::istringstream in(id.substr(0, 15));
  in >> std::get_time(&tm, "%Y%m%dT%H%M%S");
  return in.fail() ? 0 : static_cast<std::int64_t>(timegm(&tm));
}

/// An old quarantine folder's ID.json report into the record: kind, verdict, reasons, envelope,
/// and its removed or rewritten parts as the record's objects (without hashes: the old reports
/// had none). A report that is not JSON leaves the record with its original only (said on stderr).
void readImportReport(const std::string& json, mv::NewRecord& r) {
  try {
    Poco::JSON::Parser p;
    auto o = p.parse(json).extract<Poco::JSON::Object::Ptr>();
    r.kind = o->optValue<std::string>("kind", "mail");
    r.verdict = o->optValue<std::string>("verdict", "");
    r.reason = o->optValue<std::string>("reason", "");
    r.envelope.sender = o->optValue<std::string>("sender", "");
    r.subject = o->optValue<std::string>("subject", "");
    r.from = o->optValue<std::string>("from", "");
    r.filename = o->optValue<std::string>("filename", "");
    if (auto rc = o->getArray("recipients")) {
      for (std::size_t i = 0; i < rc->size(); ++i) r.envelope.recipients.push_back(rc->getElement<std::string>(i));
    }
    if (auto acts = o->getArray("actions")) {
      for (std::size_t i = 0; i < acts->size(); ++i) {
        auto act = acts->getObject(i);
        if (!act) continue;
        const std::string reason = act->optValue<std::string>("reason", "");
        if (!reason.empty() && reason != "kept" &&
            std::find(r.reasons.begin(), r.reasons.end(), reason) == r.reasons.end()) {
          r.reasons.push_back(reason);
        }
        const std::string action = act->optValue<std::string>("action", "");
        if (action != "kept" && reason != "kept") {  // a header made tidy is no removed object
          r.objects.push_back({act->optValue<std::string>("part", ""),
                               act->optValue<std::string>("filename", ""), action, reason, ""});
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "mugai vault: " << r.id << ": the report is not JSON (" << e.what()
              << "), imported with the original only\n";
  }
}

int cmdImport(mv::Vault& v, const VaultArgs& a) {
  if (a.positional.size() < 2) return fail("import needs a quarantine folder");
  Context c;
  std::string cerr_text;
  if (!loadContext(a, c, cerr_text)) return fail(cerr_text);
  const fs::path dir = a.positional[1];
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fail(dir.string() + " is not a folder");
  std::size_t done = 0, skipped = 0, failed = 0;
  std::vector<fs::path> reports;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json" && e.is_regular_file()) reports.push_back(e.path());
  }
  std::sort(reports.begin(), reports.end());
  for (const auto& json_path : reports) {
    const std::string id = json_path.stem().string();
    const fs::path orig_path = dir / (id + ".orig");
    std::ifstream jf(json_path, std::ios::binary), of(orig_path, std::ios::binary);
    if (!of) {
      std::cerr << "mugai vault: " << id << ": no " << orig_path.filename().string() << ", skipped\n";
      ++skipped;
      continue;
    }
    std::string json((std::istreambuf_iterator<char>(jf)), {});
    mv::NewRecord r;
    r.id = id;
    r.original.assign((std::istreambuf_iterator<char>(of)), {});
    r.report_json = json;
    readImportReport(json, r);
    r.created = idTime(id);
    if (r.created == 0) {
      auto t = fs::last_write_time(orig_path, ec);
      r.created = ec ? 0
                     : std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::file_clock::to_sys(t).time_since_epoch())
                           .count();
    }
    std::vector<std::string> all = r.reasons;
    if (!r.reason.empty()) all.push_back(r.reason);
    r.tier = mv::tierFor(c.policy->vault, all);
    r.expires = mv::expiresFor(c.policy->vault, r.verdict, all, r.created);
    std::string err;
    if (!v.put(r, &err)) {
      if (err.find("exists already") != std::string::npos) {
        ++skipped;
        continue;
      }
      std::cerr << "mugai vault: " << id << ": " << err << "\n";
      ++failed;
      continue;
    }
    ++done;
  }
  std::cout << "imported " << done << " record(s) from " << dir.string() << "; " << skipped
            << " skipped (present already, or no original); " << failed << " failed\n";
  return failed ? 1 : 0;
}

}  // namespace

int runVault(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout << kVaultUsage;
      return 0;
    }
  }
  VaultArgs a;
  std::string err;
  if (!parseVaultArgs(argc, argv, a, err)) {
    std::cerr << "mugai vault: " << err << "\nTry 'mugai vault --help'.\n";
    return 1;
  }
  auto v = mv::openVault(a.url, &err);
  if (!v) return fail(err);
  if (!a.by.empty() && (a.command == "original" || a.command == "hold" || a.command == "unhold" ||
                        a.command == "purge" || a.command == "import")) {
    Context c;
    if (!loadContext(a, c, err)) return fail(err);
    if (auto d = mv::mayAdminister(c.actor); !d.allowed) {
      return refuse(*v, c, a.command, a.positional.size() > 1 ? a.positional[1] : "", d);
    }
  }
  if (!a.by.empty() && (a.command == "list" || a.command == "show")) {
    Context c;
    if (!loadContext(a, c, err)) return fail(err);
    if (a.command == "show") {
      auto r = a.positional.size() > 1 ? v->get(a.positional[1], &err) : std::nullopt;
      if (r) {
        if (auto d = mv::maySee(c.actor, *r, c.directory.get()); !d.allowed) {
          return refuse(*v, c, "show", r->id, d);
        }
      }
    } else {
      return cmdList(*v, a, &c);
    }
  }
  if (a.command == "list") return cmdList(*v, a);
  if (a.command == "show") return cmdShow(*v, a);
  if (a.command == "original") return cmdOriginal(*v, a);
  if (a.command == "hold") return cmdHold(*v, a, true);
  if (a.command == "unhold") return cmdHold(*v, a, false);
  if (a.command == "purge") return cmdPurge(*v, a);
  if (a.command == "audit") return cmdAudit(*v, a);
  if (a.command == "import") return cmdImport(*v, a);
  if (a.command == "request") return cmdRequest(*v, a);
  if (a.command == "approve") return cmdDecide(*v, a, true);
  if (a.command == "deny") return cmdDecide(*v, a, false);
  if (a.command == "release") return cmdRelease(*v, a);
  if (a.command == "unlock") return cmdUnlock(*v, a);
  std::cerr << "mugai vault: unknown command '" << a.command << "'\nTry 'mugai vault --help'.\n";
  return 1;
}
