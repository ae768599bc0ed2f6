// The release loop as an operator runs it, with real peers: `mugai mail` withholds a .docm's
// original, `mugai vault` imports it, tanaka requests it, sato approves, `vault release --now`
// re-scans it and delivers it through smtp-sink — once, to tanaka only. PPAP: three wrong
// passwords for an encrypted zip are refused and audited, the fourth try is refused even with the
// right password; another item opened with the right password is delivered sanitized.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/peers.h"
#include "mugai/vault/vault.h"
#include "support/offcrypto_writer.h"
#include "support/test_support.h"
#include "unit/sanitizers/office_fixtures.h"

namespace fs = std::filesystem;
using namespace mugai::test;

namespace {

struct Loop {
  TempDir tmp;
  fs::path dump = tmp.path() / "dump", q = tmp.path() / "quarantine";
  std::uint16_t sink_port = freePort();
  std::unique_ptr<Child> sink;
  std::string vault, rules;

  Loop() {
    fs::create_directories(dump);
    chmod(tmp.path().c_str(), 0755);
    chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
    std::vector<std::string> argv{kSink};
    if (isRoot()) argv.insert(argv.end(), {"-u", "nobody"});
    argv.insert(argv.end(), {"-d", (dump / "%H%M%S.").string(), "127.0.0.1:" + std::to_string(sink_port), "20"});
    sink = std::make_unique<Child>(argv, tmp.path() / "sink.log");
    REQUIRE(waitForPort(sink_port, std::chrono::seconds(10)));
    // Rules whose vault section names the example directory (tanaka -> somu, approver sato).
    std::string r = readFile(sourceDir() / "rules" / "default.yaml");
    const std::string marker = "  # directory: directory.yaml";
    REQUIRE(r.find(marker) != std::string::npos);
    r.replace(r.find(marker), marker.size(), "  directory: directory.yaml");
    const std::string sig = "signatures: [signatures]";
    REQUIRE(r.find(sig) != std::string::npos);
    r.replace(r.find(sig), sig.size(), "signatures: [" + (sourceDir() / "rules" / "signatures").string() + "]");
    fs::copy_file(sourceDir() / "rules" / "directory.example.yaml", tmp.path() / "directory.yaml");
    writeFile(tmp.path() / "rules.yaml", r);
    rules = (tmp.path() / "rules.yaml").string();
    vault = "sqlite:" + (tmp.path() / "vault.db").string();
  }
  /// `mugai ARGS...`; the exit code, output in *out.
  int mugai(const std::vector<std::string>& args, std::string* out = nullptr) {
    std::vector<std::string> argv{MUGAI_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string o;
    int rc = run(argv, &o, 180);
    if (out) *out = o;
    UNSCOPED_INFO("mugai " << Catch::Detail::stringify(args) << " -> " << rc << "\n" << o);
    return rc;
  }
  int vaultCmd(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), {"vault", "--vault", vault, "--rules", rules});
    return mugai(args, out);
  }
  /// Withholds `mail` for tanaka and suzuki, straight into the vault (`mugai mail --vault`, the
  /// disposition layer's record()); its id.
  std::string withhold(const std::string& name, const std::string& mail) {
    const fs::path in = tmp.path() / (name + ".eml");
    writeFile(in, mail);
    const int rc = mugai({"mail", in.string(), "-o", (tmp.path() / (name + ".out")).string(), "--report",
                          (tmp.path() / (name + ".json")).string(), "--vault", vault, "--rules",
                          rules, "--rcpt", "tanaka@city.example.lg.jp", "--rcpt", "suzuki@city.example.lg.jp"});
    REQUIRE((rc == 0 || rc == 3));  // sanitized, or blocked (the notice replaces it)
    const std::string report = readFile(tmp.path() / (name + ".json"));
    const auto at = report.find("\"id\":\"");
    REQUIRE(at != std::string::npos);
    const std::string id = report.substr(at + 6, report.find('"', at + 6) - at - 6);
    REQUIRE(vaultCmd({"show", id}) == 0);
    return id;
  }
  std::vector<std::string> released() {
    std::vector<std::string> out;
    for (const auto& f : filesIn(dump)) {
      std::string m = readFile(f);
      if (m.find("X-Mugai-Released:") != std::string::npos) out.push_back(m);
    }
    return out;
  }
  std::string next() const { return "127.0.0.1:" + std::to_string(sink_port); }
};

std::string mailWith(const std::string& name, const std::string& type, const std::string& data) {
  return "From: partner@example.co.jp\r\nTo: tanaka@city.example.lg.jp, suzuki@city.example.lg.jp\r\n"
         "Subject: release test\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
         "--b\r\nContent-Type: " + type + "; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" +
         name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64(data) + "\r\n--b--\r\n";
}

}  // namespace

TEST_CASE("release loop: request, approve, release --now: the original reaches smtp-sink once, to "
          "the requester only", "[integration][release]") {
  if (anyMissing({kSink})) return;
  auto corpus = corpusDir();
  if (!corpus) return;
  Loop l;
  const std::string docm =
      readFile(*corpus / "office/libreoffice/sw/qa/extras/ooxmlexport/data/tdf108269.docm");
  const std::string id = l.withhold("docm", mailWith("見積.docm", "application/vnd.ms-word.document.macroEnabled.12", docm));
  std::string out;
  REQUIRE(l.vaultCmd({"--by", "tanaka", "request", id, "--reason", "取引先の確認に必要"}, &out) == 0);
  CHECK(out.find("waiting for approval by sato") != std::string::npos);
  REQUIRE(l.vaultCmd({"--by", "sato", "approve", id}, &out) == 0);
  CHECK(out.find("queued for tanaka@city.example.lg.jp") != std::string::npos);
  // The runner (serve does this on its own; here once, by hand).
  REQUIRE(l.vaultCmd({"release", "--now", "--next-hop", l.next()}, &out) == 0);
  INFO(out);
  CHECK(out.find(": delivered") != std::string::npos);
  // Run again: nothing more leaves.
  REQUIRE(l.vaultCmd({"release", "--now", "--next-hop", l.next()}, &out) == 0);
  auto rel = l.released();
  REQUIRE(rel.size() == 1);
  CHECK(rel[0].find("X-Rcpt-Args: <tanaka@city.example.lg.jp>") != std::string::npos);
  CHECK(rel[0].find("X-Rcpt-Args: <suzuki@city.example.lg.jp>") == std::string::npos);
  CHECK(rel[0].find("X-Mugai-Released: " + id) != std::string::npos);
  CHECK(rel[0].find(base64(docm).substr(0, 60)) != std::string::npos);  // the original, macros and all
  for (const auto& f : filesIn(l.dump)) {
    CHECK(readFile(f).find("X-Rcpt-Args: <suzuki@city.example.lg.jp>") == std::string::npos);
  }
  REQUIRE(l.vaultCmd({"--json", "show", id}, &out) == 0);
  CHECK(out.find("\"state\":\"released\"") != std::string::npos);
  REQUIRE(l.vaultCmd({"audit", "export"}, &out) == 0);
  CHECK(out.find("\"action\":\"release.delivered\"") != std::string::npos);
  CHECK(out.find("\"action\":\"notice.delivered\"") != std::string::npos);
  CHECK(l.vaultCmd({"audit", "verify"}) == 0);
  // Staff cannot release on their own, nor release again what is released.
  CHECK(l.vaultCmd({"--by", "tanaka", "release", id}) == 3);
}

TEST_CASE("release loop: PPAP unlock — three wrong passwords refused and audited, then locked, "
          "the right password delivers the sanitized content", "[integration][release][ppap]") {
  if (anyMissing({kSink})) return;
  Loop l;
  // The generated fixture: secret.txt in a traditional-PKWARE zip, password "mugai".
  const std::string zip = readFile(generatedDir() / "encrypted.zip");
  const std::string first = l.withhold("ppap1", mailWith("書類.zip", "application/zip", zip));
  const std::string second = l.withhold("ppap2", mailWith("書類.zip", "application/zip", zip));
  const fs::path wrong = l.tmp.path() / "wrong", right = l.tmp.path() / "right";
  writeFile(wrong, "not-it\n");
  writeFile(right, "mugai\n");
  chmod(wrong.c_str(), 0600);
  chmod(right.c_str(), 0600);
  std::string out;
  for (int i = 1; i <= 3; ++i) {
    CHECK(l.vaultCmd({"--by", "tanaka", "unlock", first, "--password-file", wrong.string()}, &out) == 3);
    CHECK(out.find("wrong password (attempt " + std::to_string(i) + " of 3)") != std::string::npos);
  }
  // Locked: even the right password is refused now.
  CHECK(l.vaultCmd({"--by", "tanaka", "unlock", first, "--password-file", right.string()}, &out) == 3);
  CHECK(out.find("limit (3)") != std::string::npos);
  // Another recipient's attempt on tanaka's item: not theirs to see.
  CHECK(l.vaultCmd({"--by", "yamada", "unlock", second, "--password-file", right.string()}) == 3);
  // The right password on the second item: opened, sanitized, delivered to tanaka only.
  REQUIRE(l.vaultCmd({"--by", "tanaka", "unlock", second, "--password-file", right.string(),
                      "--now", "--next-hop", l.next()}, &out) == 0);
  CHECK(out.find("unlocked 書類.zip") != std::string::npos);
  auto rel = l.released();
  REQUIRE(rel.size() == 1);
  CHECK(rel[0].find("X-Mugai-Released: " + second) != std::string::npos);
  CHECK(rel[0].find("X-Mugai-Unlocked:") != std::string::npos);
  CHECK(rel[0].find("X-Rcpt-Args: <tanaka@city.example.lg.jp>") != std::string::npos);
  CHECK(rel[0].find("X-Rcpt-Args: <suzuki@city.example.lg.jp>") == std::string::npos);
  REQUIRE(l.vaultCmd({"audit", "export"}, &out) == 0);
  std::size_t wrongs = 0;
  for (std::size_t p = 0; (p = out.find("\"action\":\"unlock.wrong\"", p)) != std::string::npos; ++p) ++wrongs;
  CHECK(wrongs == 3);
  CHECK(out.find("\"action\":\"refused\"") != std::string::npos);
  CHECK(out.find("\"action\":\"unlock\"") != std::string::npos);
  CHECK(out.find("\"action\":\"unlock.delivered\"") != std::string::npos);
  CHECK(out.find("not-it") == std::string::npos);  // no password in the log
  // The original itself was not released: the record stays withheld; the job says what went.
  REQUIRE(l.vaultCmd({"--json", "show", second}, &out) == 0);
  CHECK(out.find("\"state\":\"withheld\"") != std::string::npos);
  CHECK(out.find("\"kind\":\"unlock\"") != std::string::npos);
  CHECK(l.vaultCmd({"audit", "verify"}) == 0);
}

TEST_CASE("release loop: a user the directory lacks (the console's LDAP log-in) unlocks as staff "
          "with --by-email, and a user the directory has cannot borrow addresses that way",
          "[integration][release][ppap]") {
  if (anyMissing({kSink})) return;
  Loop l;
  const std::string zip = readFile(generatedDir() / "encrypted.zip");
  const std::string id = l.withhold("ppap3", mailWith("書類.zip", "application/zip", zip));
  const fs::path right = l.tmp.path() / "right";
  writeFile(right, "mugai\n");
  chmod(right.c_str(), 0600);
  std::string out;
  // Not in the directory and no addresses given: refused as before.
  CHECK(l.vaultCmd({"--by", "ldap-tanaka", "unlock", id, "--password-file", right.string()}, &out) == 1);
  CHECK(out.find("is not a user of") != std::string::npos);
  // A directory user keeps its own entry: yamada cannot claim tanaka's address.
  CHECK(l.vaultCmd({"--by", "yamada", "--by-email", "tanaka@city.example.lg.jp", "unlock", id,
                    "--password-file", right.string()}) == 3);
  // An outside user whose address is not a recipient: refused.
  CHECK(l.vaultCmd({"--by", "ldap-sato", "--by-email", "sato@city.example.lg.jp", "unlock", id,
                    "--password-file", right.string()}) == 3);
  // The recipient, known only to LDAP: opened, queued for that address, audited under that login.
  REQUIRE(l.vaultCmd({"--by", "ldap-tanaka", "--by-email", "Tanaka@City.Example.LG.JP", "unlock", id,
                      "--password-file", right.string()}, &out) == 0);
  REQUIRE(l.vaultCmd({"--json", "show", id}, &out) == 0);
  CHECK(out.find("\"kind\":\"unlock\"") != std::string::npos);
  CHECK(out.find("tanaka@city.example.lg.jp") != std::string::npos);
  REQUIRE(l.vaultCmd({"audit", "export"}, &out) == 0);
  CHECK(out.find("\"actor\":\"ldap-tanaka\"") != std::string::npos);
  CHECK(out.find("\"actor\":\"ldap-sato\"") != std::string::npos);  // its refusal
  CHECK(l.vaultCmd({"audit", "verify"}) == 0);
}

TEST_CASE("release loop: `--now` speaks STARTTLS to the next hop when the config says relay_tls = "
          "encrypt", "[integration][release][ppap]") {
  if (anyMissing({kSink})) return;
  if (!haveExecutable("/usr/bin/openssl")) {
    WARN("skipped: /usr/bin/openssl not installed");
    return;
  }
  Loop l;
  // The next hop: a mugai serve offering STARTTLS, in front of the loop's smtp-sink.
  const fs::path key = l.tmp.path() / "key.pem", cert = l.tmp.path() / "cert.pem";
  REQUIRE(selfSignedCert(key.parent_path(), "next-hop.test"));
  const std::uint16_t hop_port = freePort();
  const fs::path hop_log = l.tmp.path() / "hop.log";
  Child hop({MUGAI_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(hop_port), "--next-hop",
             l.next(), "--state-dir", (l.tmp.path() / "hop").string(), "--tls-cert-file", cert.string(),
             "--tls-key-file", key.string()},
            hop_log);
  if (!waitForPort(hop_port, std::chrono::seconds(60))) FAIL(readFile(hop_log));
  const fs::path conf = l.tmp.path() / "mugai.conf";
  writeFile(conf, "next_hop = 127.0.0.1:" + std::to_string(hop_port) + "\nrelay_tls = encrypt\n");
  const std::string zip = readFile(generatedDir() / "encrypted.zip");
  const std::string id = l.withhold("ppap-tls", mailWith("書類.zip", "application/zip", zip));
  const fs::path right = l.tmp.path() / "right";
  writeFile(right, "mugai\n");
  chmod(right.c_str(), 0600);
  std::string out;
  REQUIRE(l.vaultCmd({"--by", "tanaka", "--config", conf.string(), "unlock", id, "--password-file",
                      right.string(), "--now"}, &out) == 0);
  INFO(out << "\nhop:\n" << readFile(hop_log));
  CHECK(out.find("unlock 1 of " + id + ": delivered") != std::string::npos);
  // The hop (a mugai serve: it takes X-Mugai-* headers off what it receives) got the unlocked
  // message and its notice over TLS, and passed both on.
  const std::string log = readFile(hop_log);
  std::size_t tls_sessions = 0;
  for (std::size_t p = 0; (p = log.find("tls=yes", p)) != std::string::npos; ++p) ++tls_sessions;
  CHECK(tls_sessions == 2);
  CHECK(log.find("tls=no") == std::string::npos);
  std::size_t delivered = 0;
  for (int i = 0; i < 100 && delivered < 2; ++i) {
    delivered = filesIn(l.dump).size();
    if (delivered < 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(delivered == 2);
}

TEST_CASE("release loop: an encrypted .docx kept from the file drop — a wrong password is refused "
          "and audited, the right one writes the sanitized file to that user's outbox",
          "[integration][release][ppap][offcrypto]") {
  if (anyMissing({kSink})) return;
  Loop l;
  // What the file drop keeps for /tanaka/見積/見積.docx (an Agile-encrypted package: content.encrypted).
  std::string docx;
  {
    // A one-paragraph .docx (the unit tests' package writer), encrypted as Office does.
    const std::string types =
        R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)";
    const std::string rels =
        R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>)";
    const std::string doc =
        R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>file drop quote</w:t></w:r></w:p><w:sectPr/></w:body></w:document>)";
    docx = mugai::test::office::pack({{"[Content_Types].xml", types}, {"_rels/.rels", rels}, {"word/document.xml", doc}});
  }
  const std::string encrypted = mugai::test::offcrypto::wrap(mugai::test::offcrypto::agile(docx, "mugai-pass"));
  std::string err;
  {
    auto v = mugai::vault::openVault(l.vault, &err);
    REQUIRE(v);
    mugai::vault::NewRecord r;
    r.id = "20261207T010000-0000aa-0000";
    r.kind = "file";
    r.created = static_cast<std::int64_t>(std::time(nullptr));
    r.envelope.recipients = {"tanaka"};
    r.envelope.source = "/tanaka/見積/見積.docx";
    r.filename = "見積.docx";
    r.verdict = "blocked";
    r.reason = "content.encrypted";
    r.reasons = {"content.encrypted"};
    r.report_json = "{}";
    r.tier = mugai::vault::Tier::Approval;
    r.original = encrypted;
    REQUIRE(v->put(r, &err));
  }
  const std::string id = "20261207T010000-0000aa-0000";
  const fs::path inbox = l.tmp.path() / "inbox", outbox = l.tmp.path() / "outbox";
  fs::create_directories(inbox);
  fs::create_directories(outbox);
  writeFile(l.tmp.path() / "mugai.conf",
            "smtp = no\nfiledrop_inbox = " + inbox.string() + "\nfiledrop_outbox = " + outbox.string() + "\n");
  const std::string conf = (l.tmp.path() / "mugai.conf").string();
  const fs::path wrong = l.tmp.path() / "wrong", right = l.tmp.path() / "right";
  writeFile(wrong, "mugai-pas\n");
  writeFile(right, "mugai-pass\n");
  chmod(wrong.c_str(), 0600);
  chmod(right.c_str(), 0600);
  std::string out;
  CHECK(l.vaultCmd({"--by", "tanaka", "--config", conf, "unlock", id, "--password-file", wrong.string()}, &out) == 3);
  CHECK(out.find("wrong password (attempt 1 of 3)") != std::string::npos);
  // Not tanaka's colleague: the item is not theirs.
  CHECK(l.vaultCmd({"--by", "yamada", "--config", conf, "unlock", id, "--password-file", right.string()}) == 3);
  REQUIRE(l.vaultCmd({"--by", "tanaka", "--config", conf, "unlock", id, "--password-file", right.string(), "--now",
                      "--next-hop", l.next()},
                     &out) == 0);
  CHECK(out.find("unlocked file in " + id) != std::string::npos);
  CHECK(out.find(": delivered (written to outbox tanaka/") != std::string::npos);
  const std::string written = readFile(outbox / "tanaka" / "unlocked-見積.docx");
  CHECK(written.substr(0, 4) == "PK\x03\x04");  // a package again, rebuilt by the policy
  std::string text;
  CHECK(run({"/usr/bin/unzip", "-p", (outbox / "tanaka" / "unlocked-見積.docx").string(), "word/document.xml"}, &text, 60) == 0);
  CHECK(text.find("file drop quote") != std::string::npos);
  CHECK(written != encrypted);
  REQUIRE(l.vaultCmd({"audit", "export"}, &out) == 0);
  CHECK(out.find("\"action\":\"unlock.wrong\"") != std::string::npos);
  CHECK(out.find("\"action\":\"unlock\"") != std::string::npos);
  CHECK(out.find("\"action\":\"unlock.delivered\"") != std::string::npos);
  CHECK(out.find("mugai-pass") == std::string::npos);  // no password in the log
  CHECK(l.vaultCmd({"audit", "verify"}) == 0);
}

TEST_CASE("release loop: mugai serve --vault carries out the queue by itself", "[integration][release]") {
  if (anyMissing({kSink})) return;
  auto corpus = corpusDir();
  if (!corpus) return;
  Loop l;
  const std::string docm =
      readFile(*corpus / "office/libreoffice/sw/qa/extras/ooxmlexport/data/tdf108269.docm");
  const std::string id = l.withhold("docm", mailWith("見積.docm", "application/vnd.ms-word.document.macroEnabled.12", docm));
  const std::uint16_t port = freePort();
  Child serve({MUGAI_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--next-hop", l.next(),
               "--quarantine", (l.tmp.path() / "state").string(), "--rules", l.rules, "--vault", l.vault},
              l.tmp.path() / "serve.log");
  REQUIRE(waitForPort(port, std::chrono::seconds(60)));
  REQUIRE(l.vaultCmd({"--by", "tanaka", "request", id, "--reason", "必要"}) == 0);
  REQUIRE(l.vaultCmd({"--by", "sato", "approve", id}) == 0);
  // serve's runner polls the queue: wait (bounded) for the delivery, then look at what arrived.
  std::vector<std::string> rel;
  for (int i = 0; i < 600 && rel.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    rel = l.released();
  }
  INFO(readFile(l.tmp.path() / "serve.log"));
  REQUIRE(rel.size() == 1);
  CHECK(rel[0].find("X-Rcpt-Args: <tanaka@city.example.lg.jp>") != std::string::npos);
  CHECK(readFile(l.tmp.path() / "serve.log").find("release runner started on " + l.vault) != std::string::npos);
  std::string out;
  REQUIRE(l.vaultCmd({"--json", "show", id}, &out) == 0);
  CHECK(out.find("\"state\":\"released\"") != std::string::npos);
}
