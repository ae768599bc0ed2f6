// The disposition layer (include/mugai/disposition/disposition.h): what a verdict turns into, with
// the real engine (shipped rules, libclamav in-process) and a real SQLite vault.
#include "mugai/disposition/disposition.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "mugai/pipeline/pipeline.h"
#include "mugai/vault/vault.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai;
using disposition::Answer;
using disposition::HopResult;
using disposition::MailItem;

namespace {

std::string eicar() { return test::readFile(test::generatedDir() / "eicar.com"); }

std::string mailWith(const std::string& attachment) {
  std::string m =
      "From: partner@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: invoice\r\n"
      "Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n";
  if (attachment.empty()) return m + "Content-Type: text/plain\r\n\r\nhello\r\n";
  return m +
         "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
         "see attached\r\n--b\r\nContent-Type: application/octet-stream; name=invoice.com\r\n"
         "Content-Disposition: attachment; filename=invoice.com\r\n\r\n" +
         attachment + "\r\n--b--\r\n";
}

/// Engine on the shipped rules, a vault in a temporary state folder, and a disposition whose log
/// lines and finished items the test reads.
struct Fixture {
  test::TempDir tmp;
  std::shared_ptr<const Engine> engine;
  std::shared_ptr<vault::Vault> vault;
  std::vector<std::string> lines;
  std::vector<disposition::ItemOutcome> finished;
  std::unique_ptr<disposition::Disposition> disp;
  std::string url;
  Fixture() {
    std::vector<std::string> errors;
    engine = makeEngine((test::sourceDir() / "rules" / "default.yaml").string(), errors);
    REQUIRE(engine);
    url = test::stateVault(tmp.path().string());
    vault = test::openTestVault(url);
    disp = std::make_unique<disposition::Disposition>(disposition::Options{
        vault, [this](const std::string& l) { lines.push_back(l); },
        [this](const disposition::ItemOutcome& o) { finished.push_back(o); }});
  }
  MailItem item(const std::string& id) {
    MailItem m;
    m.id = id;
    m.arrival.envelope = Envelope{"partner@example.com", {"staff@city.example.lg.jp"},
                                  "mx.example.com", "192.0.2.7", "mx.example.com"};
    m.arrival.xforward = "NAME=mx.example.com ADDR=192.0.2.7 HELO=mx.example.com";
    m.arrival.facts = "client=localhost[127.0.0.1]";
    return m;
  }
  ProcessResult run(const std::string& raw, const MailItem& m) {
    return engine->processMessage(raw, m.arrival.envelope, m.id);
  }
};

HopResult hop(int code, bool maybe = false) {
  HopResult h;
  h.code = code;
  h.text = code == 250 ? "2.0.0 Ok" : code >= 500 ? "5.7.1 no" : "4.4.1 later";
  h.hop = "127.0.0.1:10026";
  h.detail = "test";
  h.maybe_delivered = maybe;
  return h;
}

}  // namespace

TEST_CASE("disposition: an EICAR mail is recorded before it is relayed, with envelope, objects, "
          "tier and expiry",
          "[disposition]") {
  Fixture f;
  const std::string raw = mailWith(eicar());
  MailItem m = f.item("20261206T230000-aaaaaa-0001");
  ProcessResult r = f.run(raw, m);
  REQUIRE(r.report.reason == Reason::AvInfected);
  // decide(): the record exists before anything is relayed (so before any 250).
  REQUIRE_FALSE(f.disp->decide(m, raw, r, f.engine->policy()).has_value());
  CHECK(m.recorded);
  auto rec = f.vault->get(m.id, nullptr);
  REQUIRE(rec);
  CHECK(rec->kind == "mail");
  CHECK(rec->reason == "av.infected");
  CHECK(rec->tier == vault::Tier::Admin);  // rules: av.infected -> admin
  CHECK(rec->expires == rec->created + 180 * 86400);  // rules: av.infected kept 180 days
  CHECK(rec->envelope.sender == "partner@example.com");
  CHECK(rec->envelope.recipients == std::vector<std::string>{"staff@city.example.lg.jp"});
  CHECK(rec->envelope.client_addr == "192.0.2.7");
  CHECK(rec->envelope.xforward == "NAME=mx.example.com ADDR=192.0.2.7 HELO=mx.example.com");
  CHECK(rec->delivered_id == "X-Mugai-Id: " + m.id);
  CHECK(rec->subject == "invoice");
  CHECK(test::vaultOriginal(f.url, m.id) == raw);
  bool eicar_object = false;
  for (const auto& o : rec->objects) {
    // The removed attachment's own SHA-256 (the EICAR test file's well-known digest).
    eicar_object = eicar_object ||
                   (o.what == "invoice.com" && o.action == "removed" &&
                    o.sha256 == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
  }
  CHECK(eicar_object);
  Answer a = f.disp->relayed(m, raw, r, f.engine->policy(), hop(250));
  CHECK(a.code == 250);
  CHECK(a.text == "2.0.0 Ok: queued as " + m.id);
  REQUIRE(f.finished.size() == 1);
  CHECK(f.finished[0].recorded);
  CHECK(f.finished[0].reply_code == 250);
  CHECK(f.finished[0].verdict == "sanitized");
  CHECK(f.finished[0].relay_status == "sent");
  CHECK(f.finished[0].envelope.sender == "partner@example.com");
  CHECK(f.finished[0].reasons == std::vector<std::string>{"av.infected"});
  REQUIRE(f.lines.size() == 1);
  CHECK(f.lines[0].find("recorded=" + m.id) != std::string::npos);
  CHECK(f.lines[0].find("reply=\"250 2.0.0 Ok: queued as " + m.id + "\"") != std::string::npos);
}

TEST_CASE("disposition: clean plain mail is not written", "[disposition]") {
  Fixture f;
  const std::string raw = mailWith("");
  MailItem m = f.item("20261206T230000-aaaaaa-0002");
  ProcessResult r = f.run(raw, m);
  REQUIRE_FALSE(f.disp->decide(m, raw, r, f.engine->policy()).has_value());
  CHECK_FALSE(m.recorded);
  CHECK(f.disp->relayed(m, raw, r, f.engine->policy(), hop(250)).code == 250);
  CHECK(test::vaultRecords(f.url).empty());
  REQUIRE(f.finished.size() == 1);
  CHECK_FALSE(f.finished[0].recorded);
}

TEST_CASE("disposition: a deferred relay discards the record, unless the next hop may have it",
          "[disposition]") {
  Fixture f;
  const std::string raw = mailWith(eicar());
  SECTION("4xx: the client keeps its copy and retries") {
    MailItem m = f.item("20261206T230000-aaaaaa-0003");
    ProcessResult r = f.run(raw, m);
    REQUIRE_FALSE(f.disp->decide(m, raw, r, f.engine->policy()).has_value());
    REQUIRE(f.vault->get(m.id, nullptr));
    Answer a = f.disp->relayed(m, raw, r, f.engine->policy(), hop(451));
    CHECK(a.code == 451);
    CHECK_FALSE(f.vault->get(m.id, nullptr));
    CHECK(f.lines.back().find("discarded=" + m.id) != std::string::npos);
    // The attempt stays visible to the auditors: stored, then discarded, chain intact.
    std::vector<vault::AuditRow> rows;
    REQUIRE(f.vault->audit(0, rows, nullptr));
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].action == "store");
    CHECK(rows[1].action == "discard");
    CHECK(f.vault->verifyAudit().ok);
  }
  SECTION("no answer after the whole message went out: kept") {
    MailItem m = f.item("20261206T230000-aaaaaa-0004");
    ProcessResult r = f.run(raw, m);
    REQUIRE_FALSE(f.disp->decide(m, raw, r, f.engine->policy()).has_value());
    CHECK(f.disp->relayed(m, raw, r, f.engine->policy(), hop(451, true)).code == 451);
    CHECK(f.vault->get(m.id, nullptr));
  }
}

TEST_CASE("disposition: a clean message the next hop refuses for good is recorded (the client "
          "bounces and drops its copy)",
          "[disposition]") {
  Fixture f;
  const std::string raw = mailWith("");
  MailItem m = f.item("20261206T230000-aaaaaa-0005");
  ProcessResult r = f.run(raw, m);
  REQUIRE_FALSE(f.disp->decide(m, raw, r, f.engine->policy()).has_value());
  CHECK_FALSE(m.recorded);
  CHECK(f.disp->relayed(m, raw, r, f.engine->policy(), hop(554)).code == 554);
  auto rec = f.vault->get(m.id, nullptr);
  REQUIRE(rec);
  CHECK(test::vaultOriginal(f.url, m.id) == raw);
  CHECK(f.lines.back().find("refused by the next hop: the original is kept") != std::string::npos);
}

TEST_CASE("disposition: a vault that cannot be written gives 4xx, never a 250 without the original",
          "[disposition]") {
  Fixture f;
  const std::string raw = mailWith(eicar());
  SECTION("the vault's folder was removed") {
    fs::remove_all(f.tmp.path());
  }
  SECTION("the vault file was replaced") {
    fs::rename(f.tmp.path() / "vault.db", f.tmp.path() / "moved.db");
    std::ofstream(f.tmp.path() / "vault.db") << "";
  }
  MailItem m = f.item("20261206T230000-aaaaaa-0006");
  ProcessResult r = f.run(raw, m);
  auto answer = f.disp->decide(m, raw, r, f.engine->policy());
  REQUIRE(answer.has_value());  // not relayed
  CHECK(answer->code == 451);
  CHECK_FALSE(m.recorded);
  CHECK(f.lines.back().find("vault_error=\"vault: the database file") != std::string::npos);
  REQUIRE(f.finished.size() == 1);
  CHECK(f.finished[0].reply_code == 451);
}

TEST_CASE("disposition: a record written by an earlier attempt with the same id counts as stored",
          "[disposition]") {
  Fixture f;
  const std::string raw = mailWith(eicar());
  MailItem m = f.item("20261206T230000-aaaaaa-0007");
  ProcessResult r = f.run(raw, m);
  disposition::Arrival file;
  file.kind = "file";
  file.source = "/bob/x.com";
  std::string err;
  CHECK(f.disp->record(m.id, raw, file, r, f.engine->policy(), "/bob/x.com.blocked.txt", &err) ==
        disposition::Stored::Written);
  CHECK(f.disp->record(m.id, raw, file, r, f.engine->policy(), "/bob/x.com.blocked.txt", &err) ==
        disposition::Stored::Present);
  CHECK(test::vaultRecords(f.url).size() == 1);
}

TEST_CASE("disposition: busy and temporary failures are 451 and write nothing", "[disposition]") {
  Fixture f;
  MailItem m = f.item("20261206T230000-aaaaaa-0008");
  CHECK(f.disp->busy(m, "queue full").code == 451);
  ProcessResult tempfail;  // verdict TempFail
  MailItem m2 = f.item("20261206T230000-aaaaaa-0009");
  auto a = f.disp->decide(m2, "x", tempfail, f.engine->policy());
  REQUIRE(a);
  CHECK(a->code == 451);
  CHECK(test::vaultRecords(f.url).empty());
  REQUIRE(f.finished.size() == 2);
  CHECK(f.finished[0].verdict == "busy");
  CHECK(f.finished[0].report == nullptr);
}

TEST_CASE("disposition: the record keeps the delivered text body (for the console's detail page), "
          "bounded by vault_body_text_limit",
          "[disposition]") {
  Fixture f;
  const std::string raw = mailWith(eicar());
  MailItem m = f.item("20261206T230000-aaaaaa-0101");
  ProcessResult r = f.run(raw, m);
  CHECK(r.body_text == "see attached");
  REQUIRE_FALSE(f.disp->decide(m, raw, r, f.engine->policy()).has_value());
  auto rec = f.vault->get(m.id, nullptr);
  REQUIRE(rec);
  CHECK(rec->body_text == "see attached");  // the text part as delivered; no notice, no EICAR

  SECTION("an HTML body is kept as the text it was delivered as, markup gone") {
    const std::string html =
        "From: partner@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: html\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n<p>請求書を<b>ご確認</b>ください</p>"
        "<script>alert(1)</script>\r\n--b\r\nContent-Type: application/octet-stream; name=x.com\r\n"
        "Content-Disposition: attachment; filename=x.com\r\n\r\n" + eicar() + "\r\n--b--\r\n";
    MailItem h = f.item("20261206T230000-aaaaaa-0102");
    ProcessResult hr = f.run(html, h);
    CHECK(hr.body_text.find("請求書をご確認ください") != std::string::npos);
    CHECK(hr.body_text.find("<script>") == std::string::npos);
    CHECK(hr.body_text.find("alert") == std::string::npos);
  }
  SECTION("a blocked message keeps no body text (nothing of it was delivered)") {
    const std::string enc =
        "From: partner@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: enc\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
        "boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\n"
        "Content-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nabc\r\n"
        "-----END PGP MESSAGE-----\r\n--b--\r\n";
    MailItem e = f.item("20261206T230000-aaaaaa-0103");
    ProcessResult er = f.run(enc, e);
    REQUIRE(er.blocked());
    CHECK(er.body_text.empty());
  }
}

TEST_CASE("disposition: vault_body_text_limit cuts the kept body on a character boundary, 0 keeps none",
          "[disposition]") {
  test::TempDir tmp;
  std::string rules = test::readFile(test::sourceDir() / "rules" / "default.yaml");
  const std::size_t at = rules.find("limits:\n");
  REQUIRE(at != std::string::npos);
  std::string body;
  for (int i = 0; i < 40; ++i) body += "見積書";  // 3 bytes a character, 360 bytes
  const std::string raw =
      "From: partner@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: long\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n";
  for (const std::uint64_t limit : {std::uint64_t{100}, std::uint64_t{101}, std::uint64_t{0}, std::uint64_t{1000}}) {
    std::string text = rules;
    text.insert(at + 8, "  vault_body_text_limit: " + std::to_string(limit) + "\n");
    const fs::path p = tmp.path() / ("rules-" + std::to_string(limit) + ".yaml");
    std::ofstream(p) << text;
    std::vector<std::string> errors;
    auto engine = makeEngine(p.string(), errors);
    for (const auto& e : errors) INFO(e);
    REQUIRE(engine);
    ProcessResult r = engine->processMessage(raw, Envelope{"partner@example.com", {"staff@city.example.lg.jp"}}, "id-1");
    INFO("limit " << limit);
    REQUIRE_FALSE(r.blocked());
    CHECK(r.body_text.size() <= limit);
    if (limit == 0) {
      CHECK(r.body_text.empty());
    } else if (limit == 1000) {
      CHECK(r.body_text.find(body) == 0);
    } else {
      // Whole characters, then the mark.
      const std::string mark = "\n[…]";  // 6 bytes
      REQUIRE(r.body_text.size() >= limit - 2 - mark.size());
      CHECK(r.body_text.compare(r.body_text.size() - mark.size(), mark.size(), mark) == 0);
      const std::string kept = r.body_text.substr(0, r.body_text.size() - 6);
      CHECK(body.compare(0, kept.size(), kept) == 0);
      CHECK(kept.size() % 3 == 0);
    }
  }
}
