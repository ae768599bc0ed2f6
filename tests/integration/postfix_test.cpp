// A real front Postfix (a private instance: its own config and queue in a temp dir) with
// content_filter = smtp:[127.0.0.1]:<mugai>, mugai relaying to smtp-sink. Needs root (Postfix).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "integration/peers.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai::test;
using std::chrono::seconds;

namespace {

const char* kPostfix = "/usr/sbin/postfix";
const char* kPostqueue = "/usr/sbin/postqueue";
const char* kSource = "/usr/sbin/smtp-source";

bool cannotRun() {
  if (!isRoot()) {
    WARN("skipped: a private Postfix instance needs root");
    return true;
  }
  if (anyMissing({kPostfix, kPostqueue, kSink, kSource, kSwaks})) return true;
  if (!getpwnam("postfix")) {
    WARN("skipped: no postfix user");
    return true;
  }
  return false;
}

/// Front Postfix -> mugai -> smtp-sink, all on 127.0.0.1 and free ports.
struct Chain {
  TempDir tmp;
  fs::path conf = tmp.path() / "conf", dump = tmp.path() / "dump", quarantine = tmp.path() / "q";
  fs::path log = tmp.path() / "mugai.log";
  std::uint16_t front_port = freePort(), mugai_port = freePort(), sink_port = freePort();
  std::unique_ptr<Child> sink, mugai;
  bool postfix_started = false;
  std::string content_filter;  ///< main.cf line; default smtp:[127.0.0.1]:<mugai_port>
  std::string extra_main, extra_master;
  std::vector<std::string> mugai_extra;  ///< more `mugai serve` arguments (--rules FILE)

  Chain() {
    chmod(tmp.path().c_str(), 0755);
    for (const auto& d : {conf, dump, tmp.path() / "queue", tmp.path() / "data"}) fs::create_directories(d);
    chmod(dump.c_str(), 0777);
    const passwd* pw = getpwnam("postfix");
    (void)!chown((tmp.path() / "data").c_str(), pw->pw_uid, pw->pw_gid);
    writeConfig();
  }
  ~Chain() {
    if (postfix_started) {
      run({kPostfix, "-c", conf.string(), "stop"}, nullptr, 30);
      run({kPostfix, "-c", conf.string(), "abort"}, nullptr, 10);
    }
  }
  void writeConfig() {
    std::string t = tmp.path().string();
    std::ofstream(conf / "main.cf")
        << "compatibility_level = 3.6\nqueue_directory = " << t << "/queue\ndata_directory = " << t
        << "/data\ncommand_directory = /usr/sbin\ndaemon_directory = /usr/lib/postfix/sbin\n"
           "shlib_directory = /usr/lib/postfix\nmeta_directory = /etc/postfix\nmail_owner = postfix\n"
           "setgid_group = postdrop\nmyhostname = front.mugai.test\nmydomain = mugai.test\n"
           "mydestination =\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
           "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = permit_mynetworks, reject\n"
        << (content_filter.empty() ? "content_filter = smtp:[127.0.0.1]:" + std::to_string(mugai_port)
                                   : content_filter)
        << "\n" << extra_main << "smtp_send_xforward_command = yes\nalias_maps =\nalias_database =\n"
           "local_recipient_maps =\nsmtputf8_enable = no\nmaillog_file = "
        << t << "/maillog\nmaillog_file_prefixes = " << t
        << "\nqueue_run_delay = 2s\nminimal_backoff_time = 2s\nmaximal_backoff_time = 4s\n"
           "default_destination_concurrency_limit = 10\ndisable_dns_lookups = yes\n"
           "smtp_host_lookup = native\n";
    std::ofstream master(conf / "master.cf");
    master << "127.0.0.1:" << front_port << " inet n - n - - smtpd\n";
    for (const char* line :
         {"pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
          "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
          "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
          "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap", "smtp unix - - n - - smtp",
          "relay unix - - n - - smtp", "showq unix n - n - - showq", "error unix - - n - - error",
          "retry unix - - n - - error", "discard unix - - n - - discard", "anvil unix - - n - 1 anvil",
          "scache unix - - n - 1 scache", "postlog unix-dgram n - n - 1 postlogd"}) {
      master << line << "\n";
    }
    master << extra_master;
  }
  void startPostfix() {
    std::string out;
    int rc = run({kPostfix, "-c", conf.string(), "start"}, &out, 60);
    postfix_started = true;
    INFO(out);
    REQUIRE(rc == 0);
    REQUIRE(waitForPort(front_port, seconds(20)));
  }
  void startSink() {
    sink = std::make_unique<Child>(
        std::vector<std::string>{kSink, "-u", "nobody", "-d", (dump / "%H%M%S.").string(),
                                 "127.0.0.1:" + std::to_string(sink_port), "100"},
        tmp.path() / "sink.log");
    REQUIRE(waitForPort(sink_port, seconds(10)));
  }
  void startMugai(std::uint16_t next_hop = 0) {
    std::vector<std::string> argv{MUGAI_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(mugai_port),
                                  "--next-hop", "127.0.0.1:" + std::to_string(next_hop ? next_hop : sink_port),
                                  "--state-dir", quarantine.string()};
    argv.insert(argv.end(), mugai_extra.begin(), mugai_extra.end());
    mugai = std::make_unique<Child>(argv, log);
    if (!waitForServe(mugai_port, log, seconds(60))) FAIL("mugai did not start:\n" << readFile(log));
  }
  std::string queue() {
    std::string out;
    run({kPostqueue, "-c", conf.string(), "-p"}, &out, 30);
    return out;
  }
  bool queueEmpty() { return queue().find("Mail queue is empty") != std::string::npos; }
  void flush() { run({kPostqueue, "-c", conf.string(), "-f"}, nullptr, 30); }
  /// Flushes until the queue is empty and `n` messages reached the sink, or `max` passed.
  bool waitDelivered(std::size_t n, seconds max) {
    auto until = std::chrono::steady_clock::now() + max;
    while (std::chrono::steady_clock::now() < until) {
      if (filesIn(dump).size() >= n && queueEmpty()) return true;
      flush();
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return false;
  }
  std::string maillog() { return readFile(tmp.path() / "maillog"); }
  std::string swaks(const std::string& body) {
    fs::path f = tmp.path() / "msg.eml";
    writeFile(f, body);
    std::string out;
    run({kSwaks, "--server", "127.0.0.1:" + std::to_string(front_port), "--from", "sender@example.com", "--to",
         "staff@city.example.lg.jp", "--data", "@" + f.string()},
        &out, 60);
    return out;
  }
};

std::string headerLine(const std::string& msg, const std::string& name) {
  std::size_t p = msg.find("\n" + name);
  if (p == std::string::npos) return "";
  std::string line = msg.substr(p + 1, msg.find('\n', p + 1) - p - 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string messageId(const std::string& msg) { return headerLine(msg, "Message-I"); }

/// The shipped rules with one more signature: smtp-source's filler body ("XXXX...", -l) counts as
/// infected, so every message has its body removed and its original recorded in the vault.
fs::path rulesRecordingFiller(const fs::path& dir) {
  fs::create_directories(dir / "sigs");
  std::string hex;
  for (int i = 0; i < 40; ++i) hex += "58";  // "X" x 40
  writeFile(dir / "sigs" / "filler.ndb", "Mugai.Test.Filler:0:*:" + hex + "\n");
  std::string y = readFile(sourceDir() / "rules" / "default.yaml");
  auto once = [&y](const std::string& from, const std::string& to) {
    std::size_t at = y.find(from);
    REQUIRE(at != std::string::npos);
    y.replace(at, from.size(), to);
  };
  once("signatures: [signatures]", "signatures: [" + (dir / "sigs").string() + "]");
  once("system_database: true", "system_database: false");
  writeFile(dir / "rules.yaml", y);
  return dir / "rules.yaml";
}

}  // namespace

TEST_CASE("front Postfix: filtered mail arrives sanitized, next hop down keeps it queued", "[integration]") {
  if (cannotRun()) return;
  Chain c;
  c.startSink();
  c.startMugai();
  c.startPostfix();
  std::string eicar = readFile(generatedDir() / "eicar.com");
  std::string out = c.swaks(
      "Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
      "Content-Type: text/html\r\n\r\n<p>Hello <i>front</i></p>\r\n--b\r\nContent-Type: application/octet-stream; "
      "name=\"eicar.com\"\r\n\r\n" + eicar + "\r\n--b--\r\n");
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  REQUIRE(c.waitDelivered(1, seconds(30)));
  std::string got = readFile(filesIn(c.dump).at(0));
  CHECK(got.find("X-Mugai-Verdict: sanitized") != std::string::npos);
  CHECK(got.find("text/html") == std::string::npos);
  CHECK(got.find("EICAR-STANDARD") == std::string::npos);
  CHECK(got.find("Hello front") != std::string::npos);
  CHECK(readFile(c.log).find("orig_client=localhost[127.0.0.1]") != std::string::npos);  // XFORWARD

  c.sink.reset();  // the next hop goes down
  out = c.swaks("Subject: clean\r\n\r\nwhile the next hop is down\r\n");
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  auto until = std::chrono::steady_clock::now() + seconds(20);
  while (c.maillog().find("451 4.4.1") == std::string::npos && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(c.maillog().find("status=deferred") != std::string::npos);
  CHECK(!c.queueEmpty());  // the front Postfix still holds it
  c.startSink();
  CHECK(c.waitDelivered(2, seconds(40)));
  CHECK(filesIn(c.dump).size() == 2);
}

TEST_CASE("front Postfix: SIGKILL of mugai during 1000 messages with the vault on loses nothing",
          "[integration]") {
  // Every message is recorded (its filler body matches a test signature and is removed), so the
  // kill lands while records are being written: each message must end delivered with its record,
  // or unanswered (4xx/lost connection) and retried by Postfix; no record without its original.
  if (cannotRun()) return;
  Chain c;
  c.mugai_extra = {"--rules", rulesRecordingFiller(c.tmp.path() / "rules").string()};
  c.startSink();
  c.startMugai();
  c.startPostfix();
  Child source({kSource, "-s", "8", "-m", "1000", "-l", "100", "-f", "sender@example.com", "-t",
                "staff@city.example.lg.jp", "127.0.0.1:" + std::to_string(c.front_port)},
               c.tmp.path() / "source.log");
  auto until = std::chrono::steady_clock::now() + seconds(60);
  while (filesIn(c.dump).size() < 150 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::size_t at_kill = filesIn(c.dump).size();
  c.mugai->signal(SIGKILL);
  REQUIRE(c.mugai->wait(seconds(10)));
  std::this_thread::sleep_for(seconds(1));
  c.startMugai();
  int status = 0;
  REQUIRE(source.wait(seconds(180), &status));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(c.waitDelivered(1000, seconds(180)));
  std::multiset<std::string> ids;
  std::set<std::string> delivered_records;  // X-Mugai-Id of each delivered message
  for (const auto& f : filesIn(c.dump)) {
    std::string msg = readFile(f);
    ids.insert(messageId(msg));
    CHECK(msg.find("X-Mugai-Verdict: sanitized") != std::string::npos);
    std::string x = headerLine(msg, "X-Mugai-Id: ");
    REQUIRE(x.size() > 12);
    delivered_records.insert(x.substr(12));  // "X-Mugai-Id: ID"
  }
  std::set<std::string> unique(ids.begin(), ids.end());
  std::size_t duplicates = ids.size() - unique.size();
  // The vault: every record whole (its original reads back and matches its SHA-256), every
  // delivered message recorded, every one of the 1000 messages among the originals.
  auto vault = openTestVault(stateVault(c.quarantine.string()));
  auto records = vaultRecords(stateVault(c.quarantine.string()));
  std::set<std::string> recorded_ids, recorded_messages;
  for (const auto& r : records) {
    std::string original, err;
    INFO(r.id << ": " << err);
    REQUIRE(vault->original(r.id, original, &err));
    recorded_ids.insert(r.id);
    recorded_messages.insert(messageId(original));
  }
  std::size_t delivered_without_record = 0;
  for (const auto& id : delivered_records) delivered_without_record += recorded_ids.count(id) ? 0 : 1;
  WARN("killed mugai after " << at_kill << " deliveries; delivered " << ids.size() << ", unique "
                             << unique.size() << ", duplicates " << duplicates << "; records "
                             << records.size() << " for " << recorded_messages.size()
                             << " messages");
  CHECK(unique.size() == 1000);
  CHECK(unique.count("") == 0);
  CHECK(delivered_without_record == 0);
  CHECK(recorded_messages.size() == 1000);
  // A record whose attempt was never answered (killed) stays; Postfix retries with a new id: at
  // most one extra record per transaction in flight (default_destination_concurrency_limit = 10).
  CHECK(records.size() - 1000 <= 10);
  CHECK(vault->verifyAudit().ok);
  // A message the next hop accepted while mugai died before answering is sent again by Postfix:
  // at most one per transaction in flight.
  CHECK(duplicates <= 10);
  CHECK(c.queueEmpty());
}

namespace {

/// The first ``` block after `marker` in docs/deployment.md, as written there.
std::string docBlock(const std::string& marker) {
  std::string doc = readFile(sourceDir() / "docs" / "deployment.md");
  std::size_t at = doc.find(marker);
  REQUIRE(at != std::string::npos);
  std::size_t open = doc.find("```\n", at);
  std::size_t close = doc.find("```\n", open + 4);
  REQUIRE((open != std::string::npos && close != std::string::npos));
  return doc.substr(open + 4, close - open - 4);
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) {
    s.replace(p, from.size(), to);
  }
  return s;
}

}  // namespace

TEST_CASE("the deployment.md §1 snippets: a mail just under the front's limit that grows through sanitizing is delivered",
          "[integration]") {
  // Front Postfix (message_size_limit 10240000, Postfix's default) -> the `mugai` transport ->
  // mugai -> the reinjection listener with its own cleanup -> relayhost smtp-sink. main.cf's
  // content_filter line and the whole master.cf block are taken from docs/deployment.md, only the
  // ports changed. A Shift_JIS body of 10.1 MB comes out as base64 UTF-8 of about 20 MB: with the
  // reinjection smtpd's limit alone, cleanup refused it ("queue file size limit exceeded"), mugai
  // passed the 552 back and the front bounced a clean mail.
  if (cannotRun()) return;
  Chain c;
  std::uint16_t reinject_port = freePort();
  std::string main_cf = docBlock("`/etc/postfix/main.cf`:");
  std::string master_cf = docBlock("`/etc/postfix/master.cf`:");
  REQUIRE(main_cf.find("content_filter = mugai:[127.0.0.1]:10025") != std::string::npos);
  REQUIRE(master_cf.find("127.0.0.1:10026 inet") != std::string::npos);
  c.content_filter = replaceAll(main_cf, "127.0.0.1]:10025", "127.0.0.1]:" + std::to_string(c.mugai_port));
  c.extra_main = "message_size_limit = 10240000\nrelayhost = [127.0.0.1]:" + std::to_string(c.sink_port) + "\n";
  c.extra_master = replaceAll(master_cf, "127.0.0.1:10026", "127.0.0.1:" + std::to_string(reinject_port));
  c.writeConfig();
  c.startSink();
  c.startMugai(reinject_port);
  c.startPostfix();
  REQUIRE(waitForPort(reinject_port, seconds(20)));
  // "日本語の本文です。" in Shift_JIS, repeated in lines of 70 bytes, to just under 10240000.
  const std::string sjis = "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x96\x7b\x95\xb6\x82\xc5\x82\xb7\x81\x42";
  std::string line;
  while (line.size() + sjis.size() <= 72) line += sjis;
  line += "\r\n";
  std::string msg =
      "Subject: large\r\nMessage-ID: <large@example.com>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  while (msg.size() + line.size() < 10240000 - 100000) msg += line;
  std::string out = c.swaks(msg);
  INFO(out);
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);  // the front took it
  auto until = std::chrono::steady_clock::now() + seconds(120);
  bool delivered = false;
  while (!delivered && std::chrono::steady_clock::now() < until) {
    for (const auto& f : filesIn(c.dump)) {
      delivered = delivered || fs::file_size(f) > 10240000;
    }
    if (!delivered) {
      c.flush();
      std::this_thread::sleep_for(seconds(1));
    }
  }
  std::string maillog = c.maillog();
  INFO(maillog.substr(maillog.size() > 4000 ? maillog.size() - 4000 : 0));
  INFO(readFile(c.log));
  CHECK(delivered);  // larger than the front's limit after sanitizing, and still delivered
  CHECK(maillog.find("queue file size limit exceeded") == std::string::npos);
  CHECK(maillog.find("status=bounced") == std::string::npos);
  CHECK(readFile(c.log).find("relay_status=bounced") == std::string::npos);
  bool sanitized = false;
  for (const auto& f : filesIn(c.dump)) {
    std::string got = readFile(f);
    sanitized = sanitized || (got.find("X-Mugai-Verdict:") != std::string::npos &&
                              got.find("Message-ID: <large@example.com>") != std::string::npos);
  }
  CHECK(sanitized);
}
