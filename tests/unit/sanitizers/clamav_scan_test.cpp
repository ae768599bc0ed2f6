// sanitizer.clamav_scan: mapping of every scan status, fail-closed cases, the real engine.
#include "sanitizers/clamav_scan/clamav_scan.h"

#include <memory>
#include <string>
#include <vector>

#include "mugai/scan/scanner.h"
#include "sanitizers/clamav_scan/factory.h"
#include "support/test_support.h"

namespace {

using mugai::Outcome;
using mugai::Part;
using mugai::Reason;
using mugai::ScanResult;
using mugai::Verdict;
using Status = mugai::ScanResult::Status;
namespace cs = mugai::sanitizers::clamav_scan;
namespace mt = mugai::test;

/// Scripted scanner (test builds only): returns `result` and remembers what it saw.
class FakeScanner : public mugai::Scanner {
 public:
  explicit FakeScanner(ScanResult result) : result_(std::move(result)) {}
  ScanResult scan(std::string_view data, std::string_view name_hint) const override {
    last_data_ = std::string(data);
    last_hint_ = std::string(name_hint);
    ++calls_;
    return result_;
  }
  std::string describe() const override { return "fake"; }
  mutable std::string last_data_, last_hint_;
  mutable int calls_ = 0;

 private:
  ScanResult result_;
};

ScanResult result(Status s, std::string sig = {}, std::string detail = {}) {
  ScanResult r;
  r.status = s;
  r.signature = std::move(sig);
  r.detail = std::move(detail);
  return r;
}

std::shared_ptr<const mugai::Sanitizer> makeSanitizer(std::map<std::string, std::string> p = {}) {
  std::string error;
  auto s = cs::makeFactory()->create(mugai::SanitizerParams(std::move(p)), &error);
  INFO(error);
  REQUIRE(s);
  return s;
}

struct Harness {
  mugai::Limits limits;
  mugai::Budget budget{limits};
  Outcome run(const mugai::Sanitizer& s, const mugai::Scanner* scanner, const Part& part) {
    mugai::MessageContext ctx{limits, budget, scanner, nullptr};
    return s.apply(part, ctx);
  }
};

Part partWith(std::string data) {
  Part p;
  p.path = "1.2";
  p.data = std::move(data);
  p.filename = mugai::Untrusted<std::string>("../../evil\r\nname.exe");
  return p;
}

}  // namespace

TEST_CASE("clamav_scan: clean part is kept", "[unit][sanitizers][clamav_scan]") {
  Harness h;
  FakeScanner fake(result(Status::Clean));
  Outcome o = h.run(*makeSanitizer(), &fake, partWith("hello"));
  CHECK(o.verdict == Verdict::Pass);
  CHECK(o.reason == Reason::Kept);
  CHECK_FALSE(o.replacement);
  CHECK(o.detections.empty());
  CHECK(fake.last_data_ == "hello");
  // The engine gets the tree path, never the sender's file name.
  CHECK(fake.last_hint_ == "1.2");
}

TEST_CASE("clamav_scan: infected part rejects with a detection",
          "[unit][sanitizers][clamav_scan]") {
  Harness h;
  FakeScanner fake(result(Status::Infected, "Mugai.Test.EICAR.UNOFFICIAL"));
  SECTION("default stage") {
    Outcome o = h.run(*makeSanitizer(), &fake, partWith("x"));
    CHECK(o.reason == Reason::AvInfected);
    CHECK(o.verdict == Verdict::Reject);
    REQUIRE(o.detections.size() == 1);
    CHECK(o.detections[0].signature == "Mugai.Test.EICAR.UNOFFICIAL");
    CHECK(o.detections[0].stage == "original");
  }
  SECTION("output stage") {
    Outcome o = h.run(*makeSanitizer({{"stage", "output"}}), &fake, partWith("x"));
    REQUIRE(o.detections.size() == 1);
    CHECK(o.detections[0].stage == "output");
  }
}

TEST_CASE("clamav_scan: incomplete scans fail closed", "[unit][sanitizers][clamav_scan]") {
  Harness h;
  SECTION("limit reached") {
    FakeScanner fake(result(Status::Incomplete, "Heuristics.Limits.Exceeded.MaxFileSize"));
    Outcome o = h.run(*makeSanitizer(), &fake, partWith("x"));
    CHECK(o.reason == Reason::AvIncomplete);
    CHECK(o.verdict == Verdict::Quarantine);
    CHECK(o.detail.find("MaxFileSize") != std::string::npos);
  }
  SECTION("encrypted archive") {
    FakeScanner fake(result(Status::Incomplete, "Heuristics.Encrypted.Zip"));
    Outcome o = h.run(*makeSanitizer(), &fake, partWith("x"));
    CHECK(o.reason == Reason::ContentEncrypted);
    CHECK(o.verdict == Verdict::Quarantine);
  }
}

TEST_CASE("clamav_scan: scanner failures fail closed", "[unit][sanitizers][clamav_scan]") {
  Harness h;
  SECTION("engine error") {
    FakeScanner fake(result(Status::Error, {}, "libclamav: Can't allocate memory"));
    Outcome o = h.run(*makeSanitizer(), &fake, partWith("x"));
    CHECK(o.reason == Reason::AvError);
    CHECK(o.verdict == Verdict::TempFail);
  }
  SECTION("no scanner configured") {
    Outcome o = h.run(*makeSanitizer(), nullptr, partWith("x"));
    CHECK(o.reason == Reason::AvError);
    CHECK(o.detail == "no scanner");
  }
  SECTION("control characters in names never reach the report") {
    FakeScanner fake(result(Status::Infected, "Bad\r\nName\x1b[31m"));
    Outcome o = h.run(*makeSanitizer(), &fake, partWith("x"));
    REQUIRE(o.detections.size() == 1);
    for (char c : o.detections[0].signature) CHECK(static_cast<unsigned char>(c) >= 0x20);
    for (char c : o.detail) CHECK(static_cast<unsigned char>(c) >= 0x20);
  }
}

TEST_CASE("clamav_scan: a passed deadline stops before scanning",
          "[unit][sanitizers][clamav_scan]") {
  mugai::Limits limits;
  mugai::Budget budget(limits, mugai::Budget::Clock::now() - std::chrono::hours(24));
  FakeScanner fake(result(Status::Clean));
  mugai::MessageContext ctx{limits, budget, &fake, nullptr};
  Outcome o = makeSanitizer()->apply(partWith("x"), ctx);
  CHECK(o.reason == Reason::LimitTime);
  CHECK(fake.calls_ == 0);
}

TEST_CASE("clamav_scan: same input, same outcome", "[unit][sanitizers][clamav_scan]") {
  Harness h;
  FakeScanner fake(result(Status::Infected, "Sig"));
  auto s = makeSanitizer();
  Outcome a = h.run(*s, &fake, partWith("x"));
  Outcome b = h.run(*s, &fake, partWith("x"));
  CHECK(a.verdict == b.verdict);
  CHECK(a.reason == b.reason);
  CHECK(a.detail == b.detail);
}

TEST_CASE("clamav_scan: with the real engine", "[unit][sanitizers][clamav_scan][integration]") {
  mugai::ClamavOptions options;
  options.include_system_db = false;
  options.signature_paths = {(mt::sourceDir() / "rules" / "signatures").string()};
  std::string error;
  auto scanner = mugai::makeClamavScanner(options, &error);
  INFO(error);
  REQUIRE(scanner);
  Harness h;
  auto s = makeSanitizer();
  SECTION("EICAR") {
    Outcome o = h.run(*s, scanner.get(), partWith(mt::readFile(mt::generatedDir() / "eicar.com")));
    CHECK(o.reason == Reason::AvInfected);
    REQUIRE(o.detections.size() == 1);
    CHECK(o.detections[0].signature.rfind("Mugai.Test.EICAR", 0) == 0);
  }
  SECTION("encrypted zip") {
    Outcome o =
        h.run(*s, scanner.get(), partWith(mt::readFile(mt::generatedDir() / "encrypted.zip")));
    CHECK(o.reason == Reason::ContentEncrypted);
  }
  SECTION("truncated archive is not an error") {
    std::string zip = mt::readFile(mt::generatedDir() / "eicar.zip");
    Outcome o = h.run(*s, scanner.get(), partWith(zip.substr(0, zip.size() / 2)));
    // Half an archive: libclamav scans what it can; either way the part never passes unscanned.
    CHECK(o.reason != Reason::AvError);
  }
  SECTION("clean text") {
    Outcome o = h.run(*s, scanner.get(), partWith("Dear colleague,\nplease find the minutes.\n"));
    CHECK(o.verdict == Verdict::Pass);
  }
}
