// mugai serve between real peers: swaks as the client, smtp-sink (Postfix) as the next hop.
#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "integration/peers.h"
#include "support/test_support.h"
#include "support/postgres.h"
#include "support/vault_view.h"
#include "unit/sanitizers/office_fixtures.h"

namespace fs = std::filesystem;
using namespace mugai::test;

namespace {

bool peersMissing() { return anyMissing({kSink, kSwaks}); }

/// smtp-sink as the next hop (dumping every message to a file) and mugai in front of it.
struct Relay {
  TempDir tmp;
  fs::path dump = tmp.path() / "dump", state = tmp.path() / "state";
  fs::path log = tmp.path() / "mugai.log";
  std::uint16_t mugai_port = freePort(), sink_port = freePort();
  std::unique_ptr<Child> sink, mugai;

  Relay() {
    fs::create_directories(dump);
    chmod(tmp.path().c_str(), 0755);
    chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
  }
  void startSink(const std::vector<std::string>& options = {}) {
    sink = startSmtpSink(dump, sink_port, tmp.path() / "sink.log", options);
    REQUIRE(sink);
  }
  void stopSink() { sink.reset(); }
  void startMugai(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{MUGAI_BINARY,   "serve",
                                  "--listen",     "127.0.0.1:" + std::to_string(mugai_port),
                                  "--next-hop",   "127.0.0.1:" + std::to_string(sink_port),
                                  "--state-dir",  state.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    mugai = std::make_unique<Child>(argv, log);
    if (!waitForServe(mugai_port, log, std::chrono::seconds(60)))
      FAIL("mugai did not start:\n" << readFile(log));
  }
  /// A transaction whose data carries `probe` followed by a would-be second message.
  std::string rawSmtp(const std::string& head, const std::string& probe) {
    std::string data = head + "Subject: first\r\n\r\nbody" + probe +
                       "MAIL FROM:<x@evil.example>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n"
                       "Subject: smuggled\r\n\r\nx\r\n.\r\nQUIT\r\n";
    return mugai::test::rawSmtp(mugai_port, data, "521");
  }
  std::string swaks(const fs::path& message, int* rc = nullptr) {
    std::string out;
    int code = run({kSwaks, "--server", "127.0.0.1:" + std::to_string(mugai_port), "--from",
                    "sender@example.com", "--to", "staff@city.example.lg.jp", "--data",
                    "@" + message.string(), "--timeout", "60"},
                   &out, 90);
    if (rc) *rc = code;
    return out;
  }
  std::string vault() const { return stateVault(state.string()); }
};

/// The message as sent, whatever line ends swaks used on the way (the vault keeps CRLF as received).
std::string withoutCr(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '\r'), s.end());
  return s;
}

/// The id the client was given ("250 2.0.0 Ok: queued as ID").
std::string queuedId(const std::string& swaks_out) {
  std::size_t at = swaks_out.find("queued as ");
  if (at == std::string::npos) return "";
  std::string id = swaks_out.substr(at + 10, 40);
  return id.substr(0, id.find_first_of("\r\n"));
}

/// A mail with one attachment (base64).
std::string mailWithAttachment(const std::string& name, const std::string& type,
                               const std::string& data) {
  return "From: partner@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: " + name +
         "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
         "Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: " +
         type + "; name=" + name + "\r\nContent-Disposition: attachment; filename=" + name +
         "\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64(data) + "\r\n--b--\r\n";
}

}  // namespace

TEST_CASE("serve: HTML mail with EICAR arrives as text, attachment removed, notice on top",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  writeFile(r.tmp.path() / "eicar.eml", htmlWithEicar());
  std::string out = r.swaks(r.tmp.path() / "eicar.eml");
  CHECK(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  auto files = filesIn(r.dump);
  REQUIRE(files.size() == 1);
  std::string got = readFile(files[0]);
  CHECK(got.find("X-Mugai-Verdict: sanitized") != std::string::npos);
  CHECK(got.find("text/html") == std::string::npos);
  CHECK(got.find("<script") == std::string::npos);
  CHECK(got.find(base64(readFile(generatedDir() / "eicar.com")).substr(0, 40)) ==
        std::string::npos);
  CHECK(got.find("Hello LGWAN colleagues") != std::string::npos);
  std::string notice = firstPartText(got);
  CHECK(notice.find("eicar.com") != std::string::npos);
  CHECK(notice.find("removed") != std::string::npos);
  // The original is in the vault under the id the client was given, written before the 250:
  // the log line says recorded= before relay=.
  const std::string id = queuedId(out);
  auto records = vaultRecords(r.vault());
  REQUIRE(records.size() == 1);
  CHECK(records[0].id == id);
  CHECK(records[0].reason == "av.infected");
  CHECK(records[0].tier == mugai::vault::Tier::Admin);
  CHECK(records[0].envelope.sender == "sender@example.com");
  CHECK(records[0].envelope.recipients == std::vector<std::string>{"staff@city.example.lg.jp"});
  CHECK(records[0].envelope.client_addr == "127.0.0.1");
  CHECK(withoutCr(vaultOriginal(r.vault(), id)).find(withoutCr(readFile(r.tmp.path() / "eicar.eml"))) == 0);
  std::string text = vaultText(r.vault());
  CHECK(text.find("object ") != std::string::npos);
  CHECK(text.find("removed av.infected 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f") !=
        std::string::npos);  // the EICAR attachment's own SHA-256
  std::string log = readFile(r.log);
  CHECK(log.find("verdict=sanitized") != std::string::npos);
  CHECK(log.find("relay_status=sent") != std::string::npos);
  CHECK(log.find("recorded=" + id + " relay=") != std::string::npos);
}

TEST_CASE("serve: a .docm arrives rebuilt, its original in the vault with the removed objects, "
          "tier approval",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  const std::string docm = mugai::test::office::docm();
  writeFile(r.tmp.path() / "docm.eml",
            mailWithAttachment("report.docm", "application/vnd.ms-word.document.macroEnabled.12",
                               docm));
  std::string out = r.swaks(r.tmp.path() / "docm.eml");
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  const std::string id = queuedId(out);
  auto files = filesIn(r.dump);
  REQUIRE(files.size() == 1);
  CHECK(readFile(files[0]).find("X-Mugai-Verdict: sanitized") != std::string::npos);
  auto rec = openTestVault(r.vault())->get(id, nullptr);
  REQUIRE(rec);
  CHECK(rec->tier == mugai::vault::Tier::Approval);  // the shipped rules' default tier
  CHECK(rec->verdict == "sanitized");
  CHECK(withoutCr(vaultOriginal(r.vault(), id)).find(withoutCr(readFile(r.tmp.path() / "docm.eml"))) == 0);
  bool rebuilt = false, vba = false;
  for (const auto& o : rec->objects) {
    rebuilt = rebuilt || (o.action == "rebuilt" && o.what == "report.docm" &&
                          o.sha256 == mugai::vault::sha256Hex(docm));
    vba = vba || (o.action == "removed" && o.what == "word/vbaProject.bin");
  }
  CHECK(rebuilt);  // the rewritten attachment with its own SHA-256
  CHECK(vba);      // what the rebuild cut out of it
}

TEST_CASE("serve: a large original staged while the engine runs: kept when removed from, gone "
          "when the mail was clean",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  const std::string folder = r.state.string() + "/vault.db.originals";
  auto files = [&] {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(folder, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
    return n;
  };
  // A clean 300 KB text mail: staged (it is large), not kept: no record, no file left.
  std::string text;
  for (int i = 0; text.size() < 300000; ++i) text += "line " + std::to_string(i) + " of a long report\r\n";
  writeFile(r.tmp.path() / "clean.eml", "Subject: long clean report\r\n\r\n" + text);
  std::string out = r.swaks(r.tmp.path() / "clean.eml");
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  CHECK(vaultRecords(r.vault()).empty());
  CHECK(files() == 0);
  // A 300 KB program attachment: removed, the original kept from its staged file, byte for byte.
  std::string exe = "MZ" + std::string(510, '\0') + "PE\0\0";
  for (std::uint32_t x = 7; exe.size() < 300000;) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    exe += static_cast<char>(x);
  }
  writeFile(r.tmp.path() / "exe.eml", mailWithAttachment("setup.exe", "application/octet-stream", exe));
  out = r.swaks(r.tmp.path() / "exe.eml");
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  const std::string id = queuedId(out);
  REQUIRE(vaultRecords(r.vault()).size() == 1);
  CHECK(files() == 1);
  CHECK(withoutCr(vaultOriginal(r.vault(), id)).find(withoutCr(readFile(r.tmp.path() / "exe.eml"))) == 0);
}

TEST_CASE("serve: a clean mail arrives, next hop down gives 4xx, back up it is delivered",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  writeFile(r.tmp.path() / "clean.eml",
            "From: a@example.com\r\nTo: b@example.jp\r\nSubject: clean\r\n\r\nJust text.\r\n..dot "
            "line\r\n");
  std::string out = r.swaks(r.tmp.path() / "clean.eml");
  CHECK(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  auto files = filesIn(r.dump);
  REQUIRE(files.size() == 1);
  std::string got = readFile(files[0]);
  CHECK(got.find("Just text.\n") != std::string::npos);
  CHECK(got.find("=2E.dot line\n") != std::string::npos);  // the engine's QP keeps the dot safe
  CHECK(got.find("Subject: clean") != std::string::npos);
  // mugai's own trace field comes first, with the id its log and the vault use.
  std::size_t received = got.find("Received: from ");
  CHECK(received != std::string::npos);
  CHECK(got.find(" (mugai) with ESMTP id ", received) != std::string::npos);
  CHECK(got.find("[127.0.0.1])", received) != std::string::npos);

  r.stopSink();
  int rc = 0;
  out = r.swaks(r.tmp.path() / "clean.eml", &rc);
  CHECK(rc != 0);
  CHECK(out.find("451 4.4.1") != std::string::npos);
  CHECK(readFile(r.log).find("relay_status=deferred") != std::string::npos);

  r.startSink();
  out = r.swaks(r.tmp.path() / "clean.eml");
  CHECK(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  CHECK(filesIn(r.dump).size() == 2);
}

TEST_CASE("serve: smuggling probes over a real socket never yield a second message",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  for (std::string probe : {"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n"}) {
    std::string data =
        "EHLO probe\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n";
    std::string got = r.rawSmtp(data, probe);
    CHECK(got.find("521 5.5.2") != std::string::npos);
  }
  CHECK(filesIn(r.dump).empty());
}

TEST_CASE("serve: SIGTERM drains and exits 0", "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  std::string got = rawSmtp(r.mugai_port, "NOOP\r\n", "250 2.0.0 Ok");
  CHECK(got.find("220 ") == 0);
  r.mugai->signal(SIGTERM);
  int status = 0;
  REQUIRE(r.mugai->wait(std::chrono::seconds(20), &status));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(readFile(r.log).find("stopped") != std::string::npos);
}

TEST_CASE("serve: STARTTLS with the certificate from the config", "[integration]") {
  if (peersMissing()) return;
  if (!haveExecutable("/usr/bin/openssl")) {
    WARN("skipped: /usr/bin/openssl not installed");
    return;
  }
  Relay r;
  fs::path key = r.tmp.path() / "key.pem", cert = r.tmp.path() / "cert.pem",
           conf = r.tmp.path() / "mugai.conf";
  REQUIRE(selfSignedCert(key.parent_path(), "mugai.test"));
  writeFile(conf,
            "# test\ntls_cert_file = " + cert.string() + "\ntls_key_file = " + key.string() + "\n");
  r.startSink();
  r.startMugai({"--config", conf.string()});
  writeFile(r.tmp.path() / "clean.eml", "Subject: tls\r\n\r\nover TLS\r\n");
  std::string out;
  run({kSwaks, "--server", "127.0.0.1:" + std::to_string(r.mugai_port), "-tls", "--from",
       "a@example.com", "--to", "b@example.jp", "--data",
       "@" + (r.tmp.path() / "clean.eml").string()},
      &out, 60);
  CHECK(out.find("TLS started") != std::string::npos);
  CHECK(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  CHECK(readFile(r.log).find("tls=yes") != std::string::npos);
  CHECK(filesIn(r.dump).size() == 1);
}

TEST_CASE("serve: relay_tls = encrypt speaks STARTTLS to the next hop, and a next hop that does not "
          "offer it gets nothing in clear text (4xx, the sender retries)",
          "[integration]") {
  if (peersMissing()) return;
  if (!haveExecutable("/usr/bin/openssl")) {
    WARN("skipped: /usr/bin/openssl not installed");
    return;
  }
  // The next hop: a second mugai serve that offers STARTTLS, in front of its own smtp-sink.
  Relay hop;
  fs::path key = hop.tmp.path() / "key.pem", cert = hop.tmp.path() / "cert.pem";
  REQUIRE(selfSignedCert(key.parent_path(), "next-hop.test"));
  hop.startSink();
  hop.startMugai({"--tls-cert-file", cert.string(), "--tls-key-file", key.string()});
  Relay r;
  r.startSink();
  r.startMugai({"--relay-tls", "encrypt", "--next-hop", "127.0.0.1:" + std::to_string(hop.mugai_port)});
  writeFile(r.tmp.path() / "clean.eml", "Subject: tls to the next hop\r\n\r\nover TLS\r\n");
  std::string out = r.swaks(r.tmp.path() / "clean.eml");
  INFO(out << "\nfront:\n" << readFile(r.log) << "\nhop:\n" << readFile(hop.log));
  CHECK(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  CHECK(readFile(hop.log).find("tls=yes") != std::string::npos);  // the hop's session was encrypted
  REQUIRE(filesIn(hop.dump).size() == 1);
  CHECK(readFile(filesIn(hop.dump).front()).find("over TLS") != std::string::npos);
  CHECK(filesIn(r.dump).empty());
  // encrypt to a next hop without STARTTLS (smtp-sink): refused before any data goes out.
  Relay plain;
  plain.startSink();
  plain.startMugai({"--relay-tls", "encrypt"});
  int rc = 0;
  out = plain.swaks(r.tmp.path() / "clean.eml", &rc);
  INFO(out << "\n" << readFile(plain.log));
  CHECK(out.find("250 2.0.0 Ok: queued as") == std::string::npos);
  CHECK(out.find("<** 4") != std::string::npos);
  CHECK(filesIn(plain.dump).empty());
}

TEST_CASE("serve: a second serve on the same port exits 1 with 'address already in use'",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  std::string out;
  int rc = run(
      {MUGAI_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(r.mugai_port), "--next-hop",
       "127.0.0.1:" + std::to_string(r.sink_port), "--state-dir", r.state.string()},
      &out, 60);
  CHECK(rc == 1);
  CHECK(out.find("cannot listen on 127.0.0.1:" + std::to_string(r.mugai_port) +
                 ": address already in use") != std::string::npos);
  // The first one still serves.
  CHECK(rawSmtp(r.mugai_port, "QUIT\r\n", "221").find("220 ") == 0);
}

TEST_CASE("serve: the notice sent in place of a blocked message carries X-Mugai-Id",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  writeFile(r.tmp.path() / "smime.eml",
            "From: a@example.com\r\nTo: b@example.jp\r\nSubject: secret\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n");
  std::string out = r.swaks(r.tmp.path() / "smime.eml");
  REQUIRE(out.find("250 2.0.0 Ok: queued as ") != std::string::npos);
  std::string id = out.substr(out.find("queued as ") + 10, 30);
  id = id.substr(0, id.find_first_of("\r\n"));
  auto files = filesIn(r.dump);
  REQUIRE(files.size() == 1);
  std::string got = readFile(files[0]);
  CHECK(got.find("X-Mugai-Verdict: blocked\n") != std::string::npos);
  CHECK(got.find("X-Mugai-Id: " + id + "\n") != std::string::npos);
  CHECK(got.find("MIAGCSqGSIb3DQEHA6CAMIACAQAx") == std::string::npos);
  CHECK(openTestVault(r.vault())->get(id, nullptr));  // the header leads to the record
}

TEST_CASE("serve: the startup line counts the signatures and names where they came from",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  std::string log = readFile(r.log);
  INFO(log);
  std::size_t at = log.find("listening on 127.0.0.1:" + std::to_string(r.mugai_port));
  REQUIRE(at != std::string::npos);
  std::string line = log.substr(at, log.find('\n', at) - at);
  CHECK(line.find(", signatures=3 (") != std::string::npos);
  CHECK(line.find("rules/signatures) + ") !=
        std::string::npos);  // the embedded rules' test signatures
  const char* dbdir = "/var/lib/clamav";
  if (line.find(" + 0 (" + std::string(dbdir) + ")") != std::string::npos) {
    CHECK(log.find("WARNING: the system ClamAV database directory /var/lib/clamav is") !=
          std::string::npos);
    CHECK(log.find("run freshclam; until then only the test signatures are loaded") !=
          std::string::npos);
  } else {
    CHECK(log.find("WARNING:") == std::string::npos);
  }
}

TEST_CASE("serve: a deferred transaction leaves no vault record, a relayed one leaves one",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startMugai();  // the next hop is down
  writeFile(r.tmp.path() / "eicar.eml", htmlWithEicar());
  for (int attempt = 0; attempt < 2; ++attempt) {  // the front MTA retries
    int rc = 0;
    std::string out = r.swaks(r.tmp.path() / "eicar.eml", &rc);
    CHECK(rc != 0);
    CHECK(out.find("451 4.4.1") != std::string::npos);
  }
  CHECK(vaultRecords(r.vault()).empty());
  std::string log = readFile(r.log);
  CHECK(log.find("relay_status=deferred") != std::string::npos);
  CHECK(log.find("discarded=") != std::string::npos);

  r.startSink();
  std::string out = r.swaks(r.tmp.path() / "eicar.eml");
  REQUIRE(out.find("250 2.0.0 Ok: queued as ") != std::string::npos);
  const std::string id = queuedId(out);
  auto kept = vaultRecords(r.vault());
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].id == id);
  CHECK(openTestVault(r.vault())->verifyAudit().ok);  // store, discard, store, discard, store
}

TEST_CASE("serve: a refused transaction is logged in the per-message form, sender text escaped",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  // Bare LF in DATA: 521, and one log line with client, helo, sender, recipients and the reply.
  std::string got = r.rawSmtp(
      "EHLO probe\xE2\x80\xAEgpj\r\nMAIL FROM:<a\xE2\x80\xAE@example.com>\r\n"
      "RCPT TO:<b@example.jp>\r\nDATA\r\n",
      "\n.\n");
  CHECK(got.find("521 5.5.2") != std::string::npos);
  // A delivered message from the same kind of sender: its line is escaped the same way.
  got = mugai::test::rawSmtp(
      r.mugai_port,
      "EHLO fine\r\nMAIL FROM:<c\xE2\x80\xAE@example.com>\r\nRCPT TO:<d\xE2\x80\xAE@example.jp>\r\n"
      "DATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n",
      "221");
  CHECK(got.find("250 2.0.0 Ok: queued as") != std::string::npos);
  std::string log;
  for (int i = 0; i < 50; ++i) {  // the lines are written as the replies go out
    log = readFile(r.log);
    if (log.find("verdict=") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(log);
  std::size_t at = log.find("refused why=bare_newline ");
  REQUIRE(at != std::string::npos);
  std::string line = log.substr(at, log.find('\n', at) - at);
  CHECK(line.find(" from=<a<U+202E>@example.com> rcpts=1 ") != std::string::npos);
  CHECK(line.find(" client=unknown[127.0.0.1] ") != std::string::npos);
  CHECK(line.find(" helo=probe<U+202E>gpj ") != std::string::npos);
  CHECK(line.find(" to=<b@example.jp> size=") != std::string::npos);
  CHECK(line.find(" reply=\"521 5.5.2 ") != std::string::npos);
  at = log.find("verdict=");
  line = log.substr(at, log.find('\n', at) - at);
  CHECK(line.find(" from=<c<U+202E>@example.com> ") != std::string::npos);
  CHECK(line.find(" to=<d<U+202E>@example.jp> ") != std::string::npos);
  CHECK(line.find(" helo=fine ") != std::string::npos);
  CHECK(log.find("\xE2\x80\xAE") == std::string::npos);  // never the raw override
}

TEST_CASE("serve: a clean message the next hop refuses for good is bounced and kept in the vault",
          "[integration]") {
  // A Japanese mail doubles when made UTF-8; a next hop with a smaller size limit answers 552.
  if (peersMissing()) return;
  Relay r;
  r.startSink({"-f", "."});  // every end of data: 5xx
  r.startMugai();
  writeFile(r.tmp.path() / "clean.eml",
            "From: a@example.com\r\nTo: b@example.jp\r\nSubject: big\r\n\r\nText.\r\n");
  int rc = 0;
  std::string out = r.swaks(r.tmp.path() / "clean.eml", &rc);
  CHECK(rc != 0);
  CHECK(out.find("\n<** 5") != std::string::npos);  // the sender's MTA bounces
  std::string log = readFile(r.log);
  INFO(log);
  CHECK(log.find("relay_status=bounced") != std::string::npos);
  CHECK(log.find("(refused by the next hop: the original is kept)") != std::string::npos);
  auto kept = vaultRecords(r.vault());
  REQUIRE(kept.size() == 1);
  CHECK(vaultOriginal(r.vault(), kept[0].id).find("Subject: big") != std::string::npos);
}

TEST_CASE("serve: two instances sharing one PostgreSQL vault record every message once, no id "
          "collisions",
          "[integration]") {
  if (peersMissing()) return;
  mugai::test::PostgresServer pg;
  if (!pg.ok()) {
    WARN(pg.why());
    return;
  }
  Relay a, b;
  for (Relay* r : {&a, &b}) {
    r->startSink();
    r->startMugai({"--vault", pg.url()});
  }
  writeFile(a.tmp.path() / "eicar.eml", htmlWithEicar());
  writeFile(b.tmp.path() / "eicar.eml", htmlWithEicar());
  constexpr int kEach = 15;
  std::vector<std::string> ids_a, ids_b;
  auto send = [](Relay& r, std::vector<std::string>& ids) {
    for (int i = 0; i < kEach; ++i) ids.push_back(queuedId(r.swaks(r.tmp.path() / "eicar.eml")));
  };
  std::thread ta(send, std::ref(a), std::ref(ids_a)), tb(send, std::ref(b), std::ref(ids_b));
  ta.join();
  tb.join();
  std::set<std::string> queued(ids_a.begin(), ids_a.end());
  queued.insert(ids_b.begin(), ids_b.end());
  CHECK(queued.count("") == 0);  // every message answered 250
  CHECK(queued.size() == 2 * kEach);
  auto records = vaultRecords(pg.url());
  std::set<std::string> recorded;
  for (const auto& r : records) recorded.insert(r.id);
  CHECK(records.size() == 2 * kEach);
  CHECK(recorded == queued);  // each 250 has its record, under the id the client was given
  CHECK(openTestVault(pg.url())->verifyAudit().ok);  // two writers, one chain
}

TEST_CASE("serve: a vault that cannot be written answers 4xx, nothing is relayed, the retry is "
          "recorded",
          "[integration]") {
  if (peersMissing()) return;
  Relay r;
  r.startSink();
  r.startMugai();
  writeFile(r.tmp.path() / "eicar.eml", htmlWithEicar());
  REQUIRE(r.swaks(r.tmp.path() / "eicar.eml").find("250 2.0.0 Ok: queued as") != std::string::npos);
  REQUIRE(filesIn(r.dump).size() == 1);
  SECTION("its folder removed") {
    fs::remove_all(r.state);
  }
  SECTION("its file replaced") {
    fs::rename(r.state / "vault.db", r.state / "old.db");
    writeFile(r.state / "vault.db", "");
  }
  int rc = 0;
  std::string out = r.swaks(r.tmp.path() / "eicar.eml", &rc);
  CHECK(rc != 0);
  CHECK(out.find("451 4.3.0") != std::string::npos);  // the client keeps the message
  CHECK(filesIn(r.dump).size() == 1);                  // nothing relayed without its record
  std::string log = readFile(r.log);
  CHECK(log.find("vault_error=\"vault: the database file") != std::string::npos);
  // A clean message needs no record: still delivered.
  writeFile(r.tmp.path() / "clean.eml", "From: a@example.com\r\nSubject: clean\r\n\r\nText.\r\n");
  CHECK(r.swaks(r.tmp.path() / "clean.eml").find("250 2.0.0 Ok") != std::string::npos);
  // The admin restores the vault (here: a restart on a fresh one); the client's retry is recorded.
  r.mugai.reset();
  fs::remove_all(r.state);
  r.startMugai();
  out = r.swaks(r.tmp.path() / "eicar.eml");
  REQUIRE(out.find("250 2.0.0 Ok: queued as") != std::string::npos);
  auto records = vaultRecords(r.vault());
  REQUIRE(records.size() == 1);
  CHECK(records[0].id == queuedId(out));
}
