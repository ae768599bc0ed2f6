// Macros found by the scanner's heuristic (content.active) may reach a rebuilder, and nothing
// else: a kept type is removed, a rebuilder that changes nothing is refused, and what it produced
// must scan clean. A scripted scanner stands in for libclamav's macro heuristic here; the
// corpus suite checks the real one on real macro documents.
#include <catch2/catch.hpp>

#include "mugai/detect/type_detector.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/policy/policy.h"
#include "mugai/sanitizer/registry.h"
#include "mugai/scan/scanner.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

/// Says what libclamav says of a document with a VBA project, for bytes carrying the marker.
class MacroMarkerScanner : public Scanner {
 public:
  ScanResult scan(std::string_view data, std::string_view) const override {
    ScanResult r;
    r.status = data.find("MACRO-MARKER") != std::string_view::npos ? ScanResult::Status::Infected
                                                                    : ScanResult::Status::Clean;
    if (r.status == ScanResult::Status::Infected) r.signature = "Heuristics.OLE2.ContainsMacros.VBA";
    return r;
  }
  std::string describe() const override { return "macro marker"; }
};

Engine engineWith(const std::string& types) {
  static Registry registry = [] {
    Registry r;
    registerBuiltinSanitizers(r);
    return r;
  }();
  std::string rules =
      "version: 1\n"
      "scanning: {signatures: [], system_database: false}\n"
      "chains:\n"
      "  scan: [sanitizer.clamav_scan]\n"
      "  text_body: [sanitizer.text_normalize]\n"
      "  html_body: [sanitizer.html_to_text, sanitizer.text_normalize]\n"
      "  html_file: [sanitizer.html_to_text, sanitizer.text_normalize]\n"
      "types:\n" + types + "default: remove\n";
  std::vector<std::string> errors;
  auto policy = policy::loadPolicyText(rules, "test.yaml", ".", registry, errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(policy);
  return Engine(EngineServices{policy, std::make_shared<MacroMarkerScanner>(), makeMagicTypeDetector()});
}

const ActionRecord& only(const ProcessResult& r) {
  REQUIRE(r.report.actions.size() == 1);
  return r.report.actions.front();
}

}  // namespace

TEST_CASE("active content: a rebuilder that removes the macros delivers the file", "[active]") {
  Engine e = engineWith("  - match: [text/html]\n    action: sanitize\n    chain: html_file\n");
  auto r = e.processFile("<html><body><p>売上報告</p><!-- MACRO-MARKER --></body></html>", "r.html", "A1");
  INFO(r.report.toJson());
  REQUIRE_FALSE(r.blocked());
  CHECK(only(r).action == "converted");
  CHECK(r.output.find("売上報告") != std::string::npos);
  CHECK(r.report.toJson().find("active_content") != std::string::npos);
}

TEST_CASE("active content: macros that survive the rebuilder are refused by the output scan", "[active]") {
  Engine e = engineWith("  - match: [text/html]\n    action: sanitize\n    chain: html_file\n");
  auto r = e.processFile("<html><body><p>MACRO-MARKER</p></body></html>", "r.html", "A2");
  INFO(r.report.toJson());
  REQUIRE(r.output.find("MACRO-MARKER") == std::string::npos);
  CHECK(only(r).reason == "content.active");
  CHECK(only(r).action == "removed");
}

TEST_CASE("active content: a type without a rebuilder is removed, never kept", "[active]") {
  Engine e = engineWith("  - match: [text/plain]\n    action: keep\n");
  auto r = e.processFile("plain words MACRO-MARKER\n", "notes.txt", "A3");
  INFO(r.report.toJson());
  CHECK(only(r).reason == "content.active");
  CHECK(only(r).detail.find("no rebuilder") != std::string::npos);
  REQUIRE(r.output.find("MACRO-MARKER") == std::string::npos);
}

TEST_CASE("active content: a rebuilder that changes nothing does not let the macros pass", "[active]") {
  // text_normalize leaves clean UTF-8 text as it is: no change means the macros are still there.
  Engine e = engineWith("  - match: [text/plain]\n    action: sanitize\n    chain: text_body\n");
  auto r = e.processFile("already clean UTF-8 MACRO-MARKER\n", "notes.txt", "A4");
  INFO(r.report.toJson());
  CHECK(only(r).reason == "content.active");
  CHECK(only(r).detail.find("left the file as it was") != std::string::npos);
  REQUIRE(r.output.find("MACRO-MARKER") == std::string::npos);
}
