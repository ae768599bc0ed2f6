// Sender authentication against real peers (issue 14 §1, §2, §6): a real unbound on loopback
// serving the test's SPF, DMARC and DKIM key records; messages signed by dkimpy's dkimsign;
// libspf2, libopendkim and libopendmarc verifying; the engine writing and warning.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <thread>

#include "mugai/auth/auth.h"
#include "mugai/pipeline/pipeline.h"
#include "src/authclient/remote_authenticator.h"
#include "src/ipc/auth_wire.h"
#include "src/ipc/sandbox.h"
#include "src/pipeline/sender.h"
#include "support/dns_peer.h"
#include "support/mail_builder.h"
#include "support/proc_status.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

constexpr const char* kClientOk = "192.0.2.10";   // in sender.example's SPF
constexpr const char* kClientBad = "198.51.100.7";  // not

/// One resolver and one key for the whole suite (starting unbound and making a key take a
/// second each).
struct World {
  test::LocalDns dns;
  test::DkimKey key;
  bool ok = false;
  std::string why;
  World() {
    if (!dns.why().empty()) {
      why = dns.why();
      return;
    }
    key = test::makeDkimKey(dns.dir(), "sel1");
    if (!key.ok) {
      why = "openssl could not make a key";
      return;
    }
    dns.addTxt("sel1._domainkey.sender.example", "v=DKIM1; k=rsa; p=" + key.public_b64);
    dns.addTxt("sender.example", "v=spf1 ip4:192.0.2.10 -all");
    dns.addTxt("_dmarc.sender.example", "v=DMARC1; p=reject; adkim=r; aspf=r");
    dns.addTxt("bank.example", "v=spf1 ip4:203.0.113.5 -all");
    dns.addTxt("_dmarc.bank.example", "v=DMARC1; p=quarantine");
    dns.add("sender.example. 300 IN A 192.0.2.10");
    ok = dns.start();
    if (!ok) why = dns.why();
  }
};

World& world() {
  static World w;
  return w;
}

auth::Settings settings() {
  auth::Settings s;
  s.authserv_id = "mugai.test";
  s.trusted_authserv_ids = {"mx.front.test"};
  s.dns.nameserver = world().dns.nameserver();
  s.dns.timeout_s = 2;
  return s;
}

std::string message(const std::string& from, const std::string& extra_headers = "") {
  return extra_headers + "From: " + from +
         "\r\nTo: staff@city.nanto.lg.jp\r\nSubject: invoice\r\nDate: Sun, 6 Dec 2026 10:00:00 +0900\r\n"
         "Message-ID: <m1@sender.example>\r\nMIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease see the invoice.\r\n";
}

std::string signedMessage(const std::string& from = "Sender <info@sender.example>") {
  return test::dkimSign(message(from), "sel1", "sender.example", world().key, world().dns.dir());
}

#define NEED_WORLD()                     \
  if (!world().ok) {                     \
    WARN("skipped: " << world().why);    \
    return;                              \
  }

std::string headerBlock(const std::string& out) { return out.substr(0, out.find("\r\n\r\n")); }

/// What staff read: the decoded Subject line, then the text of the bodies (notice first).
std::string shown(const std::string& out) {
  Limits limits;
  Budget budget(limits);
  mime::ParseResult p = mime::parse(out, budget);
  const std::string* subject = p.root.header("Subject");
  return "Subject: " + (subject ? mime::decodeHeaderText(*subject) : std::string()) + "\n" + test::bodyText(p.root);
}

}  // namespace

TEST_CASE("auth: a message signed by dkimsign passes SPF, DKIM and DMARC through a real resolver", "[auth][peers]") {
  NEED_WORLD();
  std::string m = signedMessage();
  REQUIRE(m.find("DKIM-Signature:") != std::string::npos);
  auth::InProcessAuthenticator a(settings());
  SenderAuth r = a.check(m, {"info@sender.example", "mail.sender.example", kClientOk});
  INFO(r.results);
  CHECK(r.spf == "pass");
  CHECK(r.dkim == "pass");
  CHECK(r.dmarc == "pass");
  CHECK(r.dmarc_policy == "reject");
  CHECK(r.from_domain == "sender.example");
  CHECK(r.results.find("dkim=pass header.d=sender.example header.s=sel1") != std::string::npos);
  CHECK(r.results.find("spf=pass smtp.mailfrom=sender.example") != std::string::npos);

  SECTION("the lookups are cached: a second message asks nothing new") {
    auto misses = a.resolver().misses();
    SenderAuth again = a.check(m, {"info@sender.example", "mail.sender.example", kClientOk});
    CHECK(again.dkim == "pass");
    CHECK(a.resolver().misses() == misses);
    CHECK(a.resolver().hits() > 0);
  }
  SECTION("a body changed after signing fails DKIM; SPF alone still aligns") {
    std::string changed = m;
    changed.replace(changed.find("invoice."), 8, "INVOICE.");
    SenderAuth f = a.check(changed, {"info@sender.example", "mail.sender.example", kClientOk});
    CHECK(f.dkim == "fail");
    CHECK(f.dmarc == "pass");
    SenderAuth g = a.check(changed, {"info@sender.example", "mail.sender.example", kClientBad});
    CHECK(g.spf == "fail");
    CHECK(g.dmarc == "fail");
  }
  SECTION("the client address comes in XFORWARD's IPv6: form too") {
    SenderAuth v6 = a.check(m, {"info@sender.example", "mail.sender.example", "IPv6:2001:db8::1"});
    CHECK(v6.spf == "fail");  // -all: that address is not listed
    CHECK(v6.dkim == "pass");
  }
}

TEST_CASE("auth: a forged From fails DMARC (no signature, SPF from another host)", "[auth][peers]") {
  NEED_WORLD();
  auth::InProcessAuthenticator a(settings());
  SenderAuth r = a.check(message("Bank <support@bank.example>"), {"x@attacker.example", "attacker.example", kClientBad});
  INFO(r.results);
  CHECK(r.dkim == "none");
  CHECK(r.dmarc == "fail");
  CHECK(r.dmarc_policy == "quarantine");
  CHECK(r.from_domain == "bank.example");
  SECTION("a signature by another domain does not align") {
    std::string m = test::dkimSign(message("Bank <support@bank.example>"), "sel1", "sender.example", world().key,
                                   world().dns.dir());
    SenderAuth s = a.check(m, {"info@sender.example", "mail.sender.example", kClientOk});
    CHECK(s.dkim == "pass");
    CHECK(s.dmarc == "fail");
  }
  SECTION("two From addresses: permerror, never pass") {
    SenderAuth two = a.check(message("a@bank.example, b@sender.example"), {"", "x", kClientOk});
    CHECK(two.dmarc == "permerror");
  }
}

TEST_CASE("auth: DNS that does not answer gives temperror, quickly bounded, never an exception", "[auth][peers]") {
  NEED_WORLD();
  auth::Settings s = settings();
  s.dns.nameserver = "127.0.0.1:9";  // discard: nothing answers
  s.dns.timeout_s = 1;
  auth::InProcessAuthenticator a(s);
  SenderAuth r = a.check(signedMessage(), {"info@sender.example", "mail.sender.example", kClientOk});
  INFO(r.results);
  CHECK(r.spf == "temperror");
  CHECK(r.dkim == "temperror");
  CHECK(r.dmarc == "temperror");
  CHECK(a.resolver().hits() == 0);  // failures are not cached
}

TEST_CASE("auth: a resolver that never answers costs one check at most auth_time_limit_s of queries", "[auth][peers]") {
  NEED_WORLD();
  // A UDP socket that reads and never replies: every query waits its whole timeout.
  int hole = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(hole, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(hole, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  auth::Settings s = settings();
  s.dns.nameserver = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  s.dns.timeout_s = 1;
  s.dns.time_limit_s = 1;  // shorter than one query's two attempts (1 s + 2 s)
  auth::InProcessAuthenticator au(s);
  SenderAuth r = au.check(signedMessage(), {"info@sender.example", "mail.sender.example", kClientOk});
  ::close(hole);
  INFO(r.results);
  CHECK(r.spf == "temperror");
  CHECK(r.dkim == "temperror");
  CHECK(r.dmarc == "temperror");
  CHECK(au.resolver().sent() == 1);  // SPF's query timed out; DKIM's and DMARC's were never sent
  CHECK(au.resolver().misses() >= 3);
}

TEST_CASE("auth: twenty DKIM signatures: eight are verified, the rest never looked up", "[auth][peers]") {
  NEED_WORLD();
  std::string m = signedMessage();
  std::string forged;
  for (int i = 0; i < 20; ++i) {
    forged += "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=x" + std::to_string(i) +
              ".example; s=s; h=from; bh=AAAA; b=AAAA\r\n";
  }
  auth::InProcessAuthenticator au(settings());
  SenderAuth r = au.check(forged + m, {"info@sender.example", "mail.sender.example", kClientOk});
  INFO(r.results);
  std::size_t n = 0;
  for (std::size_t p = 0; (p = r.results.find("dkim=", p)) != std::string::npos; ++p) ++n;
  CHECK(n == 8);
  CHECK(au.resolver().sent() <= 8 + 3);  // eight keys at most, SPF, DMARC (and its org domain)
}

TEST_CASE("auth: the From domain DMARC judges", "[auth]") {
  CHECK(auth::fromDomain("From: A <a@Example.JP>\r\n\r\nx") == "example.jp");
  CHECK(auth::fromDomain("From: \"b@evil.example\" <a@good.example>\r\n\r\n") == "good.example");
  CHECK(auth::fromDomain("From: a@x.example (comment@y.example)\r\n\r\n") == "x.example");
  CHECK(auth::fromDomain("From: a@x.example\r\nFrom: b@y.example\r\n\r\n").empty());
  CHECK(auth::fromDomain("From: a@x.example, b@y.example\r\n\r\n").empty());
  CHECK(auth::fromDomain("Subject: none\r\n\r\nFrom: a@x.example\r\n").empty());
  CHECK(auth::fromDomain("From: <a@bad domain.example>\r\n\r\n") == "baddomain.example");
  CHECK(auth::fromDomain("From: <a@evil\".example>\r\n\r\n").empty());
}

// ---- the engine: what the delivered message carries ---------------------------------------

namespace {

const Engine& engineWithWarnings() {
  static std::unique_ptr<Engine> e = [] {
    std::string rules = test::readFile(test::sourceDir() / "rules" / "default.yaml") +
                        "\nsender_warnings:\n  own_domains: [city.nanto.lg.jp]\n"
                        "  protected_domains: [bank.example]\n  external_tag: \"[外部]\"\n";
    auto path = std::filesystem::temp_directory_path() / "mugai-auth-rules.yaml";
    std::ofstream(path) << rules;
    std::vector<std::string> errors;
    auto made = makeEngine(path.string(), errors);
    if (!made) FAIL("engine: " << (errors.empty() ? "?" : errors.front()));
    return made;
  }();
  return *e;
}

ProcessResult run(const std::string& raw, const SenderAuth& a, const std::string& sender = "info@sender.example") {
  Envelope env{sender, {"staff@city.nanto.lg.jp"}, "mail.sender.example", kClientOk, "mail.sender.example"};
  env.auth = a;
  return engineWithWarnings().processMessage(raw, env, "T1");
}

}  // namespace

TEST_CASE("auth: a correctly signed message keeps dkim=pass through rebuilding", "[auth][peers][engine]") {
  NEED_WORLD();
  auth::InProcessAuthenticator a(settings());
  // Forged results from the Internet: one claiming mugai's own id, one an unknown id; one from
  // the trusted front MTA.
  std::string m = signedMessage();
  std::string forged = "Authentication-Results: mugai.test; dkim=pass header.d=bank.example\r\n"
                       "Authentication-Results: (comment) Other.Example; dmarc=pass\r\n"
                       "Authentication-Results: mx.front.test; spf=pass smtp.mailfrom=sender.example\r\n";
  std::string raw = forged + m;
  SenderAuth sa = a.check(raw, {"info@sender.example", "mail.sender.example", kClientOk});
  REQUIRE(sa.dkim == "pass");  // headers above the signature are not signed: still passes
  ProcessResult r = run(raw, sa);
  REQUIRE(r.verdict < Verdict::TempFail);
  std::string head = headerBlock(r.output);
  INFO(head);
  // Ours first, then the trusted one; the forged ones gone.
  CHECK(head.rfind("Authentication-Results: mugai.test; spf=pass", 0) == 0);
  CHECK(head.find("dkim=pass header.d=sender.example") != std::string::npos);
  CHECK(head.find("dmarc=pass") != std::string::npos);
  CHECK(head.find("Authentication-Results: mx.front.test; spf=pass") != std::string::npos);
  CHECK(head.find("header.d=bank.example") == std::string::npos);
  CHECK(head.find("Other.Example") == std::string::npos);
  CHECK(head.find("DKIM-Signature") == std::string::npos);  // the rewritten message is not signed
  std::size_t removed = 0;
  for (const auto& act : r.report.actions) removed += act.action == "header_removed" && act.sanitizer == "auth";
  CHECK(removed == 2);
  // No warning for an authenticated sender from outside, but the tag for mail from outside.
  CHECK(shown(r.output).find("詐称") == std::string::npos);
  CHECK(shown(r.output).find("Subject: [外部] invoice") != std::string::npos);
}

TEST_CASE("auth: without authentication no incoming Authentication-Results survives", "[auth][engine]") {
  std::string raw = "Authentication-Results: mx.front.test; spf=pass\r\n" + message("a@sender.example");
  ProcessResult r = run(raw, SenderAuth{});
  CHECK(r.output.find("Authentication-Results") == std::string::npos);
}

TEST_CASE("auth: a forged From gets dmarc=fail and the warning in Japanese first", "[auth][peers][engine]") {
  NEED_WORLD();
  auth::InProcessAuthenticator a(settings());
  std::string raw = message("Bank <support@bank.example>");
  SenderAuth sa = a.check(raw, {"x@attacker.example", "attacker.example", kClientBad});
  ProcessResult r = run(raw, sa, "x@attacker.example");
  INFO(r.output);
  CHECK(r.verdict == Verdict::Pass);  // a finding, not a block (rules may make it one)
  CHECK(headerBlock(r.output).find("dmarc=fail (p=quarantine) header.from=bank.example") != std::string::npos);
  std::string text = shown(r.output);
  INFO(text);
  auto ja = text.find("送信元が詐称されている可能性があります");
  auto en = text.find("The sender of this message may be forged");
  REQUIRE(ja != std::string::npos);
  REQUIRE(en != std::string::npos);
  CHECK(ja < en);
  CHECK(text.find("「bank.example」") != std::string::npos);
  bool recorded = false;
  for (const auto& act : r.report.actions) recorded |= act.reason == "sender.dmarc_fail" && act.action == "warned";
  CHECK(recorded);
  CHECK(r.report.toJson().find("sender.dmarc_fail") != std::string::npos);
}

TEST_CASE("auth: rules can make a DMARC failure a quarantine", "[auth][engine]") {
  std::string rules = test::readFile(test::sourceDir() / "rules" / "default.yaml");
  REQUIRE(rules.find("\nactions:") != std::string::npos);
  rules.replace(rules.find("\nactions:"), 9, "\nactions:\n  sender.dmarc_fail: quarantine");
  auto path = std::filesystem::temp_directory_path() / "mugai-auth-rules-q.yaml";
  std::ofstream(path) << rules;
  std::vector<std::string> errors;
  auto e = makeEngine(path.string(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(e);
  SenderAuth sa;
  sa.checked = true;
  sa.authserv_id = "mugai.test";
  sa.results = "spf=fail smtp.mailfrom=bank.example; dkim=none; dmarc=fail (p=reject) header.from=bank.example";
  sa.dmarc = "fail";
  sa.from_domain = "bank.example";
  Envelope env{"x@attacker.example", {"staff@city.nanto.lg.jp"}, "", kClientBad, ""};
  env.auth = sa;
  ProcessResult r = e->processMessage(message("support@bank.example"), env, "T2");
  CHECK(r.verdict == Verdict::Quarantine);
  CHECK(r.report.reason == Reason::SenderDmarcFail);
}

// ---- lookalikes and display names (the rules' sender_warnings; no DNS) ---------------------


TEST_CASE("auth: lookalike From domains are flagged, the real ones and strangers are not", "[auth][lookalike]") {
  policy::SenderWarnings w;
  w.own_domains = {"city.nanto.lg.jp"};
  w.protected_domains = {"bank.example", "xn--cckwcxetd.example"};  // アマゾン.example
  w.max_distance = 1;
  struct Row {
    const char* from;
    const char* imitates;  // "" = not a lookalike
  };
  const Row rows[] = {
      {"city-nant0.lg.jp", "city.nanto.lg.jp"},            // '-' for '.', zero for o
      {"city.nant0.lg.jp", "city.nanto.lg.jp"},            // zero for o
      {"city.nanto.Ig.jp", "city.nanto.lg.jp"},            // capital I for l
      {"city.n\xD0\xB0nto.lg.jp", "city.nanto.lg.jp"},    // Cyrillic а (U+0430)
      {"city.xn--nnto-53d.lg.jp", "city.nanto.lg.jp"},     // the Cyrillic а in its xn-- form
      {"mail.city-nant0.lg.jp", "city.nanto.lg.jp"},       // a subdomain of the lookalike
      {"bank-example.com", ""},                             // distance 4: not flagged at 1
      {"barnk.example", "bank.example"},                    // one letter more
      {"rnail.bank.exampIe", "bank.example"},              // I for l, under a subdomain
      {"city.nanto.lg.jp", ""},                             // the real one
      {"soumu.city.nanto.lg.jp", ""},                       // its subdomain
      {"bank.example", ""},
      {"example.com", ""},
      {"town.toyama.lg.jp", ""},
  };
  for (const auto& row : rows) {
    INFO(row.from);
    CHECK(pipeline::lookalikeOf(row.from, w) == row.imitates);
  }
  w.max_distance = 0;  // only characters that look the same
  CHECK(pipeline::lookalikeOf("city.n\xD0\xB0nto.lg.jp", w) == "city.nanto.lg.jp");
  CHECK(pipeline::lookalikeOf("city.nant0.lg.jp", w) == "city.nanto.lg.jp");
  CHECK(pipeline::lookalikeOf("city-nanto.lg.jp", w).empty());
}

TEST_CASE("auth: lookalike and display-name warnings reach the notice and the report", "[auth][engine]") {
  SenderAuth none;  // no authentication: the rules' warnings still apply
  SECTION("lookalike of the municipality's own domain") {
    ProcessResult r = run(message("総務課 <soumu@city-nant0.lg.jp>"), none, "soumu@city-nant0.lg.jp");
    std::string text = shown(r.output);
    INFO(text);
    CHECK(text.find("送信元が詐称されている可能性があります") != std::string::npos);
    CHECK(text.find("「city-nant0.lg.jp」は「city.nanto.lg.jp」に似ていますが") != std::string::npos);
    bool found = false;
    for (const auto& a : r.report.actions) found |= a.reason == "sender.lookalike";
    CHECK(found);
    CHECK(shown(r.output).find("Subject: [外部] invoice") != std::string::npos);
  }
  SECTION("Cyrillic а, encoded as the sender would") {
    ProcessResult r = run(message("=?UTF-8?B?" + mime::encodeBase64("Bank") + "?= <info@b\xD0\xB0nk.example>"), none);
    std::string text = shown(r.output);
    INFO(text);
    CHECK(text.find("詐称") != std::string::npos);
    CHECK(text.find("xn--bnk-6cd.example") != std::string::npos);  // both forms shown
  }
  SECTION("display name carrying another address") {
    ProcessResult r = run(message("\"support@bank.example\" <x@attacker.example>"), none, "x@attacker.example");
    std::string text = shown(r.output);
    INFO(text);
    CHECK(text.find("「support@bank.example」と書かれていますが、実際の差出人は「x@attacker.example」") != std::string::npos);
    bool found = false;
    for (const auto& a : r.report.actions) found |= a.reason == "sender.display_name_address";
    CHECK(found);
  }
  SECTION("the same address in the display name is no warning; own domain gets no tag") {
    ProcessResult r = run(message("\"soumu@city.nanto.lg.jp\" <soumu@city.nanto.lg.jp>"), none, "soumu@city.nanto.lg.jp");
    CHECK(shown(r.output).find("詐称") == std::string::npos);
    CHECK(r.output.find("[外部]") == std::string::npos);
  }
}

// ---- the authentication process mugai-auth (the remote Authenticator serve uses) -----------

namespace {

bool sameResult(const SenderAuth& a, const SenderAuth& b) {
  return a.checked == b.checked && a.spf == b.spf && a.dkim == b.dkim && a.dmarc == b.dmarc &&
         a.dmarc_policy == b.dmarc_policy && a.from_domain == b.from_domain && a.results == b.results &&
         a.authserv_id == b.authserv_id && a.trusted_authserv_ids == b.trusted_authserv_ids;
}

/// Sends `sig` to the running mugai-auth; a signed message is then answered, by a new process.
void answeredByANewOneAfter(const auth::Authenticator& remote, int sig) {
  int first = authclient::authenticatorPid(remote);
  REQUIRE(first > 0);
  REQUIRE(::kill(first, sig) == 0);
  if (sig == SIGKILL) usleep(50 * 1000);
  SenderAuth r = remote.check(signedMessage(), {"info@sender.example", "mail.sender.example", kClientOk});
  INFO(r.results);
  CHECK(r.dkim == "pass");
  CHECK(r.dmarc == "pass");
  int second = authclient::authenticatorPid(remote);
  CHECK(second > 0);
  CHECK(second != first);
}

}  // namespace

TEST_CASE("auth: mugai-auth, sandboxed with DNS only, gives what the in-process check gives", "[auth][peers][remote]") {
  NEED_WORLD();
  std::string err;
  auto remote = authclient::makeRemoteAuthenticator(settings(), &err, MUGAI_AUTH_BINARY);
  INFO(err);
  REQUIRE(remote);
  int pid = authclient::authenticatorPid(*remote);
  REQUIRE(pid > 0);
  CHECK(test::statusField(pid, "Seccomp") == "2");
  CHECK(test::statusField(pid, "NoNewPrivs") == "1");
  auth::InProcessAuthenticator local(settings());
  struct Case {
    std::string raw;
    auth::Peer peer;
  };
  std::vector<Case> cases = {
      {signedMessage(), {"info@sender.example", "mail.sender.example", kClientOk}},
      {message("Bank <support@bank.example>"), {"x@attacker.example", "attacker.example", kClientBad}},
      {message("a@bank.example, b@sender.example"), {"", "x", kClientOk}},
      {signedMessage(), {"info@sender.example", "mail.sender.example", "127.0.0.1"}},  // no XFORWARD
      {"", {"", "", ""}},                                                               // nothing at all
  };
  for (const auto& c : cases) {
    SenderAuth want = local.check(c.raw, c.peer);
    SenderAuth got = remote->check(c.raw, c.peer);
    INFO(want.results << "\n" << got.results);
    CHECK(sameResult(want, got));
  }
  SenderAuth signed_result = remote->check(signedMessage(), cases[0].peer);
  CHECK(signed_result.dkim == "pass");  // the sandbox let DNS through: the key was fetched
  CHECK(signed_result.dmarc == "pass");
  SECTION("concurrent checks each get a channel into the one process") {
    std::vector<std::thread> threads;
    std::atomic<int> passed{0};
    std::string m = signedMessage();
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int j = 0; j < 5; ++j) passed += remote->check(m, cases[0].peer).dmarc == "pass";
      });
    }
    for (auto& t : threads) t.join();
    CHECK(passed == 20);
    CHECK(authclient::authenticatorPid(*remote) == pid);
  }
}

TEST_CASE("auth: kill -9 of mugai-auth: a new one is started and the check answered by it", "[auth][peers][remote]") {
  NEED_WORLD();
  std::string err;
  auto remote = authclient::makeRemoteAuthenticator(settings(), &err, MUGAI_AUTH_BINARY);
  REQUIRE(remote);
  for (int round = 0; round < 3; ++round) answeredByANewOneAfter(*remote, SIGKILL);  // idle, then twice more
}

TEST_CASE("auth: a mugai-auth that stops answering is replaced after its reply time and the check answered by the new one",
          "[auth][peers][remote]") {
  NEED_WORLD();
  auth::Settings s = settings();
  s.dns.timeout_s = 1;
  s.dns.time_limit_s = 1;  // reply time 1 + 3 x 1 + 5 = 9 s
  REQUIRE(authclient::replyTimeoutMs(s) == 9000);
  std::string err;
  auto remote = authclient::makeRemoteAuthenticator(s, &err, MUGAI_AUTH_BINARY);
  REQUIRE(remote);
  answeredByANewOneAfter(*remote, SIGSTOP);  // alive, silent (our own child; killed when replaced)
}

TEST_CASE("auth: when mugai-auth cannot come back the check is temperror, nothing claims a pass, and the mail goes on",
          "[auth][peers][remote][engine]") {
  NEED_WORLD();
  // A start script: mugai-auth the first time, a program that exits at once every later time.
  test::TempDir tmp;
  auto script = tmp.path() / "auth.sh";
  test::writeFile(script, "#!/bin/sh\nif [ -e '" + (tmp.path() / "started").string() + "' ]; then exit 1; fi\n: > '" +
                              (tmp.path() / "started").string() + "'\nexec '" MUGAI_AUTH_BINARY "'\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  std::string err;
  auto remote = authclient::makeRemoteAuthenticator(settings(), &err, script.string());
  INFO(err);
  REQUIRE(remote);
  auth::Peer peer{"soumu@city.nanto.lg.jp", "mail.city.nanto.lg.jp", kClientOk};
  // The municipality's own domain: with authentication not done it must not count as inside.
  std::string raw = message("Soumu <soumu@city.nanto.lg.jp>",
                            "Authentication-Results: mugai.test; dmarc=pass header.from=city.nanto.lg.jp\r\n");
  REQUIRE(remote->check(raw, peer).dmarc == "none");  // answered: no DMARC record there
  int pid = authclient::authenticatorPid(*remote);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  usleep(50 * 1000);
  SenderAuth sa = remote->check(raw, peer);
  INFO(sa.results);
  CHECK(sa.checked);
  CHECK(sa.spf == "temperror");
  CHECK(sa.dkim == "temperror");
  CHECK(sa.dmarc == "temperror");
  CHECK(sa.authserv_id == "mugai.test");
  CHECK(sa.results.find("authentication not done") != std::string::npos);
  CHECK(sa.results.find("pass") == std::string::npos);
  ProcessResult r = run(raw, sa, "soumu@city.nanto.lg.jp");
  CHECK(r.verdict == Verdict::Pass);  // delivered (sanitized), never held for this
  std::string head = headerBlock(r.output);
  INFO(head);
  CHECK(head.rfind("Authentication-Results: mugai.test; spf=temperror (authentication not done", 0) == 0);
  CHECK(head.find("dmarc=temperror") != std::string::npos);
  CHECK(head.find("dmarc=pass") == std::string::npos);  // the forged one is gone
  CHECK(shown(r.output).find("Subject: [外部] invoice") != std::string::npos);
  SECTION("the same result without the script: no process at all") {
    SenderAuth nd = authclient::notDone(settings(), "x (y)\r\nz");
    CHECK(nd.results == "spf=temperror (authentication not done: x yz); dkim=temperror; dmarc=temperror");
  }
}

TEST_CASE("auth: replies from mugai-auth are decoded as hostile", "[auth][remote]") {
  SenderAuth good;
  good.spf = "pass";
  good.dkim = "fail";
  good.dmarc = "fail";
  good.dmarc_policy = "reject";
  good.from_domain = "bank.example";
  good.results = "spf=pass smtp.mailfrom=x.example; dkim=fail; dmarc=fail (p=reject) header.from=bank.example";
  SenderAuth out;
  REQUIRE(ipc::decodeAuthReply(ipc::encodeAuthReply(good), out));
  CHECK(out.results == good.results);
  CHECK(out.dmarc_policy == "reject");
  CHECK_FALSE(out.checked);  // the client sets checked and the authserv-ids itself
  struct Bad {
    const char* what;
    void (*spoil)(SenderAuth&);
  };
  const Bad bad[] = {
      {"CRLF in the results", [](SenderAuth& a) { a.results += "\r\nX-Injected: 1"; }},
      {"a NUL in the results", [](SenderAuth& a) { a.results += std::string(1, '\0'); }},
      {"non-ASCII in the results", [](SenderAuth& a) { a.results += "\xE3\x81\x82"; }},
      {"empty results", [](SenderAuth& a) { a.results.clear(); }},
      {"results too long", [](SenderAuth& a) { a.results.assign(ipc::kMaxAuthResults + 1, 'a'); }},
      {"an unknown spf word", [](SenderAuth& a) { a.spf = "ok"; }},
      {"an upper-case dkim word", [](SenderAuth& a) { a.dkim = "PASS"; }},
      {"an empty dmarc word", [](SenderAuth& a) { a.dmarc.clear(); }},
      {"an unknown policy", [](SenderAuth& a) { a.dmarc_policy = "discard"; }},
      {"a domain with a space", [](SenderAuth& a) { a.from_domain = "bank.example x"; }},
      {"an upper-case domain", [](SenderAuth& a) { a.from_domain = "Bank.example"; }},
      {"a domain too long", [](SenderAuth& a) { a.from_domain.assign(254, 'a'); }},
  };
  for (const auto& b : bad) {
    SenderAuth spoiled = good;
    b.spoil(spoiled);
    SenderAuth o;
    o.spf = "untouched";
    INFO(b.what);
    CHECK_FALSE(ipc::decodeAuthReply(ipc::encodeAuthReply(spoiled), o));
    CHECK(o.spf == "untouched");
  }
  std::string enc = ipc::encodeAuthReply(good);
  SenderAuth o;
  CHECK_FALSE(ipc::decodeAuthReply(enc + "x", o));                   // trailing bytes
  CHECK_FALSE(ipc::decodeAuthReply(enc.substr(0, enc.size() - 1), o));  // cut short
  CHECK_FALSE(ipc::decodeAuthReply("", o));
}

TEST_CASE("auth: the sandbox of mugai-auth allows internet sockets as a client, nothing else new", "[auth][remote]") {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ipc::SandboxOptions o;
    o.namespaces = false;
    o.allow_inet_client = true;
    std::string why, note;
    if (!ipc::enterSandbox(o, &why, &note)) _exit(100);
    int bits = 0;
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    int t = ::socket(AF_INET6, SOCK_STREAM, 0);
    if (u >= 0 && t >= 0) bits |= 1;  // DNS over UDP and TCP
    if (::socket(AF_UNIX, SOCK_STREAM, 0) < 0 && errno == EPERM) bits |= 2;
    if (::socket(AF_NETLINK, SOCK_RAW, 0) < 0 && errno == EPERM) bits |= 4;
    if (::open("/etc/hostname", O_RDONLY) < 0 && ::openat(AT_FDCWD, "/etc/hostname", O_RDONLY) < 0) bits |= 8;
    sockaddr_in any{};
    any.sin_family = AF_INET;
    if (::bind(u, reinterpret_cast<sockaddr*>(&any), sizeof any) < 0 && ::listen(t, 1) < 0) bits |= 16;
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, nullptr);
    bits |= 32;  // still here: exec refused
    if (::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) < 0) bits |= 64;  // no fork
    _exit(bits);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 127);
}
