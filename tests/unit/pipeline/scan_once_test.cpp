// Issue 11, "one scan per byte": how often bytes reach libclamav, counted through the scanner
// interface (ClamavOptions::on_layer: every file libclamav inspects, the given bytes and every
// member it unpacks), with the real engine, rules and libclamav. Also: what must still be found
// (EICAR in a member, in a rebuilt DOCX; a container signature .cdb), and the scan-result cache
// across a signature reload. docs/scanning.md, "One scan per byte".
#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <map>
#include <mutex>
#include <set>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "src/zip/zip.h"
#include "support/test_support.h"
#include "unit/sanitizers/archive_fixtures.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
namespace af = mugai::test::archive_fixtures;

namespace {

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

/// In how many calls into libclamav each byte string (by SHA-256) was inspected, as the given
/// bytes or as a member it unpacked. Within one call libclamav may look at a file twice itself
/// (its OOXML parser revisits `_rels/.rels` and pictures one level deeper): that is one pass of
/// those bytes through libclamav, counted once. The engines here run on one thread.
struct Seen {
  std::mutex m;
  std::map<std::string, int> count;
  std::set<std::string> this_call;
  void add(const ScanLayer& l) {
    std::lock_guard<std::mutex> g(m);
    if (l.level == 0) this_call.clear();  // a new call into libclamav
    if (this_call.insert(l.sha256).second) ++count[l.sha256];
  }
  int of(std::string_view data) {
    std::lock_guard<std::mutex> g(m);
    auto it = count.find(sha256(data));
    return it == count.end() ? 0 : it->second;
  }
  void clear() {
    std::lock_guard<std::mutex> g(m);
    count.clear();
  }
};

std::filesystem::path signatures() { return test::sourceDir() / "rules" / "signatures"; }

/// The shipped rules with `extra` signature paths beside the shipped test signatures.
std::string rulesWith(const std::vector<std::string>& extra, const std::string& limits,
                      test::TempDir& dir) {
  std::string rules = test::readFile(test::sourceDir() / "rules" / "default.yaml");
  std::string paths = signatures().string();
  for (const auto& e : extra) paths += ", " + e;
  auto at = rules.find("signatures: [signatures]");
  REQUIRE(at != std::string::npos);
  rules.replace(at, std::string("signatures: [signatures]").size(), "signatures: [" + paths + "]");
  at = rules.find("system_database: true");
  REQUIRE(at != std::string::npos);
  rules.replace(at, std::string("system_database: true").size(), "system_database: false");
  at = rules.find("limits:\n");
  REQUIRE(at != std::string::npos);
  rules.insert(at + 8, limits);
  test::writeFile(dir.path() / "rules.yaml", rules);
  return (dir.path() / "rules.yaml").string();
}

std::unique_ptr<Engine> countingEngine(Seen& seen, test::TempDir& dir,
                                       const std::vector<std::string>& extra = {},
                                       const std::string& limits = "") {
  std::vector<std::string> errors;
  auto e = makeEngine(rulesWith(extra, limits, dir), errors,
                      [&seen](const ClamavOptions& o, std::string* err) {
                        ClamavOptions opts = o;
                        opts.on_layer = [&seen](const ScanLayer& l) { seen.add(l); };
                        return makeClamavScanner(opts, err);
                      });
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(e);
  return e;
}

std::string eicar() { return test::readFile(test::generatedDir() / "eicar.com"); }

bool hasFinding(const Report& r, const std::string& key, const std::string& value) {
  for (const auto& a : r.actions) {
    for (const auto& f : a.findings) {
      if (f.key == key && f.value == value) return true;
    }
  }
  return false;
}

bool detected(const Report& r, const std::string& prefix) {
  for (const auto& d : r.detections) {
    if (d.signature.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

/// The members of a delivered zip (our own output), by name.
std::map<std::string, std::string> members(const std::string& zip_bytes) {
  std::map<std::string, std::string> out;
  zip::Failure failure;
  auto a = zip::Archive::open(zip_bytes, zip::ReadLimits{}, &failure);
  REQUIRE(a);
  Limits limits;
  Budget budget(limits);
  for (const auto& e : a->entries()) {
    if (e.directory()) continue;
    std::string data;
    REQUIRE_FALSE(a->extract(e, budget, &data));
    out[e.name] = data;
  }
  return out;
}

}  // namespace

TEST_CASE("scan once: each member of a zip reaches libclamav exactly once per message",
          "[scan][scan-once]") {
  Seen seen;
  test::TempDir dir;
  auto engine = countingEngine(seen, dir);
  const std::string minutes = "minutes of the meeting, unique to this test 6b1f\n";
  const std::string table = "name,amount\nparks,120\nroads,340\n";
  const std::string notes = "notes inside the inner archive, unique 93c2\n";
  SECTION("a flat zip") {
    std::string in = af::zip({{"minutes.txt", minutes}, {"budget.txt", table}});
    ProcessResult r = engine->processFile(in, "papers.zip", "t1");
    REQUIRE(r.verdict < Verdict::PartRemoved);
    CHECK(seen.of(in) == 1);
    CHECK(seen.of(minutes) == 1);
    CHECK(seen.of(table) == 1);
    // The members were judged by the cache (the container scan saw them), and the report says so.
    CHECK(hasFinding(r.report, "scan", "cached"));
  }
  SECTION("a zip inside a zip") {
    std::string inner = af::zip({{"notes.txt", notes}, {"minutes.txt", minutes}});
    std::string in = af::zip({{"inner.zip", inner}, {"budget.txt", table}});
    ProcessResult r = engine->processFile(in, "nested.zip", "t2");
    REQUIRE(r.verdict < Verdict::PartRemoved);
    CHECK(seen.of(in) == 1);
    CHECK(seen.of(inner) == 1);
    CHECK(seen.of(notes) == 1);
    CHECK(seen.of(minutes) == 1);
    CHECK(seen.of(table) == 1);
    // Nothing of the rebuilt output goes to libclamav again: its bytes are the members'.
    CHECK(seen.of(r.output) == 0);
  }
  SECTION("a zip attached to a mail, sent twice: the second time nothing reaches libclamav") {
    std::string in = af::zip({{"minutes.txt", minutes}, {"budget.txt", table}});
    std::string mail = "From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: papers\r\n"
                       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                       "--b\r\nContent-Type: text/plain\r\n\r\nsee the papers\r\n--b\r\n"
                       "Content-Type: application/zip; name=\"papers.zip\"\r\n"
                       "Content-Disposition: attachment; filename=\"papers.zip\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n" +
                       mime::encodeBase64(in) + "\r\n--b--\r\n";
    ProcessResult first = engine->processMessage(mail, Envelope{}, "m1");
    REQUIRE(first.verdict < Verdict::PartRemoved);
    CHECK(seen.of(in) == 1);
    CHECK(seen.of(minutes) == 1);
    seen.clear();
    ProcessResult second = engine->processMessage(mail, Envelope{}, "m2");
    CHECK(second.verdict == first.verdict);
    CHECK(seen.of(in) == 0);
    CHECK(seen.of(minutes) == 0);
    CHECK(hasFinding(second.report, "scan", "cached"));
  }
}

TEST_CASE("scan once: a rebuilt DOCX's parts reach libclamav once, the new ones included",
          "[scan][scan-once]") {
  Seen seen;
  test::TempDir dir;
  auto engine = countingEngine(seen, dir);
  std::string in = test::office::docm();
  ProcessResult r = engine->processFile(in, "report.docm", "d1");
  REQUIRE(r.verdict == Verdict::Modified);
  CHECK(seen.of(in) == 1);
  auto out = members(r.output);
  REQUIRE(out.count("word/document.xml") == 1);
  // Every part delivered reached libclamav exactly once: the unchanged ones inside the original,
  // the ones the rebuilder wrote (document.xml without the DDE field, [Content_Types].xml and the
  // relationships without what went) on their own. The package as a whole is not scanned again.
  for (const auto& [name, data] : out) {
    INFO(name);
    CHECK(seen.of(data) == 1);
  }
  CHECK(seen.of(r.output) == 0);
}

TEST_CASE("scan once: EICAR in a member and in a DOCX is still found", "[scan][scan-once]") {
  Seen seen;
  test::TempDir dir;
  auto engine = countingEngine(seen, dir);
  SECTION("an EICAR member of a zip") {
    std::string in = af::zip({{"readme.txt", "read me\n"}, {"tools/invoice.com", eicar()}});
    ProcessResult r = engine->processFile(in, "invoice.zip", "e1");
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(detected(r.report, "Mugai.Test.EICAR"));
  }
  SECTION("the same member again: found from the cache") {
    std::string in = af::zip({{"readme.txt", "read me\n"}, {"tools/invoice.com", eicar()}});
    engine->processFile(in, "invoice.zip", "e2");
    ProcessResult r = engine->processFile(in, "invoice.zip", "e3");
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(detected(r.report, "Mugai.Test.EICAR"));
  }
  SECTION("EICAR in the text of a DOCX (it stays in the rebuilt document.xml)") {
    auto m = test::office::docmMembers();
    for (auto& [name, data] : m) {
      if (name == "word/document.xml") {
        data.replace(data.find(test::office::kDocText), test::office::kDocText.size(), eicar());
      }
    }
    ProcessResult r = engine->processFile(test::office::pack(m), "report.docx", "e4");
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(detected(r.report, "Mugai.Test.EICAR"));
  }
  SECTION("EICAR as a media part of a DOCX") {
    auto m = test::office::docmMembers();
    m.push_back({"word/media/image1.bin", eicar()});
    ProcessResult r = engine->processFile(test::office::pack(m), "report.docx", "e5");
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(detected(r.report, "Mugai.Test.EICAR"));
  }
}

TEST_CASE("scan once: a container signature (.cdb) still matches", "[scan][scan-once]") {
  Seen seen;
  test::TempDir dir;
  // ClamAV container metadata: any zip holding a member named like "payroll-update.js", any size.
  test::writeFile(dir.path() / "container.cdb",
                  "Mugai.Test.Container:CL_TYPE_ZIP:*:payroll-update\\.js$:*:*:*:*:*:*\n");
  auto engine = countingEngine(seen, dir, {(dir.path() / "container.cdb").string()});
  SECTION("the named member matches") {
    std::string in = af::zip({{"readme.txt", "read me\n"}, {"payroll-update.js", "var x = 1;\n"}});
    ProcessResult r = engine->processFile(in, "payroll.zip", "c1");
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(detected(r.report, "Mugai.Test.Container"));
  }
  SECTION("the same bytes under another name do not") {
    std::string in = af::zip({{"readme.txt", "read me\n"}, {"payroll-notes.txt", "var x = 1;\n"}});
    ProcessResult r = engine->processFile(in, "payroll.zip", "c2");
    CHECK(r.verdict < Verdict::PartRemoved);
    CHECK_FALSE(detected(r.report, "Mugai.Test.Container"));
  }
  SECTION("inside a zip inside a zip") {
    std::string inner = af::zip({{"payroll-update.js", "var y = 2;\n"}});
    std::string in = af::zip({{"readme.txt", "read me\n"}, {"inner.zip", inner}});
    ProcessResult r = engine->processFile(in, "nested.zip", "c3");
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(detected(r.report, "Mugai.Test.Container"));
  }
}

TEST_CASE("scan once: with the cache off each member is scanned again (scan_cache_entries 0)",
          "[scan][scan-once]") {
  Seen seen;
  test::TempDir dir;
  auto engine = countingEngine(seen, dir, {}, "  scan_cache_entries: 0\n");
  const std::string minutes = "minutes, cache off, unique 51aa\n";
  std::string in = af::zip({{"minutes.txt", minutes}});
  ProcessResult r = engine->processFile(in, "papers.zip", "n1");
  REQUIRE(r.verdict < Verdict::PartRemoved);
  CHECK(seen.of(in) == 1);
  CHECK(seen.of(minutes) == 2);  // in the container, then alone: the cache is what saves it
  CHECK_FALSE(hasFinding(r.report, "scan", "cached"));
}

TEST_CASE("scan once: a converted text is scanned whole even when it starts like a PDF",
          "[scan][scan-once]") {
  // The output rule goes by what the original was, not only by the output's first bytes: text
  // converted from HTML whose words begin "%PDF-" is new bytes and reaches libclamav whole.
  Seen seen;
  test::TempDir dir;
  auto engine = countingEngine(seen, dir);
  // "%PDF-" in the first KB would route the file to the PDF chain (text_route.cpp): a comment
  // that converts to nothing comes first.
  std::string html = "<html><!--" + std::string(1100, 'c') +
                     "--><body><p>%PDF-1.7 minutes of the meeting, unique a1d3</p>"
                     "<p>second paragraph</p></body></html>\n";
  ProcessResult r = engine->processFile(html, "minutes.html", "h1");
  INFO(r.report.toJson(false));
  REQUIRE(r.verdict == Verdict::Modified);
  REQUIRE(r.output.rfind("%PDF-", 0) == 0);
  CHECK(seen.of(html) == 1);
  CHECK(seen.of(r.output) == 1);
}
