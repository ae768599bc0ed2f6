// `mugai serve`: the SMTP relay service (src/smtp), its signals and its configuration.
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLManager.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mugai/obs/monitor.h"
#include "mugai/disposition/disposition.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/vault/vault.h"
#include "src/authclient/remote_authenticator.h"
#include "src/scanclient/remote_scanner.h"
#include "src/filedrop/filedrop.h"
#include "src/isolation/process_pool.h"
#include "src/release/runner.h"
#include "src/smtp/gateway.h"
#include "src/smtp/run_marker.h"
#include "src/smtp/server.h"
#include "src/smtp/service_config.h"
#include "src/smtp/worker_pool.h"

namespace {

using mugai::smtp::logLine;

const char* kServeUsage =
    R"(Usage: mugai serve [--config FILE] [--listen HOST:PORT] [--next-hop HOST:PORT]
                   [--rules FILE] [--state-dir DIR] [--vault URL] [--print-config [--markdown]]
                   [--inbox DIR --outbox DIR] [--no-smtp] [--metrics HOST:PORT] [--KEY VALUE]

Runs the SMTP relay: accepts mail on --listen (default 127.0.0.1:10025), sanitizes it and relays
the result to --next-hop (default 127.0.0.1:10026), answering 250 only once the next hop has it.
Without --config the embedded defaults apply (see docs/deployment.md); every key, its default and
whether SIGHUP applies it: docs/configuration.md (--print-config --markdown writes it). Each key
is also an option, --KEY VALUE with '-' for '_' (--relay-tls may), over the config file. Integer
limits (timeouts, connection and recipient caps, worker threads) are set under `limits:` in the
rules file.
With --inbox and --outbox (config: filedrop_inbox, filedrop_outbox) the file-drop service also
runs (docs/filedrop.md): files saved in the inbox appear sanitized in the outbox. --no-smtp
(config: smtp = no) runs the file drop alone.
Originals of everything blocked, removed or rebuilt are kept in the vault (--vault URL, config
`vault`: sqlite:PATH or postgresql://...; default sqlite:STATE_DIR/vault.db) before the message is
answered 250 or the dropped file is finished (docs/vault.md). --state-dir DIR (config: state_dir,
default /var/spool/mugai/quarantine) is the service's own folder; --quarantine DIR is its old name.
--metrics HOST:PORT (config: metrics) serves Prometheus metrics at http://HOST:PORT/metrics,
loopback only unless the config says metrics_remote = yes; the config's syslog key sends one
RFC 5424 (or CEF) event per message (docs/monitoring.md).
serve also runs the release runner on the vault: approved originals, re-scanned, to the
requester through the next hop; PPAP unlocks; notification mails (docs/vault.md).
Signals: SIGHUP reads the config again and reloads the rules and signatures (a changed key other
than `rules` is logged as needing a restart); SIGTERM stops accepting and drains.
)";

struct ServeArgs {
  std::string config;
  /// Every key of service.def is also an option, `--KEY VALUE` with '-' for '_' (--next-hop,
  /// --state-dir, --relay-tls ...), applied over the config file in the order given; --inbox,
  /// --outbox and --quarantine are short names for filedrop_inbox, filedrop_outbox and
  /// quarantine_dir, --no-smtp is smtp = no.
  std::vector<std::pair<std::string, std::string>> overrides;  ///< (option as typed, key), value
  std::vector<std::string> options;                            ///< the option as typed, per override
  bool print_config = false;
  bool markdown = false;  ///< --print-config --markdown: the keys table (docs/configuration.md)
};

/// The service.def key an option names ("--next-hop" -> next_hop), or "" when none.
std::string optionKey(const std::string& option) {
  if (option.size() < 3 || option.compare(0, 2, "--") != 0) return "";
  std::string key = option.substr(2);
  for (auto& ch : key) {
    if (ch == '-') ch = '_';
  }
  if (key == "inbox" || key == "outbox") key = "filedrop_" + key;
  if (key == "quarantine") key = "quarantine_dir";
  mugai::smtp::ServiceConfig probe;
  return mugai::smtp::setServiceKey(probe, key, "") ? key : "";
}

bool parseServeArgs(int argc, char** argv, ServeArgs& a, std::string& err) {
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--print-config") {
      a.print_config = true;
      continue;
    }
    if (s == "--markdown") {
      a.markdown = true;
      continue;
    }
    if (s == "--no-smtp") {
      a.overrides.push_back({"smtp", "no"});
      a.options.push_back(s);
      continue;
    }
    std::string key = s == "--config" ? "config" : optionKey(s);
    if (key.empty()) {
      std::string near = s.size() > 2 ? mugai::smtp::closestKey(s.substr(2)) : "";
      for (auto& ch : near) {
        if (ch == '_') ch = '-';
      }
      err = "serve: unknown argument " + s + (near.empty() ? "" : " (did you mean --" + near + "?)");
      return false;
    }
    if (i + 1 >= argc || argv[i + 1][0] == '\0') {
      err = s + " needs a value";
      return false;
    }
    if (key == "config") {
      a.config = argv[++i];
    } else {
      a.overrides.push_back({key, argv[++i]});
      a.options.push_back(s);
    }
  }
  return true;
}

/// The config file, then the command line's options over it; every value checked before anything
/// is used or printed (a bad address never falls back to a default).
bool buildConfig(const ServeArgs& a, mugai::smtp::ServiceConfig& c) {
  std::vector<std::string> errors;
  if (!a.config.empty()) mugai::smtp::readServiceConfig(a.config, c, errors);
  bool options_ok = true;
  for (std::size_t i = 0; i < a.overrides.size(); ++i) {
    const auto& [key, value] = a.overrides[i];
    std::string why = mugai::smtp::checkServiceValue(key, value);
    if (!why.empty()) errors.push_back(a.options[i] + " '" + value + "': " + why);
    options_ok = options_ok && why.empty();
    mugai::smtp::setServiceKey(c, key, value);
  }
  if (options_ok) {  // an option already named as bad is not named again as its key
    std::string where = a.config.empty()        ? "command line"
                        : a.overrides.empty() ? a.config
                                              : a.config + " with the command line";
    mugai::smtp::checkServiceConfig(c, where, errors);
  }
  for (const auto& e : errors) std::cerr << "mugai: " << e << "\n";
  if (!errors.empty()) return false;
  if (c.myhostname.empty()) {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    c.myhostname = name[0] ? name : "localhost";
  }
  return true;
}

Poco::Net::Context::Ptr serverTls(const mugai::smtp::ServiceConfig& c) {
  if (c.tls_cert_file.empty()) return nullptr;
  return new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, c.tls_key_file, c.tls_cert_file,
                                "", Poco::Net::Context::VERIFY_NONE, 9, false,
                                "HIGH:!aNULL:!MD5:!RC4");
}

/// The release runner (src/release), on the vault serve writes to: approved releases, PPAP
/// unlocks and notification mails leave through the same next hop as the relay's mail,
/// re-scanned with the signatures loaded now (the current engine's scanner, swapped on reload).
std::unique_ptr<mugai::release::Runner> startReleases(const mugai::smtp::ServiceConfig& c,
                                                      mugai::smtp::EngineHolder& engines) {
  const std::string vault = mugai::smtp::vaultUrl(c);
  const mugai::Limits& limits = engines.get()->policy().limits;
  mugai::release::RunnerOptions o;
  o.worker = mugai::release::defaultWorkerName();
  o.relay = mugai::smtp::relayTarget(c, static_cast<int>(limits.relay_timeout_s));
  o.lease_s = std::max<std::int64_t>(900, 8 * static_cast<std::int64_t>(limits.relay_timeout_s));
  o.outbox = c.filedrop_outbox;
  o.notices.sender = c.release_sender;
  o.notices.hostname = c.myhostname;
  o.notices.console_url = c.console_url;
  o.notices.contact_ja = engines.get()->policy().vault.contact_ja;
  o.notices.contact_en = engines.get()->policy().vault.contact_en;
  o.log = [](const std::string& line) { logLine("release: " + line); };
  std::string why;
  auto r = mugai::release::startRunner(
      vault, std::move(o), [&engines] { return engines.get()->services().scanner; }, &why);
  if (r) logLine("release runner started on " + vault);
  else logLine("WARNING: the release runner did not start: " + why);
  return r;
}

/// "signatures=3 (/etc/mugai/signatures) + 0 (/var/lib/clamav)" for the startup and reload lines.
std::string signaturesText(const mugai::Engine& engine) {
  const auto& scanner = engine.services().scanner;
  if (!scanner) return "signatures=none";
  std::string sources = scanner->sources();
  return "signatures=" + (sources.empty() ? scanner->describe() : sources);
}

void logScannerWarnings(const mugai::Engine& engine) {
  if (!engine.services().scanner) return;
  for (const auto& w : engine.services().scanner->warnings()) logLine("WARNING: " + w);
}

/// isolation = workers: how many sandboxed workers (0: isolation off, the engine runs in-process).
std::size_t g_isolated_workers = 0;

std::size_t workerThreads(const mugai::Limits& limits) {
  return limits.worker_threads ? limits.worker_threads
                               : std::max(1u, std::thread::hardware_concurrency());
}

/// The item processor for `engine`: the engine itself, or a pool of sandboxed workers built from
/// the same policy (src/isolation). Null with *why when the workers cannot start.
mugai::ItemProcessorConstSharedPtr makeProcessor(const std::shared_ptr<const mugai::Engine>& engine,
                                                 std::string* why) {
  if (g_isolated_workers == 0) return engine;
  mugai::isolation::PoolOptions o;
  o.workers = g_isolated_workers;
  o.log = [](const std::string& line) { logLine(line); };
  return mugai::isolation::ProcessPool::start(engine, o, why);
}

/// "rules=/etc/mugai/rules.yaml" (or "(embedded)") for the start and reload lines.
std::string rulesText(const std::string& rules) {
  return "rules=" + (rules.empty() ? std::string("(embedded defaults)") : rules);
}

/// The rules file in use: the config's `rules` key, which SIGHUP may change.
class CurrentRules {
 public:
  explicit CurrentRules(std::string path) : path_(std::move(path)) {}
  std::string get() const {
    std::lock_guard<std::mutex> lock(m_);
    return path_;
  }
  void set(std::string path) {
    std::lock_guard<std::mutex> lock(m_);
    path_ = std::move(path);
  }

 private:
  mutable std::mutex m_;
  std::string path_;
};

/// SIGHUP or changed signature files: build a new engine beside the running one; swap only when
/// it is complete. One reload at a time, whoever asks.
bool reloadEngine(const std::string& rules, mugai::smtp::EngineHolder& engines) {
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> lock(one_at_a_time);
  std::vector<std::string> errors;
  std::shared_ptr<const mugai::Engine> fresh = mugai::makeEngine(rules, errors, mugai::scanclient::remoteScanner);
  if (!fresh) {
    std::string all;
    for (const auto& e : errors) all += " " + e;
    logLine("reload failed, keeping the running rules and signatures:" + all);
    return false;
  }
  std::string why;
  mugai::ItemProcessorConstSharedPtr processor = makeProcessor(fresh, &why);
  if (!processor) {
    logLine("reload failed, keeping the running rules and signatures: " + why);
    return false;
  }
  std::string signatures = signaturesText(*fresh);
  logScannerWarnings(*fresh);
  mugai::obs::engineLoaded(fresh->services().scanner.get());
  engines.set(std::move(fresh), std::move(processor));
  logLine("reloaded rules and signatures, " + rulesText(rules) + ", " + signatures);
  return true;
}

/// SIGHUP: the config file is read again (with the same command-line overrides). `rules` takes
/// effect now, with the rules and signatures it names; every other key is bound at start
/// (sockets, folders, TLS contexts, threads): a changed one is named in the log as needing a
/// restart and keeps its running value. A config that no longer loads keeps everything.
void reloadConfig(const ServeArgs& args, const mugai::smtp::ServiceConfig& running,
                  CurrentRules& rules, mugai::smtp::EngineHolder& engines) {
  mugai::smtp::ServiceConfig fresh;
  if (!buildConfig(args, fresh)) {
    logLine("reload failed: the config " + args.config +
            " does not load (above), keeping the running configuration, rules and signatures");
    return;
  }
  // Every key marked `restart` in service.def (all but `rules`).
  std::vector<std::string> restart = mugai::smtp::restartKeysChanged(running, fresh);
  for (const auto& key : restart) {
    logLine("config: " + key + " changed in " + args.config +
            ": takes effect only after a restart (the running value is kept)");
  }
  std::string before = rules.get();
  if (fresh.rules != before) logLine("config: rules changed: " + rulesText(fresh.rules));
  if (reloadEngine(fresh.rules, engines)) rules.set(fresh.rules);
}

/// clamd's SelfCheck: every `signature_check_s` the running scanner is asked whether its signature
/// files changed (freshclam ran); if so, and they then stay put for a few seconds (a download in
/// progress settles), rules and signatures are reloaded as on SIGHUP. A failed reload keeps the
/// running engine and is tried again at the next check.
class SignatureWatch {
 public:
  SignatureWatch(const CurrentRules& rules, mugai::smtp::EngineHolder& engines, unsigned period_s)
      : rules_(rules), engines_(engines), period_(period_s) {
    if (period_s == 0) return;
    thread_ = std::thread([this] { run(); });
  }
  ~SignatureWatch() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  /// False when stopped while waiting.
  bool sleep(std::chrono::seconds d) {
    std::unique_lock<std::mutex> lock(m_);
    return !cv_.wait_for(lock, d, [this] { return stop_; });
  }
  bool changed() const {
    auto engine = engines_.get();
    return engine && engine->services().scanner && engine->services().scanner->sourcesChanged();
  }
  void run() {
    std::string failed_stamp;  // the sources a reload failed on: not retried until they change
    while (sleep(period_)) {
      if (!changed()) continue;
      // Settled: the same on disk before and after a few seconds (freshclam mid-download is not).
      std::string before = stamp();
      if (!sleep(std::chrono::seconds(std::min<unsigned>(5, period_.count())))) return;
      std::string now = stamp();
      if (now != before || now == failed_stamp) continue;
      logLine("signature files changed on disk: reloading rules and signatures");
      bool ok = reloadEngine(rules_.get(), engines_);
      failed_stamp = ok ? "" : now;
    }
  }
  std::string stamp() const {
    auto engine = engines_.get();
    return engine && engine->services().scanner ? engine->services().scanner->sourcesStamp() : "";
  }

  const CurrentRules& rules_;
  mugai::smtp::EngineHolder& engines_;
  std::chrono::seconds period_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

/// SPF, DKIM and DMARC in their own process, mugai-auth (libopendkim and libopendmarc are not
/// linked with poppler: docs/dependencies.md); restarted when it dies, a check it cannot answer is
/// temperror. Null (said on stderr) when it does not start.
std::shared_ptr<const mugai::auth::Authenticator> startAuthenticator(const mugai::smtp::ServiceConfig& c,
                                                                     const mugai::Limits& limits) {
  mugai::auth::Settings as;
  as.authserv_id = c.authserv_id.empty() ? c.myhostname : c.authserv_id;
  as.trusted_authserv_ids = c.trusted_authserv_ids;
  as.dns.nameserver = c.dns_nameserver;
  as.dns.timeout_s = static_cast<unsigned>(limits.auth_dns_timeout_s);
  as.dns.cache_limit = static_cast<unsigned>(limits.auth_dns_cache_limit);
  as.dns.ttl_max_s = static_cast<unsigned>(limits.auth_dns_ttl_max_s);
  as.dns.time_limit_s = static_cast<unsigned>(limits.auth_time_limit_s);
  std::string why;
  auto a = mugai::authclient::makeRemoteAuthenticator(as, &why);
  if (!a) {
    std::cerr << "mugai: cannot start: authentication = yes, but the authentication process "
                 "does not start: " << why << "\n";
  }
  return a;
}

/// The listener's settings: the config's address, TLS and XFORWARD hosts, the rules' limits; each
/// session's settings are read from the engine in force (a reload changes them).
mugai::smtp::ServerOptions serverOptions(const mugai::smtp::ServiceConfig& c,
                                         const mugai::Limits& limits,
                                         mugai::smtp::EngineHolder& engines) {
  using namespace mugai::smtp;
  ServerOptions so;
  splitHostPort(c.listen, so.host, so.port);
  so.connection_limit = limits.smtp_connection_limit;
  so.client_connection_limit = limits.smtp_client_connection_limit;
  so.client_limit_exceptions = c.client_limit_exceptions;
  so.time.command = std::chrono::seconds(limits.smtp_command_timeout_s);
  so.time.data = std::chrono::seconds(limits.smtp_data_timeout_s);
  so.time.stress = std::chrono::seconds(limits.smtp_stress_timeout_s);
  so.time.session = std::chrono::seconds(limits.smtp_session_deadline_s);
  so.time.min_data_rate = limits.smtp_min_data_rate;
  so.xforward_hosts = c.xforward_hosts;
  so.tls_context = serverTls(c);
  std::string hostname = c.myhostname;
  so.settings = [&engines, hostname] {
    const mugai::Limits& l = engines.get()->policy().limits;
    SessionSettings st;
    st.hostname = hostname;
    st.limits = SessionLimits{l.message_size_limit, l.smtp_line_length_limit,
                              l.smtp_recipient_limit, l.smtp_error_limit};
    return st;
  };
  return so;
}

int serveUntilSignalled(const ServeArgs& args, const mugai::smtp::ServiceConfig& c,
                        CurrentRules& rules, mugai::smtp::EngineHolder& engines,
                        mugai::disposition::Disposition& disposition, const sigset_t& signals) {
  using namespace mugai::smtp;
  const mugai::Limits limits = engines.get()->policy().limits;
  std::size_t threads = workerThreads(limits);
  std::string why;
  if (!ensureDescriptors(descriptorBudget(limits.smtp_connection_limit, threads,
                                          limits.scan_max_recursion, limits.worker_queue_limit),
                         why)) {
    std::cerr << "mugai: cannot start: " << why << "\n";
    return 1;
  }
  WorkerPool pool(threads, limits.worker_queue_limit);
  GatewayOptions go;
  go.relay = mugai::smtp::relayTarget(c, static_cast<int>(limits.relay_timeout_s));
  go.console_url = c.console_url;
  if (c.authentication == "yes" && !(go.authenticator = startAuthenticator(c, limits))) return 1;
  Gateway gateway(engines.getter(), pool, disposition, go);
  const ServerOptions so = serverOptions(c, limits, engines);
  Server server(so, gateway);
  // Read at scrape time; unregistered (below) before the server and the pool go away.
  mugai::obs::Gauges gauges;
  gauges.sessions_open = [&server] { return static_cast<double>(server.activeSessions()); };
  gauges.workers_busy = [&pool] { return static_cast<double>(pool.busy()); };
  gauges.workers_total = [&pool] { return static_cast<double>(pool.threads()); };
  gauges.queue_length = [&pool] { return static_cast<double>(pool.queued()); };
  mugai::vault::Vault& vault = disposition.vault();
  mugai::obs::vaultGauges(gauges, [&vault](std::uint64_t& records, std::uint64_t& bytes) {
    mugai::vault::Usage u;
    if (!vault.usage(u, nullptr)) return false;
    records = u.records;
    bytes = u.stored_bytes;
    return true;
  });
  std::shared_ptr<void> registered = mugai::obs::registerGauges(std::move(gauges));
  try {
    server.start();
  } catch (const Poco::Exception& e) {
    std::cerr << "mugai: cannot listen on " << c.listen << ": "
              << (e.code() == EADDRINUSE || e.message().find("already in use") != std::string::npos
                      ? "address already in use (another mugai serve or an MTA is "
                        "listening there; pick another --listen)"
                      : e.message())
              << "\n";
    return 1;
  }
  logLine("listening on " + c.listen + ", next hop " + c.next_hop + ", " + std::to_string(threads) +
          (g_isolated_workers ? " workers (sandboxed processes)" : " workers (in-process: isolation none)") +
          ", vault " + disposition.vault().url() + (so.tls_context ? ", STARTTLS on" : "") +
          (go.authenticator ? ", authentication on as " + go.authenticator->settings().authserv_id : "") +
          ", " + rulesText(rules.get()) + ", " + signaturesText(*engines.get()));
  logScannerWarnings(*engines.get());
  std::thread reloader;
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      if (reloader.joinable()) reloader.join();  // one reload at a time
      reloader = std::thread(reloadConfig, std::cref(args), std::cref(c), std::ref(rules),
                             std::ref(engines));
      continue;
    }
    logLine("stopping: no new connections, draining sessions in flight");
    int wait = static_cast<int>(2 * limits.sanitizer_deadline_ms / 1000 + limits.relay_timeout_s);
    bool drained = server.drain(wait);
    if (reloader.joinable()) reloader.join();
    logLine(drained ? "stopped" : "stopped with sessions still open (their clients will retry)");
    return 0;
  }
}

/// The file-drop service on its own thread; stopped (current file finished) on destruction.
class FileDropRunner {
 public:
  FileDropRunner(const mugai::smtp::ServiceConfig& c, mugai::smtp::EngineHolder& engines,
                 mugai::disposition::Disposition& disposition)
      : engines_(engines),
        where_("inbox " + c.filedrop_inbox + ", delivering to outbox " + c.filedrop_outbox +
               ", vault " + disposition.vault().url()),
        rules_(c.rules),
        smtp_off_(c.smtp == "no") {
    mugai::filedrop::Options o;
    o.inbox = c.filedrop_inbox;
    o.outbox = c.filedrop_outbox;
    o.state_dir = c.state_dir;
    o.console_url = c.console_url;
    const mugai::Limits& l = engines.get()->policy().limits;
    o.settle_ms = l.filedrop_settle_ms;
    o.rescan_ms = l.filedrop_rescan_ms;
    service_ = std::make_unique<mugai::filedrop::Service>(o, engines.getter(), disposition);
  }
  bool start() {
    std::string why;
    if (!service_->prepare(&why)) {
      std::cerr << "mugai: cannot start the file drop: " << why << "\n";
      return false;
    }
    thread_ = std::thread([this] { service_->run(); });
    logLine("file drop: watching " + where_ + ", " + rulesText(rules_) + ", " +
            signaturesText(*engines_.get()));
    if (smtp_off_) logScannerWarnings(*engines_.get());  // else they follow the SMTP startup line
    return true;
  }
  ~FileDropRunner() {
    service_->stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  mugai::smtp::EngineHolder& engines_;
  std::string where_;
  std::string rules_;
  bool smtp_off_;
  std::unique_ptr<mugai::filedrop::Service> service_;
  std::thread thread_;
};

/// --no-smtp: only signals to wait for (SIGHUP reloads, SIGTERM/SIGINT stop).
int waitFileDropOnly(const ServeArgs& args, const mugai::smtp::ServiceConfig& c,
                     CurrentRules& rules, mugai::smtp::EngineHolder& engines,
                     const sigset_t& signals) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reloadConfig(args, c, rules, engines);
      continue;
    }
    logLine("stopping: finishing the file in hand");
    return 0;
  }
}

/// The monitoring feeds of the config (docs/monitoring.md): the event sink (`syslog`) and the
/// /metrics listener (`metrics`). Stopped, with the queued events sent, on destruction.
class Monitoring {
 public:
  bool start(const mugai::smtp::ServiceConfig& c, const mugai::Engine& engine) {
    mugai::obs::engineLoaded(engine.services().scanner.get());
    if (!c.syslog.empty()) {
      mugai::obs::EventOptions o;
      std::string why;
      mugai::obs::parseSinkTarget(c.syslog, o.target, &why);  // checked with the config
      o.format = c.syslog_format == "cef" ? mugai::obs::EventFormat::Cef
                                          : mugai::obs::EventFormat::Rfc5424;
      o.frame.facility = mugai::obs::facilityCode(c.syslog_facility);
      o.frame.hostname = c.myhostname;
      o.version = MUGAI_VERSION;
      mugai::obs::setEventSink(o);
      events_ = true;
      logLine("events: one " + c.syslog_format + " line per message to " + c.syslog +
              " (facility " + c.syslog_facility + ")");
    }
    if (c.metrics.empty()) return true;
    std::string host, why;
    std::uint16_t port = 0;
    mugai::smtp::splitHostPort(c.metrics, host, port);
    server_ = mugai::obs::startMetricsServer(host, port, &why);
    if (!server_) {
      std::cerr << "mugai: cannot serve metrics on " << c.metrics << ": " << why << "\n";
      return false;
    }
    logLine("metrics: http://" + c.metrics + "/metrics");
    return true;
  }
  ~Monitoring() {
    server_.reset();
    if (events_) mugai::obs::setEventSink(std::nullopt);
  }

 private:
  std::unique_ptr<mugai::obs::MetricsServer> server_;
  bool events_ = false;
};

}  // namespace

/// A state folder that still holds the old quarantine's ID.orig + ID.json: said once at start,
/// with the command that brings them into the vault.
void logOldQuarantine(const std::string& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".orig") ++n;
  }
  if (n) {
    logLine(std::to_string(n) + " original(s) of the old quarantine are still in " + dir +
            " (ID.orig + ID.json): `mugai vault import " + dir + "` brings them into the vault");
  }
}

/// memory_limit -> RLIMIT_DATA (never raised above a lower limit already in force, e.g. the
/// unit's LimitDATA=). A library that asks for more gets an allocation failure (an error for that
/// item), not the host's memory.
bool applyMemoryLimit(const mugai::smtp::ServiceConfig& c) {
  std::uint64_t bytes = 0;
  if (!mugai::smtp::parseMemoryLimit(c.memory_limit, bytes)) return false;
  if (bytes == 0) return true;
  rlimit cur{};
  if (getrlimit(RLIMIT_DATA, &cur) != 0) return false;
  rlimit want = cur;
  if (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur > bytes) want.rlim_cur = bytes;
  if (setrlimit(RLIMIT_DATA, &want) != 0) {
    std::cerr << "mugai: cannot set memory_limit = " << c.memory_limit << ": "
              << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

/// The arguments and the config: -1 to go on, else the exit code (--help, --print-config, an error).
int configure(int argc, char** argv, ServeArgs& a, mugai::smtp::ServiceConfig& config) {
  std::string err;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout << kServeUsage;
      return 0;
    }
  }
  if (!parseServeArgs(argc, argv, a, err)) {
    std::cerr << "mugai: " << err << "\n" << kServeUsage;
    return 1;
  }
  if (a.print_config && a.markdown) {  // the table of keys, not this host's values
    std::cout << mugai::smtp::serviceKeysMarkdown();
    return 0;
  }
  if (!buildConfig(a, config)) return 1;
  if (a.print_config) {
    std::cout << mugai::smtp::describeServiceConfig(config);
    return 0;
  }
  return -1;
}

/// The file-drop folders (checks that create nothing) and the state folder, made if missing.
/// Called only once the rules load: a failed start leaves nothing behind (no state folder made
/// inside the staff share).
bool prepareFolders(const mugai::smtp::ServiceConfig& config) {
  std::string why;
  if (!config.filedrop_inbox.empty()) {
    if (!mugai::filedrop::checkFolders(config.filedrop_inbox, config.filedrop_outbox,
                                       config.state_dir, &why)) {
      std::cerr << "mugai: cannot start the file drop: " << why << "\n";
      return false;
    }
  }
  std::error_code ec;
  const bool state_existed = std::filesystem::exists(config.state_dir, ec);
  std::filesystem::create_directories(config.state_dir, ec);
  if (!std::filesystem::is_directory(config.state_dir, ec) ||
      access(config.state_dir.c_str(), W_OK) != 0) {
    std::cerr << "mugai: cannot use the state folder " << config.state_dir
              << " (create it writable for this user, or pass --state-dir DIR)\n";
    return false;
  }
  if (!state_existed) logLine("created the state folder " + config.state_dir);
  if (config.quarantine_dir_used) {
    logLine("config: quarantine_dir (--quarantine) is the old name of state_dir: originals now go "
            "to the vault " + mugai::smtp::vaultUrl(config) + " (docs/deployment.md: migrating)");
  }
  logOldQuarantine(config.state_dir);
  return true;
}

std::shared_ptr<mugai::vault::Vault> openServiceVault(const mugai::smtp::ServiceConfig& config) {
  std::string why;
  std::shared_ptr<mugai::vault::Vault> vault = mugai::vault::openVault(mugai::smtp::vaultUrl(config), &why);
  if (!vault) {
    std::cerr << "mugai: cannot start: " << why << "\n";
    return nullptr;
  }
  if (vault->url() == "discard:") {
    logLine("WARNING: the discard: vault keeps NO originals; it exists for bench/smtp_bench.sh's "
            "vault-off column only (docs/vault.md)");
  }
  return vault;
}

int runServe(int argc, char** argv) {
  ServeArgs a;
  mugai::smtp::ServiceConfig config;
  if (int rc = configure(argc, argv, a, config); rc >= 0) return rc;
  if (auto hop = mugai::smtp::relayTarget(config, 1); !hop.tls_error.empty()) {
    std::cerr << "mugai: cannot start: " << hop.tls_error << "\n";
    return 1;
  }
  if (!applyMemoryLimit(config)) return 1;
  // Signals are taken by sigwait() in this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> errors;
  std::shared_ptr<const mugai::Engine> engine = mugai::makeEngine(config.rules, errors, mugai::scanclient::remoteScanner);
  if (!engine) {
    std::cerr << "mugai: cannot start: the rules or the scanner are not usable:\n";
    for (const auto& e : errors) std::cerr << "  " << e << "\n";
    return 1;
  }
  if (!prepareFolders(config)) return 1;
  std::shared_ptr<mugai::vault::Vault> vault = openServiceVault(config);
  if (!vault) return 1;
  std::string why;
  mugai::disposition::Disposition disposition({vault, {}, {}});
  // Says whether the previous run was killed (run_marker.h).
  mugai::smtp::RunMarker run;
  for (const auto& line : run.start(config.state_dir)) logLine(line);
  // Workers are spawned (never forked), so starting them after threads exist is safe.
  g_isolated_workers = config.isolation == "workers" ? workerThreads(engine->policy().limits) : 0;
  mugai::ItemProcessorConstSharedPtr processor = makeProcessor(engine, &why);
  if (!processor) {
    std::cerr << "mugai: cannot start the sandboxed workers: " << why
              << "\n  (isolation = none in the config runs without them: docs/deployment.md)\n";
    return 1;
  }
  Monitoring monitoring;
  if (!monitoring.start(config, *engine)) return 1;
  mugai::smtp::EngineHolder engines(std::move(engine), std::move(processor));
  CurrentRules rules(config.rules);
  SignatureWatch watch(rules, engines,
                       static_cast<unsigned>(engines.get()->policy().limits.signature_check_s));
  std::unique_ptr<mugai::release::Runner> releases = startReleases(config, engines);
  std::unique_ptr<FileDropRunner> filedrop;
  if (!config.filedrop_inbox.empty()) {
    filedrop = std::make_unique<FileDropRunner>(config, engines, disposition);
    if (!filedrop->start()) return 1;
  }
  if (config.smtp == "no") {
    int rc = waitFileDropOnly(a, config, rules, engines, signals);
    filedrop.reset();
    run.stopped();
    logLine("stopped");
    return rc;
  }
  try {
    Poco::Net::initializeSSL();
    int rc = serveUntilSignalled(a, config, rules, engines, disposition, signals);
    filedrop.reset();
    // Sessions a timed-out drain left open are never answered: their clients retry.
    if (rc == 0) run.stopped();
    Poco::Net::uninitializeSSL();
    return rc;
  } catch (const Poco::Exception& e) {
    std::cerr << "mugai: cannot serve: " << e.displayText() << "\n";
    return 1;
  }
}
