// Hostile messages, generated here (never committed), through the whole engine. One case per
// limit, each asserting the named Reason and a fail-closed verdict; plus malformed input that must
// degrade safely. Every output must be CRLF-only, 7-bit, and re-parse cleanly.
#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

std::unique_ptr<Engine> engineWith(const std::string& limits_yaml) {
  std::string rules = test::readFile(test::sourceDir() / "rules" / "default.yaml");
  std::string sig = (test::sourceDir() / "rules" / "signatures").string();
  auto pos = rules.find("signatures: [signatures]");
  REQUIRE(pos != std::string::npos);
  rules.replace(pos, 24, "signatures: ['" + sig + "']");
  // Each "  key: value" line replaces the shipped line for that key, or is added to limits:.
  std::istringstream lines(limits_yaml);
  for (std::string line; std::getline(lines, line);) {
    std::string key = line.substr(0, line.find(':') + 1);
    auto at = rules.find("\n" + key);
    if (at != std::string::npos) {
      rules.replace(at + 1, rules.find('\n', at + 1) - at - 1, line);
    } else {
      rules.insert(rules.find("limits:\n") + 8, line + "\n");
    }
  }
  test::TempDir dir;
  auto path = dir.path() / "rules.yaml";
  test::writeFile(path, rules);
  std::vector<std::string> errors;
  auto e = makeEngine(path.string(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(e);
  return e;
}

const Engine& defaults() {
  static std::unique_ptr<Engine> e = engineWith("");
  return *e;
}

/// Properties of anything mugai delivers.
void checkWire(const ProcessResult& r) {
  if (r.output.empty()) return;
  std::size_t bad = std::string::npos;
  for (std::size_t i = 0; i < r.output.size() && bad == std::string::npos; ++i) {
    unsigned char c = static_cast<unsigned char>(r.output[i]);
    bool ok = c < 0x80 && c != 0;
    if (c == '\n') ok = i > 0 && r.output[i - 1] == '\r';
    if (c == '\r') ok = i + 1 < r.output.size() && r.output[i + 1] == '\n';
    if (!ok) bad = i;
  }
  INFO("first byte that is not 7-bit CRLF text at offset " << bad);
  REQUIRE(bad == std::string::npos);
  Limits l;
  Budget b(l);
  REQUIRE_FALSE(mime::parse(r.output, b).failure);
}

ProcessResult run(const Engine& e, const std::string& raw) {
  auto start = std::chrono::steady_clock::now();
  auto r = e.processMessage(raw, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "ADV");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  INFO(r.report.toJson().substr(0, 2000));
  checkWire(r);
  (void)ms;  // timing is a benchmark's job; tests only assert behaviour
  return r;
}

std::string nested(int levels) {
  std::string head = "From: a@example.com\r\nSubject: nest\r\nMIME-Version: 1.0\r\n";
  std::string open, close;
  for (int i = 0; i < levels; ++i) {
    std::string b = "b" + std::to_string(i);
    open += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n";
    close = "\r\n--" + b + "--\r\n" + close;
  }
  return head + open + "Content-Type: text/plain\r\n\r\ndeep\r\n" + close;
}

}  // namespace

TEST_CASE("300 nested multiparts: limit.mime_depth, blocked, no crash", "[adversarial]") {
  auto r = run(defaults(), nested(300));
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitMimeDepth);
  REQUIRE(r.notice_only);
  REQUIRE(r.keepOriginal());
}

TEST_CASE("nested attached messages 30 deep: limit.mime_depth", "[adversarial]") {
  std::string m = "Subject: x\r\n\r\nbody\r\n";
  for (int i = 0; i < 30; ++i) m = "Subject: level\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" + m;
  auto r = run(defaults(), m);
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitMimeDepth);
}

TEST_CASE("20,000 parts: limit.parts", "[adversarial]") {
  std::string m = "Subject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n";
  for (int i = 0; i < 20000; ++i) m += "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  m += "--p--\r\n";
  auto r = run(defaults(), m);
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitParts);
}

TEST_CASE("a 2 MB header line: limit.header_size", "[adversarial]") {
  auto r = run(defaults(), "Subject: " + std::string(2 << 20, 'A') + "\r\n\r\nbody\r\n");
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitHeaderSize);
}

TEST_CASE("100,000 header fields: limit.header_count", "[adversarial]") {
  std::string m;
  for (int i = 0; i < 100000; ++i) m += "X-H: 1\r\n";
  auto r = run(defaults(), m + "\r\nbody\r\n");
  REQUIRE(r.blocked());
  REQUIRE((r.report.reason == Reason::LimitHeaderCount || r.report.reason == Reason::LimitHeaderSize));
}

TEST_CASE("a 5,000-character boundary: limit.boundary_length", "[adversarial]") {
  std::string b(5000, 'q');
  auto r = run(defaults(), "Subject: b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + b +
                               "\"\r\n\r\n--" + b + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + b + "--\r\n");
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitBoundaryLength);
}

TEST_CASE("over message_size_limit: limit.message_size", "[adversarial]") {
  auto e = engineWith("  message_size_limit: 4096\n");
  auto r = run(*e, test::buildMail("big", std::string(10000, 'x'), {}));
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitMessageSize);
}

TEST_CASE("decoded bytes over the budget: limit.decoded_bytes", "[adversarial]") {
  auto e = engineWith("  decoded_bytes_limit: 65536\n");
  auto r = run(*e, test::buildMail("b64", "x", {{"application/pdf", "a.pdf", std::string(200000, 'A')}}));
  REQUIRE(r.verdict >= Verdict::PartRemoved);
  REQUIRE(r.report.reason == Reason::LimitDecodedBytes);
}

TEST_CASE("an HTML body over html_node_limit is removed, not truncated", "[adversarial]") {
  auto e = engineWith("  html_node_limit: 1000\n");
  std::string html;
  for (int i = 0; i < 5000; ++i) html += "<p>x</p>";
  auto r = run(*e, test::buildMail("html", html, {}, "text/html; charset=utf-8"));
  REQUIRE(r.report.reason == Reason::LimitHtmlNodes);
  REQUIRE(r.verdict >= Verdict::PartRemoved);
  REQUIRE(r.output.find("x\r\nx\r\nx") == std::string::npos);
}

TEST_CASE("NUL bytes in headers and body never reach the output", "[adversarial]") {
  std::string m = std::string("Subject: a\0b\r\nFrom: x\0@example.com\r\n\r\nbo\0dy\r\n", 45);
  auto r = run(defaults(), m);
  REQUIRE(r.verdict != Verdict::TempFail);
  REQUIRE(r.output.find('\0') == std::string::npos);
}

TEST_CASE("broken base64 in an attachment: the attachment is removed", "[adversarial]") {
  std::string m = "Subject: b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n"
                  "--z\r\nContent-Type: text/plain\r\n\r\nhello\r\n--z\r\nContent-Type: application/pdf; "
                  "name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x!!!!@@@@\r\n--z--\r\n";
  auto r = run(defaults(), m);
  bool removed = false;
  for (const auto& a : r.report.actions) removed |= a.reason == "parse.decode_error";
  REQUIRE(removed);
  REQUIRE(r.output.find("hello") != std::string::npos);
}

TEST_CASE("missing final boundary and missing boundary parameter degrade to text", "[adversarial]") {
  auto r = run(defaults(), "Subject: m\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n"
                           "--z\r\nContent-Type: text/plain\r\n\r\nstill here\r\n");
  REQUIRE_FALSE(r.blocked());
  REQUIRE(r.output.find("still here") != std::string::npos);
  auto r2 = run(defaults(), "Subject: m\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n");
  REQUIRE(r2.verdict != Verdict::TempFail);
}

TEST_CASE("bare LF and bare CR input comes out CRLF", "[adversarial]") {
  auto r = run(defaults(), "Subject: lf\nMIME-Version: 1.0\n\nline1\nline2\rline3\n.\nafter-dot\n");
  REQUIRE_FALSE(r.blocked());
  REQUIRE(r.output.find("line1\r\nline2") != std::string::npos);
}

TEST_CASE("a file name cannot inject headers or paths", "[adversarial]") {
  std::string m = "Subject: i\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n"
                  "--z\r\nContent-Type: text/plain\r\n\r\nhi\r\n--z\r\nContent-Type: text/plain; "
                  "name=\"=?UTF-8?B?" + mime::encodeBase64("a\r\nBcc: victim@example.com\r\n../../x.txt", 0) +
                  "?=\"\r\nContent-Disposition: attachment\r\n\r\ndata\r\n--z--\r\n";
  auto r = run(defaults(), m);
  REQUIRE(r.output.find("\r\nBcc:") == std::string::npos);
  Limits l;
  Budget b(l);
  auto root = mime::parse(r.output, b).root;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    REQUIRE(e.filename.find('/') == std::string::npos);
    REQUIRE(e.filename.find('\n') == std::string::npos);
  });
}

TEST_CASE("unknown transfer encoding and bogus charset", "[adversarial]") {
  auto r = run(defaults(), "Subject: c\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=fakescii\r\n"
                           "Content-Transfer-Encoding: base9000\r\n\r\nhello \xff\xfe world\r\n");
  REQUIRE(r.verdict != Verdict::TempFail);
  REQUIRE(r.output.find("hello") != std::string::npos);
}

TEST_CASE("random bytes as a message never crash the engine", "[adversarial]") {
  std::uint32_t x = 12345;
  for (int round = 0; round < 50; ++round) {
    std::string junk(1000 + round * 997, '\0');
    for (auto& c : junk) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    if (round % 2) junk = "Content-Type: multipart/mixed; boundary=\"\x01\"\r\n\r\n--\x01\r\n" + junk;
    auto r = run(defaults(), junk);
    REQUIRE(r.verdict != Verdict::TempFail);
  }
}
