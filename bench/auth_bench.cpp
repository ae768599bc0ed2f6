// Issue 14: the cost of sender authentication per message (SPF, DKIM, DMARC) with a local
// resolver, printed beside the plain-mail throughput of the engine. It starts its own unbound on
// loopback (records for sender.example), signs the message with dkimpy's dkimsign, and measures
// the thread's CPU time per check with the cache warm (target < 1 ms), then the first, cold
// check's wall time; then the same check through the authentication process mugai-auth (what
// serve does): its round trip, wall and CPU on both sides. Figures only; tests never time things.
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "mugai/auth/auth.h"
#include "src/authclient/remote_authenticator.h"
#include "mugai/pipeline/pipeline.h"

namespace {

using Clock = std::chrono::steady_clock;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/// CPU seconds a process has used so far (utime + stime from /proc/PID/stat).
double processCpuSeconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string readAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string sh(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string plainMail(const std::string& from) {
  std::string body;
  while (body.size() < 2048) body += "The quick brown fox jumps over the lazy dog. ";
  return "From: " + from + "\r\nTo: staff@city.example.lg.jp\r\nSubject: Plain\r\n"
         "Message-ID: <p@sender.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
         body + "\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
  char tmpl[] = "/tmp/mugai-auth-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string dir = tmpl;
  // A key, a signed message, and unbound serving the records on a free port.
  if (sh("openssl genrsa -out " + dir + "/k.pem 2048 2>/dev/null && echo ok") != "ok") {
    std::fprintf(stderr, "openssl genrsa failed\n");
    return 1;
  }
  std::string pub = sh("openssl rsa -in " + dir + "/k.pem -pubout -outform DER 2>/dev/null | base64 -w0");
  std::ofstream(dir + "/m.eml", std::ios::binary) << plainMail("Sender <info@sender.example>");
  sh("dkimsign sel1 sender.example " + dir + "/k.pem < " + dir + "/m.eml > " + dir + "/s.eml");
  std::string signed_mail = readAll(dir + "/s.eml");
  if (signed_mail.find("DKIM-Signature") == std::string::npos) {
    std::fprintf(stderr, "dkimsign failed (Debian package python3-dkim)\n");
    return 1;
  }
  unsigned port = 20000 + static_cast<unsigned>(getpid() % 20000);
  std::string key = "v=DKIM1; k=rsa; p=" + pub, txt;
  for (std::size_t i = 0; i < key.size(); i += 255) txt += " \"" + key.substr(i, 255) + "\"";
  std::ofstream(dir + "/u.conf")
      << "server:\n  interface: 127.0.0.1\n  port: " << port
      << "\n  do-ip6: no\n  do-daemonize: yes\n  username: \"\"\n  chroot: \"\"\n  directory: \"" << dir
      << "\"\n  pidfile: \"" << dir << "/u.pid\"\n  logfile: \"" << dir << "/u.log\"\n  use-syslog: no\n"
      << "  num-threads: 1\n  module-config: \"iterator\"\n  local-zone: \".\" static\n"
      << "  local-data: 'sel1._domainkey.sender.example. 300 IN TXT" << txt << "'\n"
      << "  local-data: 'sender.example. 300 IN TXT \"v=spf1 ip4:192.0.2.10 -all\"'\n"
      << "  local-data: '_dmarc.sender.example. 300 IN TXT \"v=DMARC1; p=reject\"'\n"
      << "remote-control:\n  control-enable: no\n";
  if (std::system(("/usr/sbin/unbound -c " + dir + "/u.conf").c_str()) != 0) {
    std::fprintf(stderr, "unbound did not start (Debian package unbound)\n");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::vector<std::string> errors;
  auto engine = mugai::makeEngine(std::string(MUGAI_SOURCE_DIR) + "/rules/default.yaml", errors);
  if (!engine) return 1;
  mugai::auth::Settings s;
  s.authserv_id = "mugai.bench";
  s.dns.nameserver = "127.0.0.1:" + std::to_string(port);
  mugai::auth::InProcessAuthenticator auth(s);
  mugai::auth::Peer peer{"info@sender.example", "mail.sender.example", "192.0.2.10"};

  auto t0 = Clock::now();
  mugai::SenderAuth first = auth.check(signed_mail, peer);
  double cold_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::printf("first check (cold cache, %llu lookups): %.2f ms wall  -> %s\n",
              static_cast<unsigned long long>(auth.resolver().misses()), cold_ms, first.results.c_str());

  auto measure = [&](const char* name, bool authenticate, bool run_engine) {
    std::size_t n = 0;
    double cpu0 = threadCpuSeconds();
    auto start = Clock::now();
    mugai::Envelope env{"info@sender.example", {"staff@city.example.lg.jp"}, "", "192.0.2.10", ""};
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      if (authenticate) env.auth = auth.check(signed_mail, peer);
      if (run_engine) engine->processMessage(signed_mail, env, "B");
      ++n;
    }
    double cpu = threadCpuSeconds() - cpu0;
    double wall = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%-28s %7zu msgs  %8.1f msg/s per core  %7.3f ms CPU/msg  (wall %.1f msg/s)\n", name, n, n / cpu,
                cpu * 1000 / n, n / wall);
    return cpu * 1000 / n;
  };
  double plain = measure("plain 2 KB (engine)", false, true);
  double only = measure("authentication only (warm)", true, false);
  double both = measure("authentication + engine", true, true);
  std::printf("authentication: %.3f ms CPU per message with the cache warm (target < 1 ms: %s); "
              "engine %.3f -> %.3f ms per plain message; cache hits %llu, misses %llu\n",
              only, only < 1.0 ? "met" : "NOT met", plain, both,
              static_cast<unsigned long long>(auth.resolver().hits()),
              static_cast<unsigned long long>(auth.resolver().misses()));
  // The same check as serve makes it: through mugai-auth (one channel, the message in a memfd).
  std::string err;
  auto remote = mugai::authclient::makeRemoteAuthenticator(s, &err, MUGAI_AUTH_BINARY);
  if (!remote) {
    std::fprintf(stderr, "mugai-auth did not start: %s\n", err.c_str());
  } else {
    int child = mugai::authclient::authenticatorPid(*remote);
    remote->check(signed_mail, peer);  // its cache warm
    std::size_t n = 0;
    double cpu0 = threadCpuSeconds(), child0 = processCpuSeconds(child);
    auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      if (remote->check(signed_mail, peer).dkim != "pass") break;
      ++n;
    }
    double wall = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = threadCpuSeconds() - cpu0, child_cpu = processCpuSeconds(child) - child0;
    std::printf("remote round trip (mugai-auth, warm): %zu checks, %.3f ms wall per check, %.3f ms CPU in the "
                "caller + %.3f ms CPU in mugai-auth\n",
                n, n ? wall * 1000 / n : 0.0, n ? cpu * 1000 / n : 0.0, n ? child_cpu * 1000 / n : 0.0);
  }
  std::string pid = readAll(dir + "/u.pid");
  if (!pid.empty()) kill(std::atoi(pid.c_str()), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::filesystem::remove_all(dir);
  return 0;
}
