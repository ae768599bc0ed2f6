// Regression tests for the findings of the first hostile review (2026-11-23). Each input is one a
// sender controls; each assertion is what must never happen again.
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

ProcessResult run(const std::string& raw) {
  return test::shippedEngine().processMessage(raw, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "RV");
}

std::string withAttachment(const std::string& header_params, const std::string& data,
                           const std::string& type = "application/octet-stream") {
  return "From: a@example.com\r\nSubject: r\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: " + type +
         "\r\nContent-Disposition: attachment; " + header_params +
         "\r\nContent-Transfer-Encoding: base64\r\n\r\n" + mime::encodeBase64(data) + "\r\n--b--\r\n";
}

mime::Entity reparse(const std::string& out) {
  Limits l;
  Budget b(l);
  auto p = mime::parse(out, b);
  REQUIRE_FALSE(p.failure);
  return p.root;
}

}  // namespace

TEST_CASE("review 1: markup named .html/.svg/.mht is never kept as plain text", "[adversarial]") {
  for (const char* name : {"report.html", "x.htm", "a.svg", "page.mht", "p.xhtml"}) {
    auto r = run(withAttachment(std::string("filename=\"") + name + "\"", "Hello\n<img src=x onerror=alert(1)>\n"));
    INFO(name << "\n" << r.report.toJson());
    REQUIRE(r.output.find("onerror") == std::string::npos);
    REQUIRE(r.output.find(mime::encodeBase64("Hello\n<img")) == std::string::npos);
  }
}

TEST_CASE("review 2: invisible characters cannot hide a denied extension", "[adversarial]") {
  for (const char* enc : {"run.vbs%E2%80%8B", "run.js%EF%BB%BF", "run.vbs%00", "run.vbs%C2%85", "run.vbs."}) {
    auto r = run(withAttachment(std::string("filename*=UTF-8''") + enc, "Set s=CreateObject(\"WScript.Shell\")\n"));
    INFO(enc << "\n" << r.report.toJson());
    bool denied = false;
    for (const auto& a : r.report.actions) denied |= a.reason == "extension.denied";
    REQUIRE(denied);
    REQUIRE(r.output.find("WScript") == std::string::npos);
  }
}

TEST_CASE("review 3: attached messages get a safe name ending in .eml", "[adversarial]") {
  for (const char* name : {"../../run.bat", "report.html", "a\xe2\x80\xaelmth.eml"}) {
    std::string raw = "From: a@example.com\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfwd\r\n"
                      "--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"" +
                      std::string(name) + "\"\r\n\r\nSubject: inner\r\n\r\n<script>alert(1)</script>\r\n--b--\r\n";
    auto r = run(raw);
    auto root = reparse(r.output);
    test::forEachEntity(root, [&](const mime::Entity& e) {
      if (!e.isMessage()) return;
      INFO(e.filename);
      REQUIRE(e.filename.size() > 4);
      REQUIRE(e.filename.substr(e.filename.size() - 4) == ".eml");
      REQUIRE(e.filename.find('/') == std::string::npos);
      REQUIRE(e.filename.find("\xe2\x80\xae") == std::string::npos);
    });
  }
}

TEST_CASE("review 4/13: header lines stay under 998 octets and nesting cannot multiply output", "[adversarial]") {
  auto r = run("From: a@example.com\r\nTo: <" + std::string(1500, 'a') + "@example.com>\r\nSubject: a" +
               std::string(5000, ' ') + "b\r\n\r\nbody\r\n");
  std::size_t col = 0, longest = 0;
  for (char c : r.output) {
    col = c == '\n' ? 0 : col + 1;
    longest = std::max(longest, col);
  }
  REQUIRE(longest <= 998);
  std::string m = "Subject: x\r\n\r\n" + std::string(200000, 'x') + "\r\n";
  for (int i = 0; i < 12; ++i) {
    m = "To: <" + std::string(1500, 'a') + "@example.com>\r\nSubject: l\r\nMIME-Version: 1.0\r\n"
        "Content-Type: message/rfc822\r\n\r\n" + m;
  }
  auto nested = run(m);
  REQUIRE(nested.output.size() < 8 * m.size());
}

TEST_CASE("review 6: an encoded display name cannot add an address", "[adversarial]") {
  auto r = run("From: =?utf-8?q?soumu=40city=2Eexample=2Elg=2Ejp_=3Csoumu=40city=2Eexample=2Elg=2Ejp=3E=2C?= "
               "<attacker@evil.example>\r\nSubject: x\r\n\r\nbody\r\n");
  mime::Entity root = reparse(r.output);
  const std::string* from = root.header("From");
  REQUIRE(from);
  // One mailbox: the only angle-addr is the attacker's real address; the rest is a quoted name.
  std::string v = *from;
  REQUIRE(v.find("<attacker@evil.example>") != std::string::npos);
  REQUIRE(v.find('"') != std::string::npos);
  INFO(v);
  bool soumu_only_quoted = v.find("<soumu") == std::string::npos || v.find('"') < v.find("<soumu");
  REQUIRE(soumu_only_quoted);
  std::size_t angles = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\') { ++i; continue; }
    if (v[i] == '"') quoted = !quoted;
    if (!quoted && v[i] == '<') ++angles;
  }
  REQUIRE(angles == 1);
}

TEST_CASE("review 7: bodies are scanned again after conversion, and the delivered headers too", "[adversarial]") {
  std::string eicar = test::readFile(test::generatedDir() / "eicar.com");
  std::string utf16;
  for (char c : eicar) {
    utf16 += c;
    utf16 += '\0';
  }
  auto r1 = run("From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-16le\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n" + mime::encodeBase64(utf16) + "\r\n");
  REQUIRE(r1.output.find("EICAR") == std::string::npos);
  REQUIRE_FALSE(r1.report.detections.empty());
  auto r2 = run("From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<html><body>" +
                eicar + "</body></html>\r\n");
  REQUIRE(r2.output.find("EICAR") == std::string::npos);
  auto r3 = run("From: a@example.com\r\nSubject: " + eicar + "\r\n\r\nbody\r\n");
  INFO(r3.report.toJson());
  REQUIRE(r3.output.find("EICAR") == std::string::npos);
  REQUIRE(r3.blocked());
}

TEST_CASE("converted markup is always delivered under a .txt name", "[adversarial]") {
  // libmagic calls this tiny page text/plain; the name still must not stay .html, because the
  // converted text may contain "<script>" as words (from &lt;script&gt;).
  auto f = test::shippedEngine().processFile("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "a.html", "N1");
  INFO(f.report.toJson());
  REQUIRE_FALSE(f.blocked());
  REQUIRE(f.output_filename == "a.html.txt");
  auto m = run(withAttachment("filename=\"page.htm\"", "<p>x</p>"));
  auto root = reparse(m.output);
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (!e.filename.empty()) REQUIRE(e.filename == "page.htm.txt");
  });
}

TEST_CASE("red team: a file that starts like RTF but not as libmagic expects is not kept as text",
          "[adversarial]") {
  // Word opens "{\rt..." as RTF; libmagic calls it text/plain. It must reach the RTF rules.
  std::string rtfish = "{\\rtvpn1\\ansi hi {\\object\\objemb{\\*\\objclass Package}{\\*\\objdata 0105000002}}}";
  auto r = test::shippedEngine().processFile(rtfish, "invoice.doc", "RT1");
  INFO(r.report.toJson());
  REQUIRE(r.output.find("objdata") == std::string::npos);
  REQUIRE(r.report.toJson().find("text/rtf (starts like RTF)") != std::string::npos);
}
