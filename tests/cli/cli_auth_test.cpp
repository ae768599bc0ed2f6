// `mugai mail --authenticate` as a user runs it (issue 14): a real unbound on loopback, a message
// signed by dkimsign, the result in the output's Authentication-Results.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>

#include "support/dns_peer.h"
#include "support/test_support.h"

namespace {

std::pair<int, std::string> mugaiMail(const std::string& args) {
  std::string cmd = std::string(MUGAI_BINARY) + " mail " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("cli: mail --authenticate writes SPF, DKIM and DMARC results", "[integration][auth]") {
  mugai::test::LocalDns dns;
  if (!dns.why().empty()) {
    WARN(dns.why());
    return;
  }
  auto key = mugai::test::makeDkimKey(dns.dir(), "k");
  REQUIRE(key.ok);
  dns.addTxt("cli._domainkey.sender.example", "v=DKIM1; k=rsa; p=" + key.public_b64);
  dns.addTxt("sender.example", "v=spf1 ip4:192.0.2.10 -all");
  dns.addTxt("_dmarc.sender.example", "v=DMARC1; p=reject");
  REQUIRE(dns.start());
  mugai::test::TempDir tmp;
  std::string signed_mail = mugai::test::dkimSign(
      "From: Sender <info@sender.example>\r\nTo: staff@city.example.lg.jp\r\nSubject: cli\r\n"
      "Message-ID: <cli@sender.example>\r\n\r\nHello.\r\n",
      "cli", "sender.example", key, dns.dir());
  REQUIRE(!signed_mail.empty());
  mugai::test::writeFile(tmp.path() / "in.eml", signed_mail);
  std::string common = "'" + (tmp.path() / "in.eml").string() + "' -o '" + (tmp.path() / "out.eml").string() +
                       "' --sender info@sender.example --helo mail.sender.example --authserv-id mugai.cli"
                       " --dns-nameserver " + dns.nameserver() + " --authenticate";
  auto [status, out] = mugaiMail(common + " --client-ip 192.0.2.10");
  INFO(out);
  REQUIRE(status == 0);
  std::string got = mugai::test::readFile(tmp.path() / "out.eml");
  INFO(got);
  CHECK(got.rfind("Authentication-Results: mugai.cli; spf=pass smtp.mailfrom=sender.example;", 0) == 0);
  CHECK(got.find("dkim=pass header.d=sender.example header.s=cli") != std::string::npos);
  CHECK(got.find("dmarc=pass") != std::string::npos);
  // Another client address: SPF fails, DKIM still aligns, DMARC passes on it.
  auto [status2, out2] = mugaiMail(common + " --client-ip 198.51.100.7");
  REQUIRE(status2 == 0);
  std::string got2 = mugai::test::readFile(tmp.path() / "out.eml");
  CHECK(got2.find("spf=fail") != std::string::npos);
  CHECK(got2.find("dmarc=pass") != std::string::npos);
  // Without --authenticate nothing is claimed.
  auto [status3, out3] = mugaiMail("'" + (tmp.path() / "in.eml").string() + "' -o '" +
                                   (tmp.path() / "out.eml").string() + "'");
  REQUIRE(status3 == 0);
  CHECK(mugai::test::readFile(tmp.path() / "out.eml").find("Authentication-Results") == std::string::npos);
}
