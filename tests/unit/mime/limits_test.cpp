// Every limit of mime::parse() trips with its own Reason, on generated hostile input, fast.
#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/mime/mime_test_util.h"

using namespace mugai;
using namespace mugai::mime;
using mugai::mime::test::parseWith;

namespace {

std::string nestedMultiparts(int levels) {
  std::string head;
  std::string tail;
  for (int i = 0; i < levels; ++i) {
    std::string b = "b" + std::to_string(i);
    head += "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n";
    tail = "\r\n--" + b + "--\r\n" + tail;
  }
  return head + "Content-Type: text/plain\r\n\r\ndeep" + tail;
}

std::string nestedMessages(int levels) {
  std::string raw;
  for (int i = 0; i < levels; ++i) raw += "Content-Type: message/rfc822\r\n\r\n";
  return raw + "Subject: bottom\r\n\r\nbody";
}

std::string manyParts(int n) {
  std::string raw = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  raw.reserve(raw.size() + static_cast<std::size_t>(n) * 40);
  for (int i = 0; i < n; ++i) raw += "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  return raw + "--p--\r\n";
}

}  // namespace

TEST_CASE("limit: mime_nesting_limit (300 nested multiparts)", "[unit][adversarial]") {
  std::string raw = nestedMultiparts(300);
  SECTION("default limit trips limit.mime_depth") {
    ParseResult r;
    r = parseWith(raw);
    REQUIRE(r.failure == Reason::LimitMimeDepth);
    CHECK_FALSE(r.detail.empty());
  }
  SECTION("a limit above the depth walks all 300 levels without recursion") {
    Limits limits;
    limits.mime_nesting_limit = 1000;  // beyond params.def on purpose: the walk must cope
    ParseResult r;
    r = parseWith(raw, limits);
    REQUIRE_FALSE(r.failure);
    const Entity* e = &r.root;
    int depth = 0;
    while (!e->children.empty()) {
      e = &e->children[0];
      ++depth;
    }
    CHECK(depth == 300);
    CHECK(e->depth == 300);
    CHECK(e->body == "deep");
  }
  SECTION("nested message/rfc822 counts as depth too") {
    auto r = parseWith(nestedMessages(300));
    CHECK(r.failure == Reason::LimitMimeDepth);
  }
}

TEST_CASE("limit: mime_part_count_limit (20,000 parts)", "[unit][adversarial]") {
  std::string raw = manyParts(20000);
  SECTION("default limit trips limit.parts") {
    ParseResult r;
    r = parseWith(raw);
    REQUIRE(r.failure == Reason::LimitParts);
  }
  SECTION("with a high limit all 20,000 parts parse quickly") {
    Limits limits;
    limits.mime_part_count_limit = 100000;
    ParseResult r;
    r = parseWith(raw, limits);
    REQUIRE_FALSE(r.failure);
    REQUIRE(r.root.children.size() == 20000);
    CHECK(r.root.children[19999].path == "20000");
    CHECK(r.root.children[19999].body == "x");
  }
}

TEST_CASE("limit: header_size_limit (a 2 MB header line)", "[unit][adversarial]") {
  std::string raw = "Subject: " + std::string(2 * 1024 * 1024, 'A') + "\r\n\r\nbody";
  SECTION("default limit trips limit.header_size") {
    ParseResult r;
    r = parseWith(raw);
    REQUIRE(r.failure == Reason::LimitHeaderSize);
  }
  SECTION("with a high limit it parses in linear time") {
    Limits limits;
    limits.header_size_limit = 16 * 1024 * 1024;
    ParseResult r;
    r = parseWith(raw, limits);
    REQUIRE_FALSE(r.failure);
    CHECK(r.root.header("Subject")->size() == 2 * 1024 * 1024);
  }
  SECTION("folded into many continuation lines") {
    std::string folded = "Subject: x";
    for (int i = 0; i < 200000; ++i) folded += "\r\n continued";
    auto r = parseWith(folded + "\r\n\r\n");
    CHECK(r.failure == Reason::LimitHeaderSize);
  }
  SECTION("a huge header inside a part") {
    auto r = parseWith("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-Big: " +
                       std::string(200000, 'x') + "\r\n\r\nbody\r\n--b--\r\n");
    CHECK(r.failure == Reason::LimitHeaderSize);
    CHECK(r.detail.find("part 1") != std::string::npos);
  }
}

TEST_CASE("limit: header_count_limit (100k header fields)", "[unit][adversarial]") {
  std::string raw;
  raw.reserve(100000 * 12);
  for (int i = 0; i < 100000; ++i) raw += "X-A: " + std::to_string(i) + "\r\n";
  raw += "\r\nbody";
  SECTION("default limit trips limit.header_count") {
    ParseResult r;
    r = parseWith(raw);
    REQUIRE(r.failure == Reason::LimitHeaderCount);
  }
  SECTION("with the maximum limits all fields are kept") {
    Limits limits;
    limits.header_count_limit = 100000;
    limits.header_size_limit = 16 * 1024 * 1024;
    ParseResult r;
    r = parseWith(raw, limits);
    REQUIRE_FALSE(r.failure);
    CHECK(r.root.headers.size() == 100000);
  }
}

TEST_CASE("limit: mime_boundary_length_limit (a 5000-character boundary)", "[unit][adversarial]") {
  std::string b(5000, '-');
  std::string raw = "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b +
                    "\r\n\r\nx\r\n--" + b + "--\r\n";
  auto r = parseWith(raw, Limits());
  CHECK(r.failure == Reason::LimitBoundaryLength);
  Limits limits;
  limits.mime_boundary_length_limit = 65536;
  limits.header_size_limit = 1 << 20;
  auto ok = parseWith(raw, limits);
  REQUIRE_FALSE(ok.failure);
  CHECK(ok.root.children.size() == 1);
}

TEST_CASE("limit: decoded_bytes_limit is charged before decoding", "[unit][adversarial]") {
  Limits limits;
  limits.decoded_bytes_limit = 4096;
  std::string big = "Content-Transfer-Encoding: base64\r\n\r\n";
  for (int i = 0; i < 200; ++i) big += std::string(76, 'A') + "\r\n";
  Budget budget(limits);
  auto r = parse(big, budget);
  CHECK(r.failure == Reason::LimitDecodedBytes);
  CHECK(r.root.body.empty());  // refused before anything was decoded

  std::string many = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 10; ++i) many += "--b\r\n\r\n" + std::string(1000, 'z') + "\r\n";
  auto r2 = parseWith(many + "--b--\r\n", limits);
  CHECK(r2.failure == Reason::LimitDecodedBytes);
}

TEST_CASE("limit: an exhausted budget is respected", "[unit][adversarial]") {
  Limits limits;
  limits.mime_part_count_limit = 1;
  Budget budget(limits);
  REQUIRE_FALSE(budget.chargePart());
  auto r = parse("Subject: x\r\n\r\nbody", budget);
  CHECK(r.failure == Reason::LimitParts);
}

TEST_CASE("cost: pathological boundary-like content stays linear", "[unit][adversarial]") {
  std::string b(2000, '-');
  std::string raw =
      "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n\r\n";
  for (int i = 0; i < 2000; ++i) raw += std::string(1999, '-') + "\r\n";  // near misses
  std::string bare_cr = "Subject: x\r\r";
  for (int i = 0; i < 500000; ++i) bare_cr += "line\r";
  ParseResult r1;
  ParseResult r2;
  r1 = parseWith(raw);
  r2 = parseWith(bare_cr);
  CHECK_FALSE(r1.failure);
  CHECK((r1.root.defects & kDefectMissingFinalBoundary));
  CHECK_FALSE(r2.failure);
  CHECK((r2.root.defects & kDefectBareNewline));
}
