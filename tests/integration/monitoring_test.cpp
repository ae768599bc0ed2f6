// Monitoring feeds of `mugai serve` between real peers: swaks sends, smtp-sink receives, a real
// rsyslogd (own config in a temp folder) receives the events, curl fetches /metrics and
// promtool (Debian's prometheus package) lints it.
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <sys/stat.h>

#include <memory>
#include <regex>
#include <thread>

#include "integration/peers.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace mugai::test;

namespace {

constexpr const char* kRsyslogd = "/usr/sbin/rsyslogd";
constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kCurl = "/usr/bin/curl";

std::string sha256Hex(const std::string& data) {
  Poco::SHA2Engine e(Poco::SHA2Engine::SHA_256);
  e.update(data.data(), static_cast<unsigned>(data.size()));
  return Poco::DigestEngine::digestToHex(e.digest());
}

/// A mail whose attachment is EICAR under a name that tries to break an SD-PARAM and a CEF
/// extension: `in"voi]ce\ x=1.com`.
std::string eicarMail(const std::string& eicar) {
  return "From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\nSubject: report\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nSee the attachment.\r\n"
         "--b1\r\nContent-Type: application/octet-stream\r\n"
         "Content-Disposition: attachment; filename*=UTF-8''in%22voi%5Dce%5C%20x%3D1.com\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         base64(eicar) + "\r\n--b1--\r\n";
}

/// rsyslogd with its own config: events from a Unix socket (imuxsock, parsed as RFC 5424) or
/// UDP (imudp), written by omfile with what rsyslog parsed out of them.
struct Rsyslog {
  TempDir& tmp;
  fs::path socket, out, pid;
  std::unique_ptr<Child> child;

  Rsyslog(TempDir& t, std::uint16_t udp_port) : tmp(t) {
    socket = tmp.path() / "log.sock";
    out = tmp.path() / "events.log";
    pid = tmp.path() / "rsyslogd.pid";
    fs::create_directories(tmp.path() / "rsyslog");
    writeFile(tmp.path() / "rsyslog.conf",
              "global(workDirectory=\"" + (tmp.path() / "rsyslog").string() + "\")\n"
              "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
              "input(type=\"imuxsock\" Socket=\"" + socket.string() +
                  "\" UseSpecialParser=\"off\" ParseHostname=\"on\")\n"
              "module(load=\"imudp\")\n"
              "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" + std::to_string(udp_port) +
                  "\")\n"
              "template(name=\"seen\" type=\"string\" string=\"app=%app-name% msgid=%msgid% "
              "facility=%syslogfacility-text% severity=%syslogseverity-text% "
              "sd=%structured-data% msg=%msg%\\n\")\n"
              "*.* action(type=\"omfile\" file=\"" + out.string() + "\" template=\"seen\")\n");
    child = std::make_unique<Child>(
        std::vector<std::string>{kRsyslogd, "-n", "-f", (tmp.path() / "rsyslog.conf").string(),
                                 "-i", pid.string()},
        tmp.path() / "rsyslogd.log");
    // The pid file is written once the inputs' sockets are open.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!fs::exists(pid) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!fs::exists(pid)) FAIL("rsyslogd did not start:\n" << readFile(tmp.path() / "rsyslogd.log"));
  }
  /// True once the output holds `text`.
  bool waitFor(const std::string& text, std::chrono::seconds max) {
    auto until = std::chrono::steady_clock::now() + max;
    while (std::chrono::steady_clock::now() < until) {
      if (fs::exists(out) && readFile(out).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  /// The output line holding `text`.
  std::string line(const std::string& text) {
    std::string all = readFile(out);
    std::size_t at = all.find(text);
    if (at == std::string::npos) return "";
    std::size_t b = all.rfind('\n', at);
    b = b == std::string::npos ? 0 : b + 1;
    return all.substr(b, all.find('\n', at) - b);
  }
};

struct Serve {
  TempDir& tmp;
  std::uint16_t port = freePort(), sink_port = freePort(), metrics_port = freePort();
  fs::path dump, log;
  std::unique_ptr<Child> sink, mugai;

  Serve(TempDir& t, const std::string& config_lines) : tmp(t) {
    dump = tmp.path() / "dump";
    log = tmp.path() / "mugai.log";
    fs::create_directories(dump);
    chmod(tmp.path().c_str(), 0755);
    chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
    sink = startSmtpSink(dump, sink_port, tmp.path() / "sink.log");
    REQUIRE(sink);
    writeFile(tmp.path() / "mugai.conf",
              "listen = 127.0.0.1:" + std::to_string(port) + "\nnext_hop = 127.0.0.1:" +
                  std::to_string(sink_port) + "\nquarantine_dir = " +
                  (tmp.path() / "quarantine").string() + "\nmyhostname = gw1.test\n" +
                  config_lines);
    mugai = std::make_unique<Child>(
        std::vector<std::string>{MUGAI_BINARY, "serve", "--config",
                                 (tmp.path() / "mugai.conf").string(), "--metrics",
                                 "127.0.0.1:" + std::to_string(metrics_port)},
        log);
    if (!waitForServe(port, log, std::chrono::seconds(60))) FAIL("mugai did not start:\n" << readFile(log));
  }
  /// Sends the message; returns the queue id of the 250 reply ("" if none).
  std::string send(const std::string& message) {
    writeFile(tmp.path() / "msg.eml", message);
    std::string out;
    run({kSwaks, "--server", "127.0.0.1:" + std::to_string(port), "--from", "sender@example.com",
         "--to", "staff@city.example.lg.jp", "--helo", "client.example", "--data",
         "@" + (tmp.path() / "msg.eml").string(), "--timeout", "60"},
        &out, 90);
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("250 2\\.0\\.0 Ok: queued as (\\S+)"))) {
      FAIL("not accepted:\n" << out << "\n" << readFile(log));
    }
    return m[1];
  }
  std::string metrics() {
    std::string body;
    int rc = run({kCurl, "-sf", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"},
                 &body, 30);
    REQUIRE(rc == 0);
    return body;
  }
};

bool peersMissing() { return anyMissing({kSink, kSwaks, kRsyslogd, kPromtool, kCurl}); }

}  // namespace

TEST_CASE("monitoring: an event reaches a real rsyslogd on its Unix socket, /metrics passes promtool",
          "[integration]") {
  if (peersMissing()) return;
  TempDir tmp;
  Rsyslog rsyslog(tmp, freePort());
  Serve serve(tmp, "syslog = unix:" + rsyslog.socket.string() + "\n");
  const std::string eicar = readFile(generatedDir() / "eicar.com");
  const std::string id = serve.send(eicarMail(eicar));
  REQUIRE(rsyslog.waitFor("id=\"" + id + "\"", std::chrono::seconds(30)));
  std::string line = rsyslog.line("id=\"" + id + "\"");
  INFO(line);
  // rsyslog parsed it as RFC 5424: its own fields, and the structured data whole.
  CHECK(line.find("app=mugai msgid=mail facility=mail severity=notice ") == 0);
  CHECK(line.find("sd=[mugai@32473 id=\"" + id + "\" kind=\"mail\" verdict=\"sanitized\" "
                  "reason=\"av.infected\" reasons=\"av.infected\"") != std::string::npos);
  CHECK(line.find("from=\"sender@example.com\"") != std::string::npos);
  CHECK(line.find("helo=\"client.example\"") != std::string::npos);
  CHECK(line.find("[rcpt@32473 to=\"staff@city.example.lg.jp\"]") != std::string::npos);
  // The removed object: its hostile name escaped, its reason and the SHA-256 of its bytes.
  CHECK(line.find("[obj@32473 part=\"2\" name=\"in<U+0022>voi\\]ce\\\\ x=1.com\" "
                  "action=\"removed\" reason=\"av.infected\" sha256=\"" + sha256Hex(eicar) +
                  "\"]") != std::string::npos);
  CHECK(line.find(" msg=mail " + id + " sanitized av.infected") != std::string::npos);

  std::string body = serve.metrics();
  writeFile(tmp.path() / "metrics.txt", body);
  std::string lint;
  int rc = run({"/bin/sh", "-c",
                std::string(kPromtool) + " check metrics < " + (tmp.path() / "metrics.txt").string()},
               &lint, 60);
  INFO(body);
  CHECK(lint == "");
  CHECK(rc == 0);
  CHECK(body.find("mugai_messages_total{kind=\"mail\",verdict=\"sanitized\"} 1\n") != std::string::npos);
  CHECK(body.find("mugai_message_reasons_total{kind=\"mail\",reason=\"av.infected\"} 1\n") !=
        std::string::npos);
  CHECK(body.find("mugai_objects_total{kind=\"mail\",action=\"removed\"} 1\n") != std::string::npos);
  CHECK(body.find("mugai_smtp_replies_total{class=\"2xx\"} 1\n") != std::string::npos);
  CHECK(body.find("mugai_next_hop_sent_total 1\n") != std::string::npos);
  CHECK(body.find("mugai_processing_duration_seconds_count{kind=\"mail\"} 1\n") != std::string::npos);
  CHECK(body.find("mugai_received_bytes_total{kind=\"mail\"} 0\n") == std::string::npos);
  CHECK(body.find("mugai_events_sent_total 1\n") != std::string::npos);
  CHECK(std::regex_search(body, std::regex("\nmugai_workers [1-9]")));
  CHECK(std::regex_search(body, std::regex("\nmugai_signatures [1-9]")));
  CHECK(std::regex_search(body, std::regex("\nmugai_smtp_sessions_open [0-9]")));
  CHECK(std::regex_search(body, std::regex("\nmugai_engine_loaded_timestamp_seconds 1[0-9]{9}\n")));
}

TEST_CASE("monitoring: CEF events over UDP reach a real rsyslogd", "[integration]") {
  if (peersMissing()) return;
  TempDir tmp;
  std::uint16_t udp = freePort();
  Rsyslog rsyslog(tmp, udp);
  Serve serve(tmp, "syslog = udp:127.0.0.1:" + std::to_string(udp) +
                       "\nsyslog_format = cef\nsyslog_facility = local3\n");
  const std::string eicar = readFile(generatedDir() / "eicar.com");
  const std::string id = serve.send(eicarMail(eicar));
  REQUIRE(rsyslog.waitFor("externalId=" + id, std::chrono::seconds(30)));
  std::string line = rsyslog.line("externalId=" + id);
  INFO(line);
  CHECK(line.find("app=mugai msgid=mail facility=local3 ") == 0);
  CHECK(line.find(" sd=- msg=CEF:0|mugai|mugai|") != std::string::npos);
  CHECK(line.find("|mail.sanitized|mail sanitized|9|") != std::string::npos);
  CHECK(line.find(" act=sanitized reason=av.infected suser=sender@example.com "
                  "duser=staff@city.example.lg.jp cnt=1 ") != std::string::npos);
  CHECK(line.find(" src=127.0.0.1 ") != std::string::npos);
  CHECK(line.find(" fileHash=" + sha256Hex(eicar)) != std::string::npos);
  CHECK(line.find("cs4=" + sha256Hex(eicar) + " av.infected in<U+0022>voi]ce\\\\ x\\=1.com") !=
        std::string::npos);
}

TEST_CASE("monitoring: /metrics on a non-loopback address needs metrics_remote = yes",
          "[integration]") {
  std::string out;
  int rc = run({MUGAI_BINARY, "serve", "--metrics", "192.0.2.1:9100", "--print-config"}, &out, 30);
  CHECK(rc != 0);
  CHECK(out.find("not a loopback address") != std::string::npos);
  TempDir tmp;
  writeFile(tmp.path() / "m.conf", "metrics = 192.0.2.1:9100\nmetrics_remote = yes\n");
  rc = run({MUGAI_BINARY, "serve", "--config", (tmp.path() / "m.conf").string(), "--print-config"},
           &out, 30);
  CHECK(rc == 0);
  CHECK(out.find("metrics = 192.0.2.1:9100\nmetrics_remote = yes\n") != std::string::npos);
}

TEST_CASE("monitoring: a file-drop item is an event (kind file) and a metric", "[integration]") {
  if (anyMissing({kRsyslogd, kCurl})) return;
  TempDir tmp;
  Rsyslog rsyslog(tmp, freePort());
  fs::path inbox = tmp.path() / "inbox", outbox = tmp.path() / "outbox";
  fs::create_directories(inbox / "user1");
  std::uint16_t metrics_port = freePort();
  writeFile(tmp.path() / "mugai.conf",
            "smtp = no\nfiledrop_inbox = " + inbox.string() + "\nfiledrop_outbox = " +
                outbox.string() + "\nquarantine_dir = " + (tmp.path() / "q").string() +
                "\nmyhostname = gw1.test\nsyslog = unix:" + rsyslog.socket.string() +
                "\nmetrics = 127.0.0.1:" + std::to_string(metrics_port) + "\n");
  fs::path log = tmp.path() / "mugai.log";
  Child serve({MUGAI_BINARY, "serve", "--config", (tmp.path() / "mugai.conf").string()}, log);
  REQUIRE(waitForPort(metrics_port, std::chrono::seconds(60)));
  const std::string eicar = readFile(generatedDir() / "eicar.com");
  writeFile(inbox / "user1" / "tool.com", eicar);
  REQUIRE(rsyslog.waitFor("kind=\"file\"", std::chrono::seconds(60)));
  std::string line = rsyslog.line("kind=\"file\"");
  INFO(line << "\n" << readFile(log));
  CHECK(line.find("app=mugai msgid=file facility=mail severity=warning ") == 0);
  CHECK(line.find("verdict=\"blocked\" reason=\"av.infected\"") != std::string::npos);
  CHECK(line.find("filename=\"/user1/tool.com\"") != std::string::npos);
  CHECK(line.find("bytes_in=\"" + std::to_string(eicar.size()) + "\"") != std::string::npos);
  CHECK(line.find("sha256=\"" + sha256Hex(eicar) + "\"") != std::string::npos);
  std::string body;
  REQUIRE(run({kCurl, "-sf", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"},
              &body, 30) == 0);
  CHECK(body.find("mugai_messages_total{kind=\"file\",verdict=\"blocked\"} 1\n") != std::string::npos);
  CHECK(body.find("mugai_message_reasons_total{kind=\"file\",reason=\"av.infected\"} 1\n") !=
        std::string::npos);
  CHECK(body.find("mugai_smtp_sessions_open") == std::string::npos);  // no relay running
}
