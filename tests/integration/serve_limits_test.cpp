// mugai serve under its limits, against the real daemon (smtp-sink as the next hop): the connection
// cap, worker-queue back-pressure, SIGHUP reloads, command and data timeouts, long DATA lines and
// the file-descriptor budget at startup. Every test is bounded to a few seconds on 127.0.0.1.
#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "integration/peers.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai::test;
using namespace std::chrono_literals;

namespace {

bool peersMissing() { return anyMissing({kSink, kSwaks}); }

/// One client connection kept open by the test.
class Conn {
 public:
  /// `from`: the local address, any of 127.0.0.0/8 (a client of its own for the server).
  explicit Conn(std::uint16_t port, const char* from = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (from) {
      sockaddr_in l{};
      l.sin_family = AF_INET;
      inet_pton(AF_INET, from, &l.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&l), sizeof l) != 0) close();
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close();
  }
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(const std::string& s) {
    std::size_t off = 0;
    while (fd_ >= 0 && off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return off == s.size();
  }
  /// Reads until one of `any` appears at or after `from` (returns its index), EOF or `max` (-1).
  int waitFor(const std::vector<std::string>& any, std::chrono::milliseconds max,
              std::size_t from = 0) {
    auto until = std::chrono::steady_clock::now() + max;
    for (;;) {
      for (std::size_t i = 0; i < any.size(); ++i) {
        if (got.find(any[i], from) != std::string::npos) return static_cast<int>(i);
      }
      if (fd_ < 0 || eof_ || std::chrono::steady_clock::now() >= until) return -1;
      readSome(50);
    }
  }
  bool waitFor(const std::string& s, std::chrono::milliseconds max, std::size_t from = 0) {
    return waitFor(std::vector<std::string>{s}, max, from) == 0;
  }
  /// Reads what has arrived, without waiting; true once the server has closed the connection.
  bool pumpClosed() {
    if (fd_ >= 0 && !eof_) readSome(0);
    return eof_;
  }
  /// True once the server has closed the connection (within `max`).
  bool closedByPeer(std::chrono::milliseconds max) {
    auto until = std::chrono::steady_clock::now() + max;
    while (!eof_ && fd_ >= 0 && std::chrono::steady_clock::now() < until) readSome(50);
    return eof_;
  }
  std::string got;

 private:
  void readSome(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return;
    char buf[8192];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  int fd_ = -1;
  bool eof_ = false;
};

/// Resident memory of a process in kB (0 when unknown).
long rssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

std::string replaceOnce(std::string s, const std::string& from, const std::string& to) {
  std::size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

/// The shipped rules with extra limits, absolute signature paths, no system database (fast start).
std::string rulesWith(const std::string& limits, const std::string& notice_intro = "") {
  std::string y = readFile(sourceDir() / "rules" / "default.yaml");
  y = replaceOnce(y, "limits:\n", "limits:\n" + limits);
  y = replaceOnce(y, "signatures: [signatures]",
                  "signatures: [" + (sourceDir() / "rules" / "signatures").string() + "]");
  y = replaceOnce(y, "system_database: true", "system_database: false");
  if (!notice_intro.empty()) y = replaceOnce(y, "[Mail sanitization notice]", notice_intro);
  return y;
}

struct Relay {
  TempDir tmp;
  fs::path dump = tmp.path() / "dump", state = tmp.path() / "state";
  fs::path log = tmp.path() / "mugai.log", rules = tmp.path() / "rules.yaml";
  std::uint16_t mugai_port = freePort(), sink_port = freePort();
  std::unique_ptr<Child> sink, mugai;

  Relay() {
    fs::create_directories(dump);
    chmod(tmp.path().c_str(), 0755);
    chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
  }
  void startSink(const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv{kSink};
    if (isRoot()) argv.insert(argv.end(), {"-u", "nobody"});
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-d", (dump / "%H%M%S.").string(),
                             "127.0.0.1:" + std::to_string(sink_port), "100"});
    sink = std::make_unique<Child>(argv, tmp.path() / "sink.log");
    REQUIRE(waitForPort(sink_port, 10s));
  }
  std::vector<std::string> argv(const std::vector<std::string>& prefix = {}) const {
    std::vector<std::string> a = prefix;
    a.insert(a.end(), {MUGAI_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(mugai_port),
                       "--next-hop", "127.0.0.1:" + std::to_string(sink_port), "--state-dir",
                       state.string(), "--rules", rules.string()});
    return a;
  }
  void startMugai(const std::string& rules_text, const std::vector<std::string>& prefix = {}) {
    writeFile(rules, rules_text);
    mugai = std::make_unique<Child>(argv(prefix), log);
    if (!waitForServe(mugai_port, log, 60s)) FAIL("mugai did not start:\n" << readFile(log));
  }
  std::string swaks(const fs::path& message, int* rc = nullptr) {
    std::string out;
    int code = run({kSwaks, "--server", "127.0.0.1:" + std::to_string(mugai_port), "--from",
                    "sender@example.com", "--to", "staff@city.example.lg.jp", "--data",
                    "@" + message.string(), "--timeout", "30"},
                   &out, 40);
    if (rc) *rc = code;
    return out;
  }
};

const std::string kEnvelope =
    "EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n";

/// A large HTML body: the engine needs a noticeable time for it.
std::string bigHtml(std::size_t bytes) {
  std::string m =
      "Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: text/html; "
      "charset=UTF-8\r\n\r\n<html><body>\r\n";
  for (int i = 0; m.size() < bytes; ++i) {
    m += "<div><p>Paragraph " + std::to_string(i) +
         " with <b>bold</b> and <a href=\"http://x.example/" + std::to_string(i) +
         "\">a link</a></p></div>\r\n";
  }
  return m + "</body></html>\r\n";
}

const std::vector<std::string> kOutcomes{"250 2.0.0 Ok: queued", "451 4.3.2", "451 ", "552 ",
                                         "554 "};

}  // namespace

TEST_CASE("serve limits: connection N+1 gets 421, and once one closes a new one is served",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(rulesWith("  smtp_connection_limit: 2\n"));
  // waitForPort's probe connection must be gone before counting.
  std::this_thread::sleep_for(500ms);
  Conn a(r.mugai_port), b(r.mugai_port);
  REQUIRE(a.waitFor("220 ", 5s));
  REQUIRE(b.waitFor("220 ", 5s));
  Conn c(r.mugai_port);
  CHECK(c.waitFor("421 4.3.2", 5s));
  CHECK(c.got.find("220 ") == std::string::npos);
  CHECK(c.closedByPeer(3s));
  CHECK(readFile(r.log).find("refused why=connection_limit client=unknown[127.0.0.1] helo= tls=no "
                             "reply=\"421 4.3.2 Too many connections, try again later\"") !=
        std::string::npos);
  // The two admitted sessions still work.
  REQUIRE(a.send("NOOP\r\n"));
  CHECK(a.waitFor("250 ", 5s));
  b.close();
  bool served = false;
  for (int i = 0; i < 40 && !served; ++i) {  // the closed session's thread needs a moment
    Conn d(r.mugai_port);
    if (d.waitFor(std::vector<std::string>{"220 ", "421 "}, 5s) == 0) {
      served = d.send("QUIT\r\n") && d.waitFor("221 ", 5s);
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(served);
}

TEST_CASE("serve limits: a full worker queue answers 451 4.3.2 at once, retried nothing is lost",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(rulesWith("  worker_threads: 1\n  worker_queue_limit: 1\n"));
  const std::string body = bigHtml(1500000) + ".\r\n";
  const int kClients = 5;
  long rss_after_first = 0;
  int delivered = 0, busy_total = 0;
  for (int round = 0; round < 3; ++round) {
    // All clients inside DATA with the whole body sent, then the final dots together.
    std::vector<std::unique_ptr<Conn>> cs;
    for (int i = 0; i < kClients; ++i) {
      cs.push_back(std::make_unique<Conn>(r.mugai_port));
      REQUIRE(cs.back()->send(kEnvelope));
      REQUIRE(cs.back()->waitFor("354 ", 5s));
      REQUIRE(cs.back()->send(body.substr(0, body.size() - 3)));
    }
    auto start = std::chrono::steady_clock::now();
    for (auto& c : cs) REQUIRE(c->send(".\r\n"));
    std::vector<std::size_t> busy;
    for (int i = 0; i < kClients; ++i) {
      std::size_t from = cs[i]->got.find("354 ");
      int outcome = cs[i]->waitFor(kOutcomes, 30s, from);
      INFO("client " << i << " got: " << cs[i]->got);
      REQUIRE((outcome == 0 || outcome == 1));
      if (outcome == 0) ++delivered;
      if (outcome == 1) busy.push_back(static_cast<std::size_t>(i));
    }
    // One in the worker, one queued: the rest were refused, and refused at once.
    CHECK(busy.size() >= 1);
    busy_total += static_cast<int>(busy.size());
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < 30s);
    // The 451'd clients retry in the same session (the refusal ended the transaction only).
    for (std::size_t i : busy) {
      Conn& c = *cs[i];
      std::size_t from = c.got.size();
      REQUIRE(c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n"));
      REQUIRE(c.waitFor("354 ", 5s, from));
      REQUIRE(c.send(body));
      INFO("retry got: " << c.got.substr(from));
      REQUIRE(c.waitFor(kOutcomes, 30s, from) == 0);
      ++delivered;
    }
    if (round == 0) rss_after_first = rssKb(r.mugai->pid());
  }
  CHECK(busy_total >= 3);
  CHECK(delivered == 3 * kClients);
  CHECK(filesIn(r.dump).size() == static_cast<std::size_t>(3 * kClients));
  CHECK(readFile(r.log).find(" busy ") != std::string::npos);
  long rss_end = rssKb(r.mugai->pid());
  INFO("RSS after round 1: " << rss_after_first << " kB, after round 3: " << rss_end << " kB");
  CHECK(rss_end < rss_after_first + 32 * 1024);
}

TEST_CASE(
    "serve limits: SIGHUP keeps sessions, new rules apply to the next message, broken rules keep "
    "the old",
    "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(rulesWith(""));
  writeFile(r.tmp.path() / "m.eml", htmlWithEicar());
  CHECK(r.swaks(r.tmp.path() / "m.eml").find("250 2.0.0 Ok: queued") != std::string::npos);
  REQUIRE(filesIn(r.dump).size() == 1);
  CHECK(firstPartText(readFile(filesIn(r.dump)[0])).find("[Mail sanitization notice]") !=
        std::string::npos);
  fs::remove(filesIn(r.dump)[0]);

  // A session open across the reload keeps working.
  Conn held(r.mugai_port);
  REQUIRE(held.waitFor("220 ", 5s));
  writeFile(r.rules, rulesWith("", "[Notice after reload]"));
  r.mugai->signal(SIGHUP);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    std::this_thread::sleep_for(50ms);
    reloaded = readFile(r.log).find("reloaded rules") != std::string::npos;
  }
  REQUIRE(reloaded);
  REQUIRE(held.send("NOOP\r\n"));
  CHECK(held.waitFor("250 ", 5s));
  CHECK(r.swaks(r.tmp.path() / "m.eml").find("250 2.0.0 Ok: queued") != std::string::npos);
  REQUIRE(filesIn(r.dump).size() == 1);
  std::string notice = firstPartText(readFile(filesIn(r.dump)[0]));
  CHECK(notice.find("[Notice after reload]") != std::string::npos);
  CHECK(notice.find("[Mail sanitization notice]") == std::string::npos);
  fs::remove(filesIn(r.dump)[0]);

  // A broken file: the running engine stays, the log says why.
  writeFile(r.rules, "version: 1\nlimits:\n  no_such_limit: 1\n");
  r.mugai->signal(SIGHUP);
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    std::this_thread::sleep_for(50ms);
    refused = readFile(r.log).find("reload failed") != std::string::npos;
  }
  REQUIRE(refused);
  std::string log = readFile(r.log);
  CHECK(log.find("no_such_limit", log.find("reload failed")) != std::string::npos);
  REQUIRE(held.send("NOOP\r\n"));
  CHECK(held.waitFor("250 ", 5s, held.got.find("250 ") + 1));
  CHECK(r.swaks(r.tmp.path() / "m.eml").find("250 2.0.0 Ok: queued") != std::string::npos);
  REQUIRE(filesIn(r.dump).size() == 1);
  CHECK(firstPartText(readFile(filesIn(r.dump)[0])).find("[Notice after reload]") !=
        std::string::npos);
}

TEST_CASE("serve limits: signature files changed on disk are loaded without SIGHUP (freshclam)",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  // The shipped test signatures in a folder of the test's own, checked every second.
  fs::path sigs = r.tmp.path() / "signatures";
  fs::create_directories(sigs);
  for (const auto& e : fs::directory_iterator(sourceDir() / "rules" / "signatures")) {
    if (e.is_regular_file()) fs::copy_file(e.path(), sigs / e.path().filename());
  }
  std::string rules = replaceOnce(rulesWith("  signature_check_s: 1\n"),
                                  (sourceDir() / "rules" / "signatures").string(), sigs.string());
  r.startSink();
  r.startMugai(rules);
  // A word no signature knows yet: delivered as it is.
  const std::string marker = "MUGAI-FRESHCLAM-" + std::to_string(::getpid()) + "-MARKER";
  writeFile(r.tmp.path() / "m.eml", "Subject: update\r\n\r\nthe text carries " + marker + "\r\n");
  CHECK(r.swaks(r.tmp.path() / "m.eml").find("250 2.0.0 Ok: queued") != std::string::npos);
  REQUIRE(filesIn(r.dump).size() == 1);
  CHECK(readFile(filesIn(r.dump)[0]).find(marker) != std::string::npos);
  fs::remove(filesIn(r.dump)[0]);
  // freshclam's way: a new database file renamed into the folder.
  std::string hex;
  for (unsigned char c : marker) {
    static const char* d = "0123456789abcdef";
    hex += d[c >> 4];
    hex += d[c & 15];
  }
  writeFile(sigs / "update.ndb.tmp", "Mugai.Test.Update:0:*:" + hex + "\n");
  fs::rename(sigs / "update.ndb.tmp", sigs / "update.ndb");
  bool reloaded = false;
  for (int i = 0; i < 300 && !reloaded; ++i) {
    std::this_thread::sleep_for(50ms);
    reloaded = readFile(r.log).find("reloaded rules and signatures") != std::string::npos;
  }
  std::string log = readFile(r.log);
  INFO(log);
  REQUIRE(reloaded);
  CHECK(log.find("signature files changed on disk") != std::string::npos);
  CHECK(r.swaks(r.tmp.path() / "m.eml").find("250 2.0.0 Ok: queued") != std::string::npos);
  REQUIRE(filesIn(r.dump).size() == 1);
  std::string delivered = readFile(filesIn(r.dump)[0]);
  CHECK(delivered.find(marker) == std::string::npos);  // the body was removed: now it is a virus
  CHECK(readFile(r.log).find("detections=1") != std::string::npos);
  // The vault record names the new signature.
  CHECK(vaultText(stateVault(r.state.string())).find("Mugai.Test.Update") != std::string::npos);
  // Nothing changes afterwards: no second reload.
  std::this_thread::sleep_for(2500ms);
  log = readFile(r.log);
  CHECK(log.find("reloaded rules and signatures") == log.rfind("reloaded rules and signatures"));

  // A broken database (a half-written update): one failed reload, the running engine stays, and
  // no retry every check until the files change again.
  writeFile(sigs / "broken.ndb.tmp", "this is not a signature line\n");
  fs::rename(sigs / "broken.ndb.tmp", sigs / "broken.ndb");
  bool failed = false;
  for (int i = 0; i < 300 && !failed; ++i) {
    std::this_thread::sleep_for(50ms);
    failed = readFile(r.log).find("reload failed") != std::string::npos;
  }
  REQUIRE(failed);
  std::this_thread::sleep_for(4500ms);  // two more checks (signature_check_s 1, settle 1 s)
  log = readFile(r.log);
  CHECK(log.find("reload failed") == log.rfind("reload failed"));
  // Fixed by the next update: the next check reloads. (Had it only been removed, the files would
  // match the running engine again and nothing would need loading.)
  writeFile(sigs / "broken.ndb.tmp", "Mugai.Test.Second:0:*:" + hex + "41\n");
  fs::rename(sigs / "broken.ndb.tmp", sigs / "broken.ndb");
  bool again = false;
  for (int i = 0; i < 300 && !again; ++i) {
    std::this_thread::sleep_for(50ms);
    log = readFile(r.log);
    again = log.rfind("reloaded rules and signatures") > log.find("reload failed");
  }
  CHECK(again);
}

TEST_CASE("serve limits: an idle client gets 421 and is disconnected (command and data timeouts)",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(rulesWith("  smtp_command_timeout_s: 1\n  smtp_data_timeout_s: 2\n"));
  auto start = std::chrono::steady_clock::now();
  Conn idle(r.mugai_port);
  REQUIRE(idle.waitFor("220 ", 5s));
  CHECK(idle.waitFor("421 4.4.2", 4s));
  CHECK(idle.closedByPeer(2s));
  CHECK(std::chrono::steady_clock::now() - start >= 900ms);

  Conn data(r.mugai_port);
  REQUIRE(data.send(kEnvelope + "Subject: half\r\n\r\nhalf a message"));
  REQUIRE(data.waitFor("354 ", 5s));
  start = std::chrono::steady_clock::now();
  CHECK(data.waitFor("421 4.4.2", 5s));
  CHECK(data.closedByPeer(2s));
  CHECK(std::chrono::steady_clock::now() - start >= 1500ms);
  CHECK(filesIn(r.dump).empty());
  std::string log = readFile(r.log);
  CHECK(log.find("refused why=command_timeout client=unknown[127.0.0.1] helo= tls=no reply=\"421 "
                 "4.4.2 ") != std::string::npos);
  CHECK(log.find("refused why=data_timeout from=<a@example.com> rcpts=1 client=unknown[127.0.0.1] "
                 "helo=client.example tls=no to=<b@example.jp> size=17 reply=\"421 4.4.2 ") !=
        std::string::npos);
}

TEST_CASE(
    "serve limits: long DATA lines are accepted, and an endless line stops at message_size_limit",
    "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(
      replaceOnce(rulesWith(""), "message_size_limit: 10240000", "message_size_limit: 1000000"));
  // Like Postfix: a line longer than RFC 5321's 1000 octets is accepted (the engine folds it).
  Conn c(r.mugai_port);
  REQUIRE(c.send(kEnvelope));
  REQUIRE(c.waitFor("354 ", 5s));
  REQUIRE(c.send("Subject: long\r\n\r\n" + std::string(5000, 'x') + "\r\n.\r\n"));
  CHECK(c.waitFor(kOutcomes, 20s, c.got.find("354 ")) == 0);
  CHECK(filesIn(r.dump).size() == 1);

  // A 40 MB line without end: memory stays bounded, the end gets 552, the session goes on.
  std::this_thread::sleep_for(200ms);
  long before = rssKb(r.mugai->pid());
  std::size_t from = c.got.size();
  REQUIRE(c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n"));
  REQUIRE(c.waitFor("354 ", 5s, from));
  REQUIRE(c.send("Subject: endless\r\n\r\n"));
  const std::string chunk(1 << 20, 'y');
  long peak = before;
  for (int i = 0; i < 40; ++i) {
    REQUIRE(c.send(chunk));
    peak = std::max(peak, rssKb(r.mugai->pid()));
  }
  REQUIRE(c.send("\r\n.\r\n"));
  CHECK(c.waitFor(kOutcomes, 20s, from) == 3);
  {
    std::string log = readFile(r.log);
    std::size_t at = log.find("refused why=message_too_big ");
    REQUIRE(at != std::string::npos);
    std::string line = log.substr(at, log.find('\n', at) - at);
    CHECK(line.find(
              " from=<a@example.com> rcpts=1 client=unknown[127.0.0.1] helo=client.example tls=no "
              "to=<b@example.jp> size=") != std::string::npos);
    CHECK(line.find(" reply=\"552 5.3.4 Error: message file too big\"") != std::string::npos);
  }
  peak = std::max(peak, rssKb(r.mugai->pid()));
  INFO("RSS before: " << before << " kB, peak: " << peak << " kB");
  CHECK(peak < before + 8 * 1024);
  from = c.got.size();
  REQUIRE(c.send("NOOP\r\n"));
  CHECK(c.waitFor("250 ", 5s, from));

  // A command line beyond smtp_line_length_limit: 500, the session goes on.
  from = c.got.size();
  REQUIRE(c.send(std::string(100000, 'A') + "\r\nNOOP\r\n"));
  CHECK(c.waitFor("500 5.5.2", 5s, from));
  CHECK(c.waitFor("250 ", 5s, from));
  CHECK(filesIn(r.dump).size() == 1);
}

TEST_CASE(
    "serve limits: startup refuses a file-descriptor limit below the budget, with a clear message",
    "[integration]") {
  if (peersMissing()) return;
  if (!haveExecutable("/usr/bin/prlimit")) {
    WARN("skipped: /usr/bin/prlimit not installed");
    return;
  }
  Relay r;
  r.startSink();
  writeFile(r.rules, rulesWith(""));
  // Defaults: 100 connections need more than 200 descriptors.
  std::string out;
  int rc = run(r.argv({"/usr/bin/prlimit", "--nofile=150"}), &out, 30);
  CHECK(rc == 1);
  CHECK(out.find("file-descriptor limit") != std::string::npos);
  CHECK(out.find("150") != std::string::npos);
  CHECK_FALSE(waitForPort(r.mugai_port, 100ms));
  // A smaller configuration fits in the same limit and starts.
  r.startMugai(
      rulesWith("  smtp_connection_limit: 10\n  worker_threads: 1\n  worker_queue_limit: 4\n"),
      {"/usr/bin/prlimit", "--nofile=150"});
  CHECK(rawSmtp(r.mugai_port, "QUIT\r\n", "221").find("220 ") == 0);
}

TEST_CASE(
    "serve limits: a stalled next hop costs relay_timeout_s, then 451 4.4.1, sessions in parallel",
    "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink({"-w", "4"});  // smtp-sink waits 4 s before answering DATA
  r.startMugai(rulesWith("  relay_timeout_s: 1\n"));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Conn>> cs;
  for (int i = 0; i < 3; ++i) {
    cs.push_back(std::make_unique<Conn>(r.mugai_port));
    REQUIRE(cs.back()->send(kEnvelope + "Subject: stalled " + std::to_string(i) +
                            "\r\n\r\ntext\r\n.\r\n"));
  }
  for (auto& c : cs) {
    int outcome = c->waitFor(kOutcomes, 8s);
    INFO("got: " << c->got);
    CHECK(outcome == 2);
    CHECK(c->got.find("451 4.4.1") != std::string::npos);
  }
  // The relay runs in each session's thread, after the engine: three stalls overlap, not add up.
  CHECK(std::chrono::steady_clock::now() - start < 3500ms);
  CHECK(readFile(r.log).find("relay_status=deferred") != std::string::npos);
  // The sessions stay usable for the retry.
  std::size_t from = cs[0]->got.size();
  REQUIRE(cs[0]->send("NOOP\r\n"));
  CHECK(cs[0]->waitFor("250 ", 5s, from));
}

namespace {

/// Hostile clients that hold slots, on a thread of their own: `idle` connections that say nothing,
/// and `trickling` ones that send a byte at a time (a third a command, a third message data after
/// a good envelope, a third a whole NOOP each time, which only the session deadline stops). Each
/// one the server closes comes back after a second, as a determined client would.
class Siege {
 public:
  Siege(std::uint16_t port, const char* idle_from, int idle, const char* trickle_from, int trickling)
      : port_(port) {
    for (int i = 0; i < idle; ++i) bots_.push_back(Bot{idle_from, Kind::kIdle});
    for (int i = 0; i < trickling; ++i)
      bots_.push_back(Bot{trickle_from, static_cast<Kind>(1 + i % 3)});
    thread_ = std::thread([this] { run(); });
  }
  ~Siege() {
    stop_ = true;
    thread_.join();
  }
  int cut(const std::string& code) const {  // sessions the server ended with `code`
    std::lock_guard<std::mutex> lock(m_);
    auto it = cuts_.find(code);
    return it == cuts_.end() ? 0 : it->second;
  }
  int admitted() const { return admitted_; }

 private:
  enum class Kind { kIdle, kCommand, kData, kNoop };
  struct Bot {
    const char* from;
    Kind kind;
    std::unique_ptr<Conn> c;
    std::chrono::steady_clock::time_point next{};
    std::size_t sent = 0;
    bool greeted = false;
  };
  void run() {
    const std::string command = "NOOP\r\n";
    const std::string data = kEnvelope + "Subject: slow\r\n\r\n" + std::string(100000, 'x');
    while (!stop_) {
      auto now = std::chrono::steady_clock::now();
      int connects = 40;  // per turn: a burst of 600 would overflow the listen backlog
      for (auto& b : bots_) {
        if (b.c && b.c->pumpClosed()) {
          std::lock_guard<std::mutex> lock(m_);
          std::size_t last = b.c->got.rfind("421 ");
          ++cuts_[last == std::string::npos ? "none" : b.c->got.substr(last, 9)];
          b.c.reset();
          b.next = now + 1s;
        }
        if (!b.c && now >= b.next && connects-- > 0) {
          b.c = std::make_unique<Conn>(port_, b.from);
          b.sent = 0;
          b.greeted = false;
        }
        if (!b.c || b.kind == Kind::kIdle || now < b.next) continue;
        if (!b.greeted) {
          if (b.c->got.find("220 ") == std::string::npos) continue;
          b.greeted = true;
          ++admitted_;
        }
        b.next = now + 500ms;
        if (b.kind == Kind::kNoop) {
          b.c->send(command);
        } else if (b.kind == Kind::kCommand) {
          b.c->send(command.substr(b.sent++ % command.size(), 1));
        } else if (b.sent < kEnvelope.size()) {
          b.c->send(kEnvelope);  // a good envelope at once, then the data a byte at a time
          b.sent = kEnvelope.size();
        } else {
          b.c->send(data.substr(b.sent++ % data.size(), 1));
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  std::uint16_t port_;
  std::vector<Bot> bots_;
  std::atomic<bool> stop_{false};
  std::atomic<int> admitted_{0};
  mutable std::mutex m_;
  std::map<std::string, int> cuts_;
  std::thread thread_;
};

}  // namespace

TEST_CASE(
    "serve limits: 500 idle and 100 trickling connections, and a normal client still delivers all "
    "of its 100 messages",
    "[integration]") {
  if (peersMissing() || !haveExecutable("/usr/sbin/smtp-source")) return;
  Relay r;
  r.startSink();
  // Short timeouts so that the test runs in seconds; the defaults are 300/300/600 s.
  r.startMugai(rulesWith(
      "  smtp_command_timeout_s: 2\n  smtp_data_timeout_s: 2\n  smtp_session_deadline_s: 4\n"));
  std::this_thread::sleep_for(500ms);
  // Two hostile hosts: 127.0.0.2 holds idle connections, 127.0.0.3 trickles; the normal client
  // is 127.0.0.1 (the front MTA, in client_limit_exceptions by default).
  Siege siege(r.mugai_port, "127.0.0.2", 500, "127.0.0.3", 100);
  std::this_thread::sleep_for(3s);  // all connected, the first ones already cut and back
  std::string out;
  int rc = run({"/usr/sbin/smtp-source", "-m", "100", "-s", "1", "-f", "sender@example.com", "-t",
                "staff@city.example.lg.jp", "127.0.0.1:" + std::to_string(r.mugai_port)},
               &out, 120);
  INFO("smtp-source: " << out);
  CHECK(rc == 0);
  // Delivered means relayed: the next hop has all 100 (mugai answers 250 only after that).
  std::size_t delivered = 0;
  for (int i = 0; i < 100 && delivered < 100; ++i) {
    delivered = filesIn(r.dump).size();
    if (delivered < 100) std::this_thread::sleep_for(100ms);
  }
  CHECK(delivered == 100);
  // The siege goes on until the sessions kept busy with whole NOOPs met the session deadline.
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = readFile(r.log);
    if (log.find("refused why=session_deadline") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count("relay_status=sent") == 100);
  // The hostile hosts got their share of slots and no more, and each kind of slow client was cut.
  CHECK(count("refused why=client_connection_limit client=unknown[127.0.0.2]") > 0);
  CHECK(count("refused why=client_connection_limit client=unknown[127.0.0.1]") == 0);
  CHECK(log.find("reply=\"421 4.7.0 Error: too many connections from 127.0.0.2\"") !=
        std::string::npos);
  CHECK(count("refused why=command_timeout client=unknown[127.0.0.2]") > 0);
  CHECK(count("refused why=command_too_slow client=unknown[127.0.0.3]") > 0);
  CHECK(count("refused why=data_too_slow from=<a@example.com> rcpts=1 "
              "client=unknown[127.0.0.3]") > 0);
  CHECK(count("refused why=session_deadline client=unknown[127.0.0.3]") > 0);
  CHECK(log.find("connection limit reached: ") != std::string::npos);
  {
    const std::size_t at = log.find("connection limit reached: ");
    INFO((at == std::string::npos ? std::string("(none)") : log.substr(at, log.find('\n', at) - at)));
    CHECK(log.find("127.0.0.2=20 (oldest ") != std::string::npos);
  }
  CHECK(siege.cut("421 4.4.2") > 0);
  CHECK(siege.cut("421 4.7.0") > 0);
  WARN("siege: " << siege.admitted() << " trickling sessions greeted, " << siege.cut("421 4.4.2")
                 << " cut with 421 4.4.2 (timeouts, too slow, session deadline), "
                 << siege.cut("421 4.7.0") << " refused with 421 4.7.0 (per-client limit); "
                 << delivered << " of 100 messages of the normal client delivered");
  CHECK(filesIn(r.dump).size() == 100);  // nothing of the slow data was delivered
}

TEST_CASE("serve limits: one client address gets smtp_client_connection_limit sessions, the front "
          "MTA is not counted, and the log says who holds the slots",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(rulesWith("  smtp_client_connection_limit: 2\n"));
  std::this_thread::sleep_for(500ms);
  Conn a(r.mugai_port, "127.0.0.2"), b(r.mugai_port, "127.0.0.2");
  REQUIRE(a.waitFor("220 ", 5s));
  REQUIRE(b.waitFor("220 ", 5s));
  // Another host, and the exempt front MTA with more than two sessions, are served.
  Conn d(r.mugai_port, "127.0.0.3");
  CHECK(d.waitFor("220 ", 5s));
  std::vector<std::unique_ptr<Conn>> front;
  for (int i = 0; i < 4; ++i) {
    front.push_back(std::make_unique<Conn>(r.mugai_port, "127.0.0.1"));
    CHECK(front.back()->waitFor("220 ", 5s));
  }
  // The third of the one host is refused before its greeting.
  REQUIRE(a.send("EHLO a.example\r\nMAIL FROM:<a@example.com>\r\n"));  // a: in a transaction
  REQUIRE(a.waitFor("250 2.1.0", 5s));
  std::this_thread::sleep_for(400ms);
  Conn c(r.mugai_port, "127.0.0.2");
  CHECK(c.waitFor("421 4.7.0 Error: too many connections from 127.0.0.2", 5s));
  CHECK(c.got.find("220 ") == std::string::npos);
  CHECK(c.closedByPeer(3s));
  // Once one of the two closes, the host gets a session again.
  a.close();
  bool served = false;
  for (int i = 0; i < 40 && !served; ++i) {
    Conn e(r.mugai_port, "127.0.0.2");
    if (e.waitFor(std::vector<std::string>{"220 ", "421 "}, 5s) == 0) {
      served = e.send("QUIT\r\n") && e.waitFor("221 ", 5s);
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(served);
  std::string log = readFile(r.log);
  CHECK(log.find("refused why=client_connection_limit client=unknown[127.0.0.2] helo= tls=no "
                 "reply=\"421 4.7.0 Error: too many connections from 127.0.0.2\"") !=
        std::string::npos);
  std::size_t at = log.find("connection limit reached: ");
  REQUIRE(at != std::string::npos);
  std::string line = log.substr(at, log.find('\n', at) - at);
  INFO(line);
  CHECK(line.find("connection limit reached: 7 of 100 slots in use by 3 clients: 127.0.0.1=4 "
                  "(oldest ") != std::string::npos);
  std::size_t host = line.find(" 127.0.0.2=2 (oldest ");
  REQUIRE(host != std::string::npos);
  CHECK(line.find("s, 1 in a transaction, 0 in DATA)", host) ==
        line.find("s, ", host));  // the host's own entry says it
  CHECK(line.find(" 127.0.0.3=1 (oldest ") != std::string::npos);
}

TEST_CASE("serve limits: under stress (3/4 of the slots taken) an idle session is cut at "
          "smtp_stress_timeout_s, long before the command timeout",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  // The command timeout is long: a cut within seconds can only be the stress timeout.
  r.startMugai(rulesWith("  smtp_connection_limit: 4\n  smtp_command_timeout_s: 60\n"
                         "  smtp_stress_timeout_s: 1\n"));
  std::this_thread::sleep_for(500ms);
  // One idle session alone: not stressed, it keeps its slot past the stress timeout.
  Conn alone(r.mugai_port);
  REQUIRE(alone.waitFor("220 ", 5s));
  CHECK_FALSE(alone.closedByPeer(2500ms));
  REQUIRE(alone.send("NOOP\r\n"));
  CHECK(alone.waitFor("250 ", 5s));
  // Two more idle sessions: three of four slots, stressed. The oldest idle sessions are cut
  // (once one is gone the stress is over, and the others wait for the command timeout again).
  std::vector<std::unique_ptr<Conn>> cs;
  for (int i = 0; i < 2; ++i) {
    cs.push_back(std::make_unique<Conn>(r.mugai_port));
    REQUIRE(cs.back()->waitFor("220 ", 5s));
  }
  bool cut = false;
  for (int i = 0; i < 100 && !cut; ++i) {  // 10 s at most; the stress timeout is 1 s
    cut = alone.pumpClosed() || cs[0]->pumpClosed() || cs[1]->pumpClosed();
    if (!cut) std::this_thread::sleep_for(100ms);
  }
  CHECK(cut);
  std::string cut_text = alone.got + cs[0]->got + cs[1]->got;
  CHECK(cut_text.find("421 4.4.2") != std::string::npos);
  bool logged = false;
  for (int i = 0; i < 40 && !logged; ++i) {
    logged = readFile(r.log).find("refused why=command_timeout client=unknown[127.0.0.1]") !=
             std::string::npos;
    if (!logged) std::this_thread::sleep_for(50ms);
  }
  CHECK(logged);
}

TEST_CASE("serve limits: a message past sanitizer_deadline_ms is a limit.time verdict (quarantined, "
          "notice delivered, 250), never 451, however often it is sent",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai(rulesWith("  sanitizer_deadline_ms: 100\n"));
  // 6 MB of HTML: parsing, converting and scanning it takes far more than 100 ms.
  writeFile(r.tmp.path() / "slow.eml", bigHtml(6000000));
  for (int attempt = 1; attempt <= 2; ++attempt) {
    int rc = 0;
    std::string out = r.swaks(r.tmp.path() / "slow.eml", &rc);
    INFO("attempt " << attempt << ": " << out);
    CHECK(out.find("250 2.0.0 Ok: queued") != std::string::npos);
    CHECK(out.find("<** ") == std::string::npos);  // no error reply, 4xx or 5xx
    REQUIRE(filesIn(r.dump).size() == static_cast<std::size_t>(attempt));
  }
  for (const auto& f : filesIn(r.dump)) {
    std::string delivered = readFile(f);
    CHECK(delivered.find("X-Mugai-Verdict: blocked") != std::string::npos);
    CHECK(delivered.find("Paragraph 1000 ") == std::string::npos);  // not the content
  }
  auto records = vaultRecords(stateVault(r.state.string()));
  CHECK(records.size() == 2);  // each original kept
  for (const auto& rec : records) CHECK(rec.reason == "limit.time");
  std::string log = readFile(r.log);
  CHECK(log.find("limit.time") != std::string::npos);
  CHECK(log.find("tempfail") == std::string::npos);

  // The command line says the same: blocked (exit 3), not "retry" (exit 4).
  std::string out;
  int rc = run({MUGAI_BINARY, "mail", (r.tmp.path() / "slow.eml").string(), "-o",
                (r.tmp.path() / "out.eml").string(), "--rules", r.rules.string()},
               &out, 60);
  INFO(out);
  CHECK(rc == 3);
  CHECK(out.find("limit.time") != std::string::npos);
}

TEST_CASE("serve limits: after a SIGKILL the next start says so, the vault holds whole records "
          "only, and the unanswered client retries",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink({"-w", "30"});  // the next hop holds its reply to DATA: the message stays in relay
  r.startMugai(rulesWith(""));
  writeFile(r.tmp.path() / "m.eml", htmlWithEicar());  // recorded (a part is removed), relayed
  Child client({kSwaks, "--server", "127.0.0.1:" + std::to_string(r.mugai_port), "--from",
                "sender@example.com", "--to", "staff@city.example.lg.jp", "--data",
                "@" + (r.tmp.path() / "m.eml").string(), "--timeout", "60"},
               r.tmp.path() / "swaks.log");
  const std::string vault = stateVault(r.state.string());
  // The record is written before the relay: once it is there, the message is on its way.
  std::vector<mugai::vault::RecordInfo> records;
  for (int i = 0; i < 200 && records.empty(); ++i) {
    records = vaultRecords(vault);
    if (records.empty()) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(records.size() == 1);
  const pid_t killed = r.mugai->pid();
  r.mugai->signal(SIGKILL);
  REQUIRE(r.mugai->wait(10s));
  // Whole: the original reads back with its SHA-256, and the audit chain holds.
  std::string original = vaultOriginal(vault, records[0].id);
  CHECK(original.find("Subject: report") != std::string::npos);
  CHECK(original.size() == records[0].size);
  CHECK(openTestVault(vault)->verifyAudit().ok);

  fs::path log2 = r.tmp.path() / "mugai2.log";
  r.mugai = std::make_unique<Child>(r.argv(), log2);
  REQUIRE(waitForPort(r.mugai_port, 60s));
  std::string log = readFile(log2);
  INFO(log);
  CHECK(log.find("the previous run (pid " + std::to_string(killed) + ", started ") !=
        std::string::npos);
  CHECK(log.find("did not stop cleanly") != std::string::npos);
  CHECK(log.find("messages it never answered are retried by their clients") != std::string::npos);
  // The client never got an answer: it sends again, and the message is recorded again under a
  // new id (never one record too few).
  r.sink.reset();  // the one holding its reply
  r.startSink();
  std::string out = r.swaks(r.tmp.path() / "m.eml");
  CHECK(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  CHECK(vaultRecords(vault).size() == 2);
  // A clean stop is not reported at the next start.
  r.mugai->signal(SIGTERM);
  REQUIRE(r.mugai->wait(30s));
  fs::path log3 = r.tmp.path() / "mugai3.log";
  r.mugai = std::make_unique<Child>(r.argv(), log3);
  REQUIRE(waitForPort(r.mugai_port, 60s));
  CHECK(readFile(log3).find("did not stop cleanly") == std::string::npos);
}

TEST_CASE("serve limits: a TLS handshake trickled a byte at a time is cut at the command timeout",
          "[integration]") {
  if (peersMissing()) return;
  if (!haveExecutable("/usr/bin/openssl")) {
    WARN("skipped: /usr/bin/openssl not installed");
    return;
  }
  Relay r;
  fs::path key = r.tmp.path() / "key.pem", cert = r.tmp.path() / "cert.pem",
           conf = r.tmp.path() / "mugai.conf";
  REQUIRE(selfSignedCert(key.parent_path(), "mugai.test"));
  writeFile(conf, "tls_cert_file = " + cert.string() + "\ntls_key_file = " + key.string() + "\n");
  r.startSink();
  writeFile(r.rules, rulesWith("  smtp_command_timeout_s: 2\n"));
  std::vector<std::string> argv = r.argv();
  argv.insert(argv.end(), {"--config", conf.string()});
  r.mugai = std::make_unique<Child>(argv, r.log);
  REQUIRE(waitForPort(r.mugai_port, 60s));
  Conn c(r.mugai_port);
  REQUIRE(c.send("EHLO slow.example\r\nSTARTTLS\r\n"));
  REQUIRE(c.waitFor("220 2.0.0 Ready to start TLS", 5s));
  // A TLS record header announcing 512 bytes of handshake, then its body a byte every 250 ms:
  // every read gets a byte long before the per-read timeout.
  REQUIRE(c.send(std::string("\x16\x03\x01\x02\x00", 5)));
  bool closed = false;
  for (int i = 0; i < 48 && !closed; ++i) {  // 12 s at most; cut after about 2 s
    c.send(std::string(1, '\x01'));
    closed = c.closedByPeer(250ms);
  }
  CHECK(closed);
  bool logged = false;  // the session thread logs once the handshake call has returned
  for (int i = 0; i < 60 && !logged; ++i) {
    logged = readFile(r.log).find("refused why=starttls_timeout client=unknown[127.0.0.1]") !=
             std::string::npos;
    if (!logged) std::this_thread::sleep_for(50ms);
  }
  INFO(readFile(r.log));
  CHECK(logged);
}
