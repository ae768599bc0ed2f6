// Issue 10, denial of service: a ZIP with tens of thousands of entries is refused from its entry
// count before libclamav sees it, and an HTML element with 100,000 attributes by the HTML
// pre-scan. Fixtures are generated here (support/hostile_gen.h); bench/dos_bench.cpp times them.
#include <catch2/catch.hpp>

#include "mugai/pipeline/pipeline.h"
#include "src/zip/zip.h"
#include "support/engine_fixture.h"
#include "support/hostile_gen.h"
#include "support/mail_builder.h"

using namespace mugai;

namespace {

const ActionRecord& firstAction(const ProcessResult& r) {
  REQUIRE_FALSE(r.report.actions.empty());
  return r.report.actions.front();
}

}  // namespace

TEST_CASE("dos: ZIP entry counts come from the end record, the directory and the local headers", "[dos]") {
  CHECK(zip::countEntriesQuickly(test::zipWithEntries(3)) == 3u);
  CHECK(zip::countEntriesQuickly(test::zipWithEntries(70000)) == 70000u);  // ZIP64 end record
  CHECK(zip::countEntriesQuickly(test::zipWithEntries(500, 1)) == 500u);   // the end record lies
  CHECK(zip::countEntriesQuickly(test::zipWithEntries(2, 60000)) == 60000u);  // or boasts
  CHECK_FALSE(zip::countEntriesQuickly("plain text, not a zip").has_value());
  std::string no_end = test::zipWithEntries(40);
  no_end.resize(no_end.size() / 2);  // cut: the local headers still count
  CHECK(zip::countEntriesQuickly(no_end).value_or(0) >= 10u);
}

TEST_CASE("dos: a ZIP with 60,000-100,000 entries is refused before scanning", "[dos]") {
  const Engine& e = test::shippedEngine();
  struct Case {
    std::string label, data, name;
  };
  std::vector<Case> cases = {
      {"60,000 entries", test::zipWithEntries(60000), "many.zip"},
      {"100,000 entries, ZIP64", test::zipWithEntries(100000), "many.zip"},
      {"directory count lies (1)", test::zipWithEntries(100000, 1), "lie.zip"},
      {"named like an Office document", test::zipWithEntries(60000), "report.docx"},
  };
  for (const auto& c : cases) {
    INFO(c.label);
    ProcessResult r = e.processFile(c.data, c.name, "D1");
    REQUIRE(r.report.reason == Reason::LimitArchiveMembers);
    const ActionRecord& a = firstAction(r);
    CHECK(a.sanitizer == "pipeline.prescreen");
    CHECK(a.detail.find("zip_entry_count_limit") != std::string::npos);
    CHECK(r.report.detections.empty());  // the scanner never ran
  }
  // Inside a mail, as an attachment: removed, the rest delivered.
  std::string mail = test::buildMail("files", "see attached",
                                     {{"application/zip", "many.zip", test::zipWithEntries(60000)}});
  ProcessResult m = e.processMessage(mail, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "D2");
  CHECK(m.verdict == Verdict::PartRemoved);
  CHECK(m.output.find("see attached") != std::string::npos);
  // A small archive is not affected: it reaches the archive rules as before.
  ProcessResult small = e.processFile(test::zipWithEntries(20), "small.zip", "D3");
  CHECK(small.report.reason != Reason::LimitArchiveMembers);
}

TEST_CASE("dos: the limit is the rules' zip_entry_count_limit", "[dos]") {
  test::TempDir dir;
  auto rules = dir.path() / "r.yaml";
  std::string text = test::readFile(test::sourceDir() / "rules" / "default.yaml");
  text.replace(text.find("limits:\n"), 8, "limits:\n  zip_entry_count_limit: 10\n");
  test::writeFile(rules, text);
  std::filesystem::create_symlink(test::sourceDir() / "rules" / "signatures", dir.path() / "signatures");
  std::vector<std::string> errors;
  auto e = makeEngine(rules.string(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(e);
  CHECK(e->processFile(test::zipWithEntries(11), "a.zip", "D4").report.reason == Reason::LimitArchiveMembers);
  CHECK(e->processFile(test::zipWithEntries(10), "a.zip", "D5").report.reason != Reason::LimitArchiveMembers);
}

TEST_CASE("dos: an HTML element with 100,000 attributes is refused by the pre-scan", "[dos]") {
  const Engine& e = test::shippedEngine();
  for (bool quoted_gt : {false, true}) {
    INFO("quoted '>' first: " << quoted_gt);
    ProcessResult r = e.processFile(test::htmlWithAttributes(100000, quoted_gt), "page.html", "H1");
    REQUIRE(r.report.reason == Reason::LimitHtmlNodes);
    bool said = false;
    for (const auto& a : r.report.actions) said |= a.detail.find("attributes on one HTML element") != std::string::npos;
    CHECK(said);
  }
  // As an HTML body: the body is refused, not converted.
  std::string mail = test::buildMail("x", test::htmlWithAttributes(100000), {}, "text/html; charset=utf-8");
  ProcessResult m = e.processMessage(mail, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "H2");
  CHECK(m.report.reason == Reason::LimitHtmlNodes);
  // Up to the limit (1,000 by default) the page converts as usual.
  ProcessResult ok = e.processFile(test::htmlWithAttributes(900), "page.html", "H3");
  CHECK(ok.report.reason == Reason::HtmlConverted);
  CHECK(ok.output.find("hello") != std::string::npos);
}

// The red team's return: the 60,000 entries one level down (a ZIP holding that ZIP, stored or
// deflated, under any name) cost libclamav its minute too; nested ZIPs now count.
TEST_CASE("dos: a ZIP inside a ZIP counts with its entries", "[dos][redteam10]") {
  const Engine& e = test::shippedEngine();
  const std::string inner = test::zipWithEntries(60000);
  auto wrap = [](const std::string& name, const std::string& data, bool deflate) {
    zip::Writer w;
    if (deflate) w.addDeflated(name, data);
    else w.addStored(name, data);
    return w.finish().value_or("");
  };
  for (const auto& outer : {wrap("inner.zip", inner, true), wrap("inner.dat", inner, false),
                            wrap("a.zip", wrap("b.bin", inner, true), true)}) {
    ProcessResult r = e.processFile(outer, "nested.zip", "D3");
    CHECK(r.report.reason == Reason::LimitArchiveMembers);
    CHECK(r.report.detections.empty());  // refused before the scanner
  }
  // A ZIP with a small ZIP inside still reaches the archive rules.
  ProcessResult small = e.processFile(wrap("inner.zip", test::zipWithEntries(3), true), "ok.zip", "D4");
  CHECK(small.report.reason != Reason::LimitArchiveMembers);
}
