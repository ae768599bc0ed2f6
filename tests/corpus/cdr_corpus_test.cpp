// The corpus's documents, images and archives through the whole engine (`mugai file`'s path),
// each result checked against its MANIFEST.csv line by independent tools: unzip for packages
// and archives, olefile for legacy Office, qpdf for PDF, exiftool for images.
// Skipped (with a warning) when ../shared/corpus is absent; tool checks skip when a tool is.
#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <map>
#include <regex>

#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/inspect.h"
#include "support/manifest.h"
#include "support/test_support.h"
#include "support/tools.h"

namespace fs = std::filesystem;
using namespace mugai;

namespace {

bool delivered(const ProcessResult& r) { return !r.blocked() && !r.output.empty(); }

bool hasReason(const ProcessResult& r, const std::string& reason) {
  for (const auto& a : r.report.actions) {
    if (a.reason == reason) return true;
  }
  return false;
}

bool under(const std::string& path, const char* dir) { return path.rfind(dir, 0) == 0; }

struct Tally {
  int delivered = 0, refused = 0;
};

}  // namespace

TEST_CASE("corpus: documents, images and archives meet their MANIFEST line through the engine",
          "[corpus][cdr]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  const bool have_unzip = !test::toolMissing("unzip");
  const bool have_qpdf = !test::toolMissing("qpdf");
  const bool have_olefile = test::haveOlefile();
  const bool have_exiftool = !test::toolMissing("exiftool");
  test::TempDir tmp;
  std::map<std::string, Tally> tally;
  int checked = 0;
  for (const auto& row : test::readManifest(*corpus)) {
    bool office = under(row.path, "office/"), pdf = under(row.path, "pdf/");
    bool image = under(row.path, "images/"), archive = under(row.path, "archives/");
    if (!office && !pdf && !image && !archive) continue;
    fs::path src = *corpus / row.path;
    if (!fs::is_regular_file(src)) continue;
    std::string name = src.filename().string();
    ProcessResult r = test::shippedEngine().processFile(test::readFile(src), name, "C");
    INFO(row.path << " [" << row.category << "] " << row.expected << "\n" << r.report.toJson());
    REQUIRE(r.verdict != Verdict::TempFail);
    ++checked;
    Tally& t = tally[row.category];
    if (!delivered(r)) {
      ++t.refused;
    } else {
      ++t.delivered;
    }
    fs::path out = tmp.path() / ("out-" + std::to_string(checked) + "-" + r.output_filename);
    if (delivered(r)) test::writeFile(out, r.output);
    const std::string& expect = row.expected;

    // Encrypted content can never be inspected: it never passes, and the reason says why.
    bool needs_password = expect.find("encrypted PDF needing a user password") != std::string::npos ||
                          row.category == "office-encrypted";
    if (needs_password) {
      REQUIRE_FALSE(delivered(r));
      REQUIRE(hasReason(r, "content.encrypted"));
      continue;
    }
    if (expect.find("plain Office document (negative control)") != std::string::npos) {
      REQUIRE(delivered(r));  // a harmless document must survive sanitising
    }
    if (!delivered(r)) continue;  // removed or blocked with a reason: allowed by every line
    // What was delivered is checked by what it is, whichever folder it came from.
    const std::string& o = r.output;
    if (o.rfind("%PDF", 0) == 0 && have_qpdf) {
      REQUIRE(test::pdfChecks(out));
      auto keys = test::pdfActiveKeys(out);
      REQUIRE(keys.empty());
    } else if (test::isZip(o) || test::isOle2(o) || o.rfind("{\\rtf", 0) == 0) {
      auto active = test::activeContent(out, have_unzip, have_olefile);
      REQUIRE(active.empty());
      if (have_unzip && test::isZip(o)) REQUIRE(test::zipIntact(out));
    } else if (r.report.actions.back().detected_type.rfind("image/", 0) == 0 && have_exiftool) {
      auto meta = test::imageMetadata(out);
      REQUIRE(meta.empty());
    }
    if (archive && row.category != "archive-lzh" && test::isZip(test::readFile(src))) {
      REQUIRE(test::isZip(o));  // a ZIP comes out as a ZIP (repacked), never as something else
    }
  }
  REQUIRE(checked > 300);
  for (const auto& [category, t] : tally) {
    std::cerr << "corpus cdr: " << category << ": " << t.delivered << " delivered (rebuilt or kept), "
              << t.refused << " removed or blocked\n";
  }
}
