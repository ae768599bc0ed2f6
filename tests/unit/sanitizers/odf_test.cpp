// sanitizer.odf: behaviour on a generated .odt (Basic macros, event listeners, macro links),
// checked with unzip, file(1) and LibreOffice; hostile packages.
#include "sanitizers/odf/odf.h"

#include <catch2/catch.hpp>

#include "src/zip/zip.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_checks.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;
using mugai::sanitizers::odf::OdfSanitizer;
using mugai::sanitizers::odf::Options;

namespace {


}  // namespace

TEST_CASE("odf: an .odt loses Basic, scripts, event listeners and macro links", "[odf]") {
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, odt(), "minutes.odt");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::CdrRebuilt);
  const Part& out = *o.replacement;
  REQUIRE(hasFinding(o, "removed", "Basic/Standard/Module1.xml"));
  REQUIRE(hasFinding(o, "removed", "content.xml: office:scripts"));
  REQUIRE(hasFinding(o, "removed", "content.xml: office:event-listeners"));
  REQUIRE(hasFinding(o, "removed", "content.xml: text:a macro link"));
  std::string content = zipMemberText(out.data, "content.xml");
  REQUIRE(content.find("vnd.sun.star.script") == std::string::npos);
  REQUIRE(content.find("event-listener") == std::string::npos);
  REQUIRE(content.find("office:scripts") == std::string::npos);
  REQUIRE(content.find("Click text stays") != std::string::npos);
  REQUIRE(content.find("https://example.org/") != std::string::npos);
  std::string manifest = zipMemberText(out.data, "META-INF/manifest.xml");
  REQUIRE(manifest.find("Basic") == std::string::npos);
  REQUIRE(manifest.find("content.xml") != std::string::npos);
  zip::Failure f;
  auto a = zip::Archive::open(out.data, {}, &f);
  REQUIRE(a);
  REQUIRE(a->entries().front().name == "mimetype");
  REQUIRE(a->entries().front().method == 0);
  REQUIRE(out.data.compare(30, 8, "mimetype") == 0);
  REQUIRE(out.data.compare(38, 39, "application/vnd.oasis.opendocument.text") == 0);
  REQUIRE(runSanitizer(s, out.data, "minutes.odt").verdict == Verdict::Pass);  // idempotent

  if (test::toolMissing("unzip")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "minutes.odt";
  test::writeFile(path, out.data);
  if (std::getenv("MUGAI_KEEP_OUT"))
    test::writeFile(std::string(std::getenv("MUGAI_KEEP_OUT")) + "/" + path.filename().string(),
                    out.data);
  requireUnzipOk(path);
  for (const auto& n : unzipNames(path)) {
    INFO(n);
    REQUIRE(n.find("Basic/") == std::string::npos);
    REQUIRE(n.find("Scripts/") == std::string::npos);
  }
  if (!test::toolMissing("file")) {
    auto r = test::runTool({"file", "-b", "--mime-type", path.string()});
    REQUIRE(r.output.find("application/vnd.oasis.opendocument.text") == 0);
    test::writeFile(tmp.path() / "in.odt", odt());
    auto t = test::runTool({"file", "-b", "--mime-type", (tmp.path() / "in.odt").string()});
    REQUIRE(t.output.starts_with("application/vnd.oasis.opendocument.text"));
  }
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) {
    REQUIRE(text.find(std::string(kOdtText)) != std::string::npos);
    REQUIRE(text.find("Click text stays") != std::string::npos);
  }
}

TEST_CASE("odf: OLE objects go, their picture stays, ODF charts stay unless asked", "[odf]") {
  Members m = odtMembers();
  m.push_back({"Object 1", "inert OLE placeholder"});
  m.push_back({"ObjectReplacements/Object 1", "picture"});
  m.push_back(
      {"Object 2/content.xml",
       R"(<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0"><office:scripts/></office:document-content>)"});
  m.push_back({"Scripts/python/evil.py", "print('inert')"});
  m.push_back({"Obj102", "inert OLE placeholder under another name"});
  for (auto& [n, d] : m) {
    if (n == "content.xml") {
      auto p = d.find("</office:text>");
      d.insert(
          p,
          R"(<text:p><draw:frame xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"><draw:object-ole xlink:href="./Object 1"/><draw:image xlink:href="./ObjectReplacements/Object 1"/></draw:frame><draw:frame xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"><draw:object-ole xlink:href="./Obj102"/></draw:frame></text:p>)");
    }
  }
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, pack(m), "x.odt");
  REQUIRE(o.replacement);
  REQUIRE(hasFinding(o, "removed", "Object 1"));
  REQUIRE(hasFinding(o, "removed", "Scripts/python/evil.py"));
  REQUIRE(hasFinding(o, "removed", "Obj102"));  // found through the element that used it
  REQUIRE(hasFinding(o, "removed", "Object 2/content.xml: office:scripts"));
  REQUIRE_FALSE(hasFinding(o, "removed", "ObjectReplacements/Object 1"));
  std::string content = zipMemberText(o.replacement->data, "content.xml");
  REQUIRE(content.find("draw:object-ole") == std::string::npos);
  REQUIRE(content.find("ObjectReplacements/Object 1") != std::string::npos);
  REQUIRE(zipMemberText(o.replacement->data, "Object 2/content.xml").size() > 0);

  OdfSanitizer strict(Options{false});
  Outcome o2 = runSanitizer(strict, pack(m), "x.odt");
  REQUIRE(o2.replacement);
  REQUIRE(hasFinding(o2, "removed", "Object 2/content.xml"));
}

TEST_CASE("odf: mimetype is written first and stored even when the input had it last", "[odf]") {
  Members m = odtMembers();
  std::rotate(m.begin(), m.begin() + 1, m.end());  // mimetype last
  zip::Writer w;
  for (const auto& [n, d] : m) w.addDeflated(n, d);  // and deflated
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, *w.finish(), "x.odt");
  REQUIRE(o.replacement);
  zip::Failure f;
  auto a = zip::Archive::open(o.replacement->data, {}, &f);
  REQUIRE(a);
  REQUIRE(a->entries().front().name == "mimetype");
  REQUIRE(a->entries().front().method == 0);
}

TEST_CASE("odf: encrypted, broken and hostile packages fail closed", "[odf][adversarial]") {
  OdfSanitizer s(Options{});
  Members m = odtMembers();
  for (auto& [n, d] : m) {
    if (n == "META-INF/manifest.xml") {
      auto p = d.find(
          "<manifest:file-entry manifest:full-path=\"content.xml\" "
          "manifest:media-type=\"text/xml\"/>");
      d.replace(
          p, 84,
          R"(<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/></manifest:file-entry>)");
    }
  }
  REQUIRE(runSanitizer(s, pack(m), "x.odt").reason == Reason::ContentEncrypted);
  REQUIRE(runSanitizer(s, pack({{"content.xml", "<x/>"}}), "x.odt").reason ==
          Reason::ParseMalformed);
  m = odtMembers();
  m[0].second = "application/x-not-odf";
  REQUIRE(runSanitizer(s, pack(m), "x.odt").reason == Reason::ParseMalformed);
  m = odtMembers();
  m[1].second = "<office:document-content><office:scripts>";  // unbalanced
  REQUIRE(runSanitizer(s, pack(m), "x.odt").reason == Reason::ParseMalformed);
  m = odtMembers();
  m.push_back({"/abs/evil", "x"});
  REQUIRE(runSanitizer(s, pack(m), "x.odt").reason == Reason::ParseMalformed);
  m = odtMembers();
  m.push_back({"Pictures/zeros.bin", std::string(4u << 20, '\0')});
  REQUIRE(runSanitizer(s, pack(m), "x.odt").reason == Reason::LimitExpansionRatio);
}
