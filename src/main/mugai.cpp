// mugai: the command-line entry point. The only code not linked into the tests.
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mugai/disposition/disposition.h"
#include "mugai/io/store.h"
#include "mugai/vault/vault.h"
#include "mugai/pipeline/pipeline.h"
#include "src/authclient/remote_authenticator.h"
#include "src/scanclient/remote_scanner.h"
#include "src/isolation/process_pool.h"
#include "src/isolation/worker.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitBlocked = 3;
constexpr int kExitTempFail = 4;

const char* kUsage = R"(mugai — sanitizing gateway between the Internet and LGWAN zones (無害化)

Usage:
  mugai mail IN.eml -o OUT.eml [--report REPORT.json] [options]
      Sanitize one message. IN may be "-" for standard input, OUT "-" for standard
      output; an OUT that is a device or FIFO (/dev/null) is written to, never replaced.
  mugai file IN -o OUTDIR [--report REPORT.json] [options]
      Sanitize one file; the result is written into OUTDIR under a safe name
      (never replacing an existing file).
  mugai serve [--config FILE] [--listen HOST:PORT] [--next-hop HOST:PORT] [--rules FILE]
              [--state-dir DIR] [--vault URL]
      Run the SMTP relay (default 127.0.0.1:10025 -> 127.0.0.1:10026; see
      'mugai serve --help' and docs/deployment.md).
  mugai console [--config FILE] [--listen HOST:PORT] [--vault URL] | user add|passwd|disable ...
      The web console for staff, approvers, the security team and auditors
      ('mugai console --help', docs/console.md).
  mugai vault [--vault URL] list|show|original|hold|unhold|purge|audit|import ...
      The kept originals, their release state and the audit log ('mugai vault --help',
      docs/vault.md).
  mugai rules check [FILE]        Validate a rules file (default: the embedded rules).
  mugai rules defaults [--markdown]
                                  List every limit with its default, range and meaning.
  mugai rules sanitizers          List the registered sanitizers and their parameters.
  mugai rules reasons             List every reason with its default verdict.
  mugai --help | --version

Options:
  --rules FILE        Rules to use instead of the embedded defaults (rules/default.yaml).
  --vault URL         Keep the original and its report in this vault (sqlite:PATH or
                      postgresql://...) when it was blocked, or a part removed or rebuilt.
  --quarantine DIR    Old name: the vault sqlite:DIR/vault.db.
  --sender ADDR       Envelope sender (mail mode; used by rules overrides and the report).
  --rcpt ADDR         Envelope recipient (repeatable).
  --authenticate      Mail mode: check SPF, DKIM and DMARC on IN first (needs DNS) and write
                      the result as Authentication-Results (docs/phishing.md). With:
    --client-ip IP      the address the message came from (SPF), --helo NAME its HELO,
    --authserv-id ID    the id to write (default: this host's name),
    --trusted-authserv-id ID   keep incoming Authentication-Results of ID (repeatable),
    --dns-nameserver IP[:PORT] ask this resolver instead of /etc/resolv.conf's.
  --quiet             No summary line on standard error.
  --isolated          mail: parse in a sandboxed worker process, as mugai serve does.

Exit status:
  0  output written (clean or sanitized)
  3  the item is blocked (mail: OUT holds the notice that replaces it, if notices are on)
  4  temporary failure (engine error or deadline): nothing written, try again
  1  usage, input/output or rules errors
)";

struct Args {
  std::string command, sub, input, output, report, rules, quarantine, vault, sender;
  std::vector<std::string> rcpts;
  bool markdown = false, quiet = false, isolated = false;
  bool authenticate = false;  // mail: SPF/DKIM/DMARC before the engine (issue 14)
  std::string client_ip, helo, authserv_id, dns_nameserver;
  std::vector<std::string> trusted_authserv_ids;
};

int usageError(const std::string& msg) {
  std::cerr << "mugai: " << msg << "\nTry 'mugai --help'.\n";
  return kExitUsage;
}

bool parseArgs(int argc, char** argv, Args& a, std::string& err) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) {
        err = s + " needs a value";
        return false;
      }
      into = argv[++i];
      return true;
    };
    if (s == "-o" || s == "--output") { if (!value(a.output)) return false; }
    else if (s == "--report") { if (!value(a.report)) return false; }
    else if (s == "--rules") { if (!value(a.rules)) return false; }
    else if (s == "--quarantine") { if (!value(a.quarantine)) return false; }
    else if (s == "--vault") { if (!value(a.vault)) return false; }
    else if (s == "--sender") { if (!value(a.sender)) return false; }
    else if (s == "--rcpt") {
      std::string r;
      if (!value(r)) return false;
      a.rcpts.push_back(r);
    }
    else if (s == "--authenticate") a.authenticate = true;
    else if (s == "--client-ip") { if (!value(a.client_ip)) return false; }
    else if (s == "--helo") { if (!value(a.helo)) return false; }
    else if (s == "--authserv-id") { if (!value(a.authserv_id)) return false; }
    else if (s == "--dns-nameserver") { if (!value(a.dns_nameserver)) return false; }
    else if (s == "--trusted-authserv-id") {
      std::string id;
      if (!value(id)) return false;
      a.trusted_authserv_ids.push_back(id);
    }
    else if (s == "--markdown") a.markdown = true;
    else if (s == "--quiet" || s == "-q") a.quiet = true;
    else if (s == "--isolated") a.isolated = true;
    else if (s.size() > 1 && s[0] == '-' && s != "-") {
      err = "unknown option " + s;
      return false;
    } else {
      positional.push_back(s);
    }
  }
  if (positional.empty()) {
    err = "no command given";
    return false;
  }
  a.command = positional[0];
  if (a.command == "rules") {
    if (positional.size() < 2) {
      err = "rules needs a subcommand: check, defaults, sanitizers or reasons";
      return false;
    }
    a.sub = positional[1];
    if (positional.size() > 2) a.input = positional[2];
    if (positional.size() > 3) {
      err = "too many arguments";
      return false;
    }
    return true;
  }
  if (positional.size() != 2) {
    err = a.command + " takes exactly one input (got " + std::to_string(positional.size() - 1) + ")";
    return false;
  }
  a.input = positional[1];
  return true;
}

bool readInput(const std::string& path, std::uint64_t limit, std::string& out, std::string& err) {
  std::istream* in = &std::cin;
  std::ifstream file;
  if (path != "-") {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      err = "cannot read " + path + ": not a regular file";
      return false;
    }
    file.open(path, std::ios::binary);
    if (!file) {
      err = "cannot read " + path + ": " + std::strerror(errno);
      return false;
    }
    in = &file;
  }
  // Read at most limit+1 bytes: enough to know the item is over the limit, no more.
  out.clear();
  char buf[1 << 16];
  while (*in && out.size() <= limit) {
    in->read(buf, sizeof buf);
    out.append(buf, static_cast<std::size_t>(in->gcount()));
  }
  if (in->bad()) {
    err = "cannot read " + path;
    return false;
  }
  return true;
}

std::unique_ptr<mugai::Engine> engineOrExplain(const Args& a) {
  std::vector<std::string> errors;
  auto engine = mugai::makeEngine(a.rules, errors, mugai::scanclient::remoteScanner);
  if (!engine) {
    std::cerr << "mugai: cannot start: the rules or the scanner are not usable:\n";
    for (const auto& e : errors) std::cerr << "  " << e << "\n";
  }
  return engine;
}

/// The original into the vault (--vault, or --quarantine DIR: sqlite:DIR/vault.db) through the
/// disposition layer, as serve does.
bool recordOriginal(const Args& a, const mugai::ProcessResult& r, std::string_view original,
                    const mugai::policy::Policy& policy, std::string& err) {
  std::string url = a.vault;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.quarantine, ec);
    url = "sqlite:" + a.quarantine + "/vault.db";
  }
  std::shared_ptr<mugai::vault::Vault> vault = mugai::vault::openVault(url, &err);
  if (!vault) return false;
  mugai::disposition::Disposition disposition({vault, {}, {}});
  mugai::disposition::Arrival arrival;
  arrival.kind = r.report.kind;
  arrival.envelope = mugai::Envelope{a.sender, a.rcpts, "", "", ""};
  arrival.source = a.input;
  return disposition.record(r.report.id, original, arrival, r, policy,
                            r.output.empty() ? "" : a.output, &err) !=
         mugai::disposition::Stored::Failed;
}

int finishItem(const Args& a, const mugai::ProcessResult& r, std::string_view original,
               const mugai::policy::Policy& policy) {
  std::string err;
  if (!a.report.empty() && !mugai::io::writeOutput(a.report, r.report.toJson() + "\n", &err, 0644)) {
    std::cerr << "mugai: " << err << "\n";
    return kExitUsage;
  }
  if ((!a.quarantine.empty() || !a.vault.empty()) && r.keepOriginal()) {
    if (!recordOriginal(a, r, original, policy, err)) {
      std::cerr << "mugai: " << err << "\n";
      return kExitUsage;
    }
  }
  if (!a.quiet) std::cerr << "mugai: " << r.report.logLine() << "\n";
  if (r.verdict == mugai::Verdict::TempFail) return kExitTempFail;
  return r.blocked() ? kExitBlocked : kExitOk;
}

int runMail(const Args& a) {
  if (a.output.empty()) return usageError("mail needs -o OUT.eml");
  auto engine = engineOrExplain(a);
  if (!engine) return kExitUsage;
  std::string raw, err;
  if (!readInput(a.input, engine->policy().limits.message_size_limit, raw, err)) return usageError(err);
  mugai::Envelope env{a.sender, a.rcpts, "", a.client_ip, a.helo};
  if (a.authenticate) {  // on the original bytes, before the engine changes anything
    mugai::auth::Settings as;
    char host[256] = {0};
    as.authserv_id = !a.authserv_id.empty() ? a.authserv_id : gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "localhost";
    as.trusted_authserv_ids = a.trusted_authserv_ids;
    as.dns.nameserver = a.dns_nameserver;
    const mugai::Limits& l = engine->policy().limits;
    as.dns.timeout_s = static_cast<unsigned>(l.auth_dns_timeout_s);
    as.dns.cache_limit = static_cast<unsigned>(l.auth_dns_cache_limit);
    as.dns.ttl_max_s = static_cast<unsigned>(l.auth_dns_ttl_max_s);
    as.dns.time_limit_s = static_cast<unsigned>(l.auth_time_limit_s);
    auto authenticator = mugai::authclient::makeRemoteAuthenticator(as, &err);  // mugai-auth
    if (!authenticator) return usageError("--authenticate: the authentication process does not start: " + err);
    env.auth = authenticator->check(raw, {a.sender, a.helo, a.client_ip});
  }
  // --isolated: parsed by one sandboxed worker, as `mugai serve` does (the console's dry run).
  std::shared_ptr<const mugai::Engine> shared(std::move(engine));
  mugai::ItemProcessorConstSharedPtr processor = shared;
  if (a.isolated) {
    mugai::isolation::PoolOptions o;
    o.workers = 1;
    processor = mugai::isolation::ProcessPool::start(shared, o, &err);
    if (!processor) return usageError("--isolated: the sandboxed worker does not start: " + err);
  }
  mugai::ProcessResult r = processor->processMessage(raw, env, mugai::newItemId());
  if (!r.output.empty()) {
    // "-" is standard output; /dev/null or a FIFO is written to, never replaced by a file.
    if (!mugai::io::writeOutput(a.output, r.output, &err, 0644)) {
      std::cerr << "mugai: " << err << "\n";
      return kExitUsage;
    }
  } else {
    mugai::io::removeStaleOutput(a.output);  // never leave a stale output beside a new report
  }
  return finishItem(a, r, raw, shared->policy());  // `engine` was moved into `shared`
}

int runFile(const Args& a) {
  if (a.output.empty()) return usageError("file needs -o OUTDIR");
  std::error_code ec;
  if (!std::filesystem::is_directory(a.output, ec)) {
    return usageError("output folder " + a.output + " does not exist (create it first)");
  }
  auto engine = engineOrExplain(a);
  if (!engine) return kExitUsage;
  std::string data, err;
  if (!readInput(a.input, engine->policy().limits.message_size_limit, data, err)) return usageError(err);
  std::string name = a.input == "-" ? "stdin" : std::filesystem::path(a.input).filename().string();
  mugai::ProcessResult r = engine->processFile(data, name, mugai::newItemId());
  if (!r.blocked()) {
    std::string written = mugai::io::writeFileUnique(a.output, r.output_filename, r.output, &err);
    if (written.empty()) {
      std::cerr << "mugai: " << err << "\n";
      return kExitUsage;
    }
    if (!a.quiet) std::cerr << "mugai: wrote " << written << "\n";
  }
  return finishItem(a, r, data, engine->policy());
}

int runRules(const Args& a) {
  if (a.sub == "check") {
    std::vector<std::string> errors;
    auto engine = mugai::makeEngine(a.input, errors, mugai::scanclient::remoteScanner);
    if (!engine) {
      for (const auto& e : errors) std::cerr << e << "\n";
      std::cerr << "mugai: rules check failed: " << errors.size() << " problem(s)\n";
      return kExitUsage;
    }
    const auto& p = engine->policy();
    std::cout << p.source << ": OK (" << p.types.size() << " type rules, " << p.chains.size()
              << " chains, " << p.overrides.size() << " overrides; scanner: "
              << engine->services().scanner->describe() << ")\n";
    return kExitOk;
  }
  if (a.sub == "defaults") {
    std::size_t n = 0;
    const mugai::ParamInfo* t = mugai::paramTable(&n);
    if (a.markdown) {
      std::cout << "# Parameters\n\nGenerated by `mugai rules defaults --markdown` from "
                   "include/mugai/config/params.def. Set them under `limits:` in a rules file.\n\n"
                   "| parameter | default | min | max | unit | meaning |\n|---|---|---|---|---|---|\n";
      for (std::size_t i = 0; i < n; ++i) {
        std::cout << "| `" << t[i].name << "` | " << t[i].default_value << " | " << t[i].min_value
                  << " | " << t[i].max_value << " | " << t[i].unit << " | " << t[i].doc << " |\n";
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        std::cout << t[i].name << " = " << t[i].default_value << "  # " << t[i].unit << ", "
                  << t[i].min_value << ".." << t[i].max_value << ": " << t[i].doc << "\n";
      }
    }
    return kExitOk;
  }
  if (a.sub == "sanitizers") {
    mugai::Registry reg;
    mugai::registerBuiltinSanitizers(reg);
    for (const auto& name : reg.names()) {
      const auto* f = reg.find(name);
      std::cout << name << "\n  " << f->summary() << "\n";
      for (const auto& p : f->describe()) {
        std::cout << "  - " << p.name << " (default " << p.default_value << "): " << p.doc << "\n";
      }
    }
    return kExitOk;
  }
  if (a.sub == "reasons") {
    std::size_t n = 0;
    const mugai::ReasonInfo* t = mugai::reasonTable(&n);
    for (std::size_t i = 0; i < n; ++i) {
      std::cout << t[i].name << "  " << mugai::verdictName(t[i].default_verdict)
                << (t[i].fail_closed ? "  fail-closed" : "") << "  " << t[i].enhanced_status
                << "  " << t[i].public_text << "\n";
    }
    return kExitOk;
  }
  return usageError("unknown rules subcommand '" + a.sub + "'");
}

}  // namespace

int runServe(int argc, char** argv);  // serve.cpp
int runVault(int argc, char** argv);  // vault_cmd.cpp

/// Keeps the multi-megabyte buffers of a message (decoded attachment, rebuilt file, encoded
/// output) in the heap for reuse instead of a fresh mmap/munmap each time: a fresh mapping costs
/// a page fault per 4 KiB on first touch. Measured with bench/smtp_bench.sh, 1 MB PDF mail:
/// 63 -> 105 msg/s, p99 361 -> 245 ms, for 20 MB more resident memory. An operator who sets
/// MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES keeps glibc's behaviour as they chose it.
void tuneAllocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("GLIBC_TUNABLES")) return;
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

int main(int argc, char** argv) {
  tuneAllocator();
  // The sandboxed worker `mugai serve` starts (src/isolation): not a command for people.
  if (argc == 2 && !std::strcmp(argv[1], "worker")) return mugai::isolation::workerMain();
  if (argc > 1 && !std::strcmp(argv[1], "serve")) return runServe(argc, argv);
  if (argc > 1 && !std::strcmp(argv[1], "vault")) return runVault(argc, argv);
  // The console is its own executable (it links no parser): mugai-console beside this one.
  if (argc > 1 && !std::strcmp(argv[1], "console")) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string console = (ec ? std::string(".") : self.parent_path().string()) + "/mugai-console";
    execv(console.c_str(), argv);
    std::cerr << "mugai: cannot run " << console << ": " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout << kUsage;
      return kExitOk;
    }
    if (!std::strcmp(argv[i], "--version")) {
      std::cout << "mugai " << MUGAI_VERSION << "\n";
      return kExitOk;
    }
  }
  if (argc == 1) {
    std::cout << kUsage;
    return kExitOk;
  }
  Args a;
  std::string err;
  if (!parseArgs(argc, argv, a, err)) return usageError(err);
  if (a.command == "mail") return runMail(a);
  if (a.command == "file") return runFile(a);
  if (a.command == "rules") return runRules(a);
  return usageError("unknown command '" + a.command + "'");
}
