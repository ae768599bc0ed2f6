// Sender authentication through `mugai serve` (issue 14 §6): a real unbound on loopback holds
// sender.example's SPF record; the front MTA's XFORWARD names the client, and SPF must judge
// that address, not the front MTA's own 127.0.0.1. smtp-sink is the next hop.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "integration/peers.h"
#include "support/dns_peer.h"
#include "support/proc_status.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace mugai::test;

namespace {

std::string transaction(const std::string& xforward_addr, const std::string& subject,
                        const std::string& from = "Sender <info@sender.example>") {
  std::string s = "EHLO front.test\r\n";
  if (!xforward_addr.empty()) s += "XFORWARD ADDR=" + xforward_addr + " NAME=mail.sender.example HELO=mail.sender.example\r\n";
  return s + "MAIL FROM:<info@sender.example>\r\nRCPT TO:<staff@city.nanto.lg.jp>\r\nDATA\r\n"
             "Authentication-Results: mugai.test; spf=pass smtp.mailfrom=bank.example\r\n"
             "From: " + from + "\r\nTo: staff@city.nanto.lg.jp\r\nSubject: " + subject +
             "\r\nMessage-ID: <" + subject + "@sender.example>\r\n\r\nHello.\r\n.\r\nQUIT\r\n";
}

/// The children of `pid` whose command line names `program`.
std::vector<pid_t> childrenNamed(pid_t pid, const std::string& program) {
  std::vector<pid_t> out;
  for (pid_t c : childrenOf(pid))
    if (cmdline(c).find(program) != std::string::npos) out.push_back(c);
  return out;
}

}  // namespace

TEST_CASE("serve: SPF judges the XFORWARD client address and forged results are replaced", "[integration][auth]") {
  if (anyMissing({kSink})) return;
  LocalDns dns;
  if (!dns.why().empty()) {
    WARN(dns.why());
    return;
  }
  dns.addTxt("sender.example", "v=spf1 ip4:192.0.2.10 -all");
  dns.addTxt("_dmarc.sender.example", "v=DMARC1; p=none");
  REQUIRE(dns.start());

  TempDir tmp;
  fs::path dump = tmp.path() / "dump", log = tmp.path() / "mugai.log";
  fs::create_directories(dump);
  chmod(tmp.path().c_str(), 0755);
  chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
  std::uint16_t port = freePort(), sink_port = freePort();
  auto sink = startSmtpSink(dump, sink_port, tmp.path() / "sink.log");
  REQUIRE(sink);
  // The security team's rules: the municipality's own domain, for the lookalike check that runs
  // inside the sandboxed worker (ICU's confusable data under seccomp).
  writeFile(tmp.path() / "rules.yaml", readFile(sourceDir() / "rules" / "default.yaml") +
                                           "\nsender_warnings:\n  own_domains: [city.nanto.lg.jp]\n");
  writeFile(tmp.path() / "mugai.conf",
            "listen = 127.0.0.1:" + std::to_string(port) + "\nnext_hop = 127.0.0.1:" + std::to_string(sink_port) +
                "\nquarantine_dir = " + (tmp.path() / "q").string() +
                "\nrules = " + (tmp.path() / "rules.yaml").string() + "\nauthentication = yes\nauthserv_id = mugai.test\ntrusted_authserv_ids = mx.front.test\n"
                "dns_nameserver = " + dns.nameserver() + "\n");  // sandboxed workers: the result crosses the wire
  // mugai-auth through a start script: the real one, until the test forbids it (a mugai-auth that
  // cannot come back).
  fs::path refuse = tmp.path() / "refuse", script = tmp.path() / "mugai-auth.sh";
  writeFile(script, "#!/bin/sh\nif [ -e '" + refuse.string() + "' ]; then exit 1; fi\nexec '" +
                        (fs::path(MUGAI_BINARY).parent_path() / "mugai-auth").string() + "' \"$@\"\n");
  chmod(script.c_str(), 0755);
  setenv("MUGAI_AUTH_PROGRAM", script.c_str(), 1);
  Child mugai({MUGAI_BINARY, "serve", "--config", (tmp.path() / "mugai.conf").string()}, log);
  unsetenv("MUGAI_AUTH_PROGRAM");
  if (!waitForServe(port, log, std::chrono::seconds(60))) FAIL("mugai did not start:\n" << readFile(log));
  // The check runs in mugai-auth, the one child of serve of that name.
  REQUIRE(childrenNamed(mugai.pid(), "mugai-auth").size() == 1);

  auto deliver = [&](const std::string& xforward, const std::string& subject) {
    std::size_t before = filesIn(dump).size();
    std::string reply = rawSmtp(port, transaction(xforward, subject), "221");
    INFO(reply);
    REQUIRE(reply.find("250 2.0.0 Ok: queued as") != std::string::npos);
    (void)before;
    // smtp-sink appends messages of the same second to one file: cut this message's headers out
    // (from the Received: smtp-sink put on top of it to its Subject).
    for (const auto& f : filesIn(dump)) {
      std::string got = readFile(f);
      auto subj = got.find("Subject: " + subject + "\n");
      if (subj == std::string::npos) continue;
      auto start = got.rfind("by smtp-sink", subj);
      return got.substr(start == std::string::npos ? 0 : start, subj - (start == std::string::npos ? 0 : start));
    }
    FAIL("no delivered message with Subject " << subject);
    return std::string();
  };

  std::string listed = deliver("192.0.2.10", "listed");
  INFO(listed);
  CHECK(listed.find("Authentication-Results: mugai.test; spf=pass smtp.mailfrom=sender.example") != std::string::npos);
  CHECK(listed.find("bank.example") == std::string::npos);  // the forged result is gone
  std::string other = deliver("198.51.100.7", "unlisted");
  CHECK(other.find("Authentication-Results: mugai.test; spf=fail") != std::string::npos);
  // Without XFORWARD the client is the front MTA itself (127.0.0.1): SPF cannot be judged (and
  // must not pass as libspf2's "localhost is always allowed" would have it).
  std::string direct = deliver("", "direct");
  INFO(direct);
  CHECK(direct.find("Authentication-Results: mugai.test; spf=none (client unknown") != std::string::npos);
  std::string reply = rawSmtp(port, transaction("192.0.2.10", "lookalike", "Soumu <soumu@city-nant0.lg.jp>"), "221");
  CHECK(reply.find("250 2.0.0 Ok: queued as") != std::string::npos);
  std::string text = readFile(log);
  CHECK(text.find("sender_warnings=sender.lookalike") != std::string::npos);
  CHECK(text.find("authentication on as mugai.test") != std::string::npos);
  CHECK(text.find("auth=spf:pass,dkim:none,dmarc:pass") != std::string::npos);
  CHECK(text.find("auth=spf:fail,dkim:none,dmarc:fail") != std::string::npos);

  // kill -9 of mugai-auth: the next message is checked by a new one, as before.
  auto killAuth = [&] {
    auto pids = childrenNamed(mugai.pid(), "mugai-auth");
    REQUIRE(pids.size() == 1);
    REQUIRE(::kill(pids[0], SIGKILL) == 0);
    usleep(100 * 1000);
    return pids[0];
  };
  pid_t killed = killAuth();
  std::string after = deliver("192.0.2.10", "afterkill");
  INFO(after);
  CHECK(after.find("Authentication-Results: mugai.test; spf=pass smtp.mailfrom=sender.example") != std::string::npos);
  auto now = childrenNamed(mugai.pid(), "mugai-auth");
  CHECK((now.size() == 1 && now[0] != killed));
  CHECK(readFile(log).find("the authentication process was restarted") != std::string::npos);

  // Killed and unable to come back: the mail still goes through (250), with authentication not
  // done (temperror), and nothing in it says pass; the forged result is still removed.
  writeFile(refuse, "");
  killAuth();
  std::string undone = deliver("192.0.2.10", "notdone");
  std::erase(undone, '\r');
  for (std::size_t at; (at = undone.find("\n ")) != std::string::npos;) undone.replace(at, 2, " ");  // unfolded
  INFO(undone);
  CHECK(undone.find("Authentication-Results: mugai.test; spf=temperror (authentication not done: mugai-auth not "
                    "available); dkim=temperror; dmarc=temperror") != std::string::npos);
  CHECK(undone.find("=pass") == std::string::npos);
  CHECK(undone.find("bank.example") == std::string::npos);
  text = readFile(log);
  CHECK(text.find("auth=spf:temperror,dkim:temperror,dmarc:temperror") != std::string::npos);
  CHECK(text.find("sender authentication not done") != std::string::npos);
  // And when it may start again, the next message is authenticated again.
  fs::remove(refuse);
  std::string back = deliver("192.0.2.10", "back");
  CHECK(back.find("Authentication-Results: mugai.test; spf=pass smtp.mailfrom=sender.example") != std::string::npos);
}
