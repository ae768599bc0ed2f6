// sanitizer.ooxml: behaviour on generated packages, checked with unzip, file(1) and LibreOffice;
// hostile packages; and the shared corpus.
#include "sanitizers/ooxml/ooxml.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "sanitizers/odf/odf.h"
#include "src/zip/xml_lite.h"
#include "src/zip/zip.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_checks.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;
using mugai::sanitizers::ooxml::OoxmlSanitizer;
using mugai::sanitizers::ooxml::Options;

namespace {

/// Names whose presence in an output means something active survived.
bool activeName(const std::string& name) {
  std::string l = zip::xml::lower(name);
  return l.find("vbaproject") != std::string::npos || l.find("vbadata") != std::string::npos ||
         l.find("activex") != std::string::npos || l.find("embeddings/") != std::string::npos ||
         l.find("oleobject") != std::string::npos || l.find("externallink") != std::string::npos ||
         l.find("customui") != std::string::npos || l.find("macrosheets/") != std::string::npos;
}


}  // namespace

TEST_CASE("ooxml: a .docm loses VBA, ActiveX, OLE, the external template and DDE fields",
          "[ooxml]") {
  OoxmlSanitizer s(Options{});
  std::string in = docm();
  Outcome o = runSanitizer(s, in, "report.docm");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::CdrRebuilt);
  REQUIRE(o.replacement);
  const Part& out = *o.replacement;
  REQUIRE(out.filename.unverifiedValue() == "report.docx");
  REQUIRE(out.output_type ==
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  for (const char* removed :
       {"word/vbaProject.bin", "word/vbaData.xml", "word/activeX/activeX1.xml",
        "word/activeX/activeX1.bin", "word/embeddings/oleObject1.bin"}) {
    INFO(removed);
    REQUIRE(hasFinding(o, "removed", removed));
  }
  REQUIRE(hasFinding(o, "neutralised", "file:///\\\\evil.example\\share\\template.dotm"));
  REQUIRE(hasFinding(o, "removed", "w:attachedTemplate"));

  std::string ct = zipMemberText(out.data, "[Content_Types].xml");
  REQUIRE(ct.find("macroEnabled") == std::string::npos);
  REQUIRE(ct.find("vbaProject") == std::string::npos);
  REQUIRE(ct.find("activeX") == std::string::npos);
  REQUIRE(ct.find("wordprocessingml.document.main+xml") != std::string::npos);
  std::string rels = zipMemberText(out.data, "word/_rels/document.xml.rels");
  REQUIRE(rels.find("vbaProject") == std::string::npos);
  REQUIRE(rels.find("oleObject") == std::string::npos);
  REQUIRE(rels.find("control") == std::string::npos);
  REQUIRE(rels.find("http://example.org/") != std::string::npos);  // hyperlinks kept by default
  std::string doc = zipMemberText(out.data, "word/document.xml");
  REQUIRE(doc.find("DDE") == std::string::npos);
  REQUIRE(doc.find("INCLUDEPICTURE") == std::string::npos);
  REQUIRE(doc.find("OLEObject") == std::string::npos);
  REQUIRE(doc.find("w:control") == std::string::npos);
  REQUIRE(doc.find(std::string(kDdeResult)) != std::string::npos);  // the shown result stays
  REQUIRE(doc.find("Simple field text") != std::string::npos);
  REQUIRE(doc.find("w:instr=\" PAGE \"") != std::string::npos);  // harmless fields stay
  REQUIRE(zipMemberText(out.data, "word/settings.xml").find("attachedTemplate") == std::string::npos);
  REQUIRE(zipMemberText(out.data, "word/_rels/settings.xml.rels").find("evil") == std::string::npos);

  // Idempotent: the rebuilt package has nothing more to remove.
  Outcome again = runSanitizer(s, out.data, "report.docx");
  REQUIRE(again.verdict == Verdict::Pass);

  if (test::toolMissing("unzip")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "report.docx";
  test::writeFile(path, out.data);
  if (std::getenv("MUGAI_KEEP_OUT"))
    test::writeFile(std::string(std::getenv("MUGAI_KEEP_OUT")) + "/" + path.filename().string(),
                    out.data);
  requireUnzipOk(path);
  for (const auto& n : unzipNames(path)) {
    INFO(n);
    REQUIRE_FALSE(activeName(n));
  }
  if (!test::toolMissing("file")) {
    auto r = test::runTool({"file", "-b", "--mime-type", path.string()});
    REQUIRE(r.output.find(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document") == 0);
    // The input must be routed to this rebuilder by rules/default.yaml: libmagic 5.44 calls a
    // .docm by its plain type, newer ones may say application/vnd.ms-word.document.macroenabled.12.
    test::writeFile(tmp.path() / "in.docm", in);
    auto t = test::runTool({"file", "-b", "--mime-type", (tmp.path() / "in.docm").string()});
    INFO(t.output);
    REQUIRE((t.output.starts_with("application/vnd.openxmlformats-officedocument.") ||
             t.output.starts_with("application/vnd.ms-word.document.macroenabled.12")));
  }
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) {
    REQUIRE(text.find(std::string(kDocText)) != std::string::npos);
    REQUIRE(text.find(std::string(kDdeResult)) != std::string::npos);
  }
}

TEST_CASE("ooxml: hyperlinks remove takes the link off and keeps its text", "[ooxml]") {
  OoxmlSanitizer s(Options{false});
  Outcome o = runSanitizer(s, docm(), "a.docm");
  REQUIRE(o.replacement);
  REQUIRE(hasFinding(o, "neutralised", "http://example.org/"));
  std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
  REQUIRE(doc.find("r:id=\"rId6\"") == std::string::npos);
  REQUIRE(doc.find("Example link") != std::string::npos);
  REQUIRE(zipMemberText(o.replacement->data, "word/_rels/document.xml.rels").find("example.org") ==
          std::string::npos);
}

TEST_CASE("ooxml: an .xlsm loses VBA and its external workbook link", "[ooxml]") {
  OoxmlSanitizer s(Options{});
  Outcome o = runSanitizer(s, xlsm(), "book.xlsm");
  REQUIRE(o.verdict == Verdict::Modified);
  const Part& out = *o.replacement;
  REQUIRE(out.filename.unverifiedValue() == "book.xlsx");
  REQUIRE(out.output_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  REQUIRE(hasFinding(o, "removed", "xl/vbaProject.bin"));
  REQUIRE(hasFinding(o, "removed", "xl/externalLinks/externalLink1.xml"));
  std::string wb = zipMemberText(out.data, "xl/workbook.xml");
  REQUIRE(wb.find("externalReference") == std::string::npos);  // element and its empty container
  REQUIRE(wb.find("<sheet name=\"Sheet1\"") != std::string::npos);
  std::string ct = zipMemberText(out.data, "[Content_Types].xml");
  REQUIRE(ct.find("macroEnabled") == std::string::npos);
  REQUIRE(ct.find("externalLink") == std::string::npos);

  if (test::toolMissing("unzip")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "book.xlsx";
  test::writeFile(path, out.data);
  if (std::getenv("MUGAI_KEEP_OUT"))
    test::writeFile(std::string(std::getenv("MUGAI_KEEP_OUT")) + "/" + path.filename().string(),
                    out.data);
  requireUnzipOk(path);
  for (const auto& n : unzipNames(path)) REQUIRE_FALSE(activeName(n));
  if (!test::toolMissing("file")) {
    test::writeFile(tmp.path() / "in.xlsm", xlsm());
    auto t = test::runTool({"file", "-b", "--mime-type", (tmp.path() / "in.xlsm").string()});
    INFO(t.output);
    REQUIRE((t.output.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml") ||
             t.output.starts_with("application/vnd.ms-excel.sheet.macroenabled.12")));
  }
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) REQUIRE(text.find(std::string(kSheetText)) != std::string::npos);
}

TEST_CASE("ooxml: a renamed vbaProject is found by its relationship type", "[ooxml][adversarial]") {
  auto m = docmMembers();
  for (auto& [name, data] : m) {
    if (name == "word/vbaProject.bin") name = "word/media/image9.png";
    if (name == "word/_rels/vbaProject.bin.rels") name = "word/media/_rels/image9.png.rels";
    if (name == "word/_rels/document.xml.rels") {
      auto p = data.find("Target=\"vbaProject.bin\"");
      data.replace(p, 23, "Target=\"media/image9.png\"");
    }
  }
  OoxmlSanitizer s(Options{});
  Outcome o = runSanitizer(s, pack(m), "x.docx");
  REQUIRE(o.replacement);
  REQUIRE(hasFinding(o, "removed", "word/media/image9.png"));
  zip::Failure f;
  auto a = zip::Archive::open(o.replacement->data, {}, &f);
  REQUIRE(a);
  REQUIRE_FALSE(a->find("word/media/image9.png"));
  REQUIRE_FALSE(a->find("word/media/_rels/image9.png.rels"));
}

TEST_CASE("ooxml: a part typed as a VBA project goes even when nothing points at it",
          "[ooxml][adversarial]") {
  auto m = docmMembers();
  m.push_back({"word/media/notes.dat", "inert VBA placeholder"});
  for (auto& [name, data] : m) {
    if (name == "[Content_Types].xml")
      data.insert(
          data.find("</Types>"),
          R"(<Override PartName="/word/media/notes.dat" ContentType="application/vnd.ms-office.vbaProject"/>)");
  }
  OoxmlSanitizer s(Options{});
  Outcome o = runSanitizer(s, pack(m), "x.docm");
  REQUIRE(o.replacement);
  REQUIRE(hasFinding(o, "removed", "word/media/notes.dat"));
  REQUIRE(zipMemberText(o.replacement->data, "[Content_Types].xml").find("notes.dat") ==
          std::string::npos);
}

TEST_CASE("ooxml: a plain package is kept and unchanged members are copied raw", "[ooxml]") {
  Members m = docmMembers();
  Members plain;
  for (auto& [n, d] : m) {
    if (n == "word/document.xml") {
      plain.push_back(
          {n,
           "<?xml version=\"1.0\"?><w:document "
           "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/"
           "main\"><w:body><w:p><w:r><w:t>plain</w:t></w:r></w:p></w:body></w:document>"});
    } else if (n == "[Content_Types].xml" || n == "_rels/.rels") {
      plain.push_back({n, d});
    }
  }
  plain[0].second =
      R"(<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)";
  plain.push_back({"word/media/image1.png", chainPng(64, 64)});
  // The image is referenced (a member nothing refers to would be removed).
  const std::string image_rel =
      R"(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.png"/>)";
  plain.push_back(
      {"word/_rels/document.xml.rels",
       R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)" +
           image_rel + "</Relationships>"});
  std::string in = pack(plain);
  OoxmlSanitizer s(Options{});
  REQUIRE(runSanitizer(s, in, "plain.docx").verdict == Verdict::Pass);

  // With an external template added, only the settings and rels change; the image's
  // compressed bytes are copied exactly.
  plain.back().second =
      R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)" +
      image_rel +
      R"(<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/subDocument" Target="\\evil\x\sub.docx" TargetMode="External"/></Relationships>)";
  in = pack(plain);
  Outcome o = runSanitizer(s, in, "plain.docx");
  REQUIRE(o.replacement);
  zip::Failure f;
  auto a = zip::Archive::open(in, {}, &f);
  auto b = zip::Archive::open(o.replacement->data, {}, &f);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->raw(*a->find("word/media/image1.png")) == b->raw(*b->find("word/media/image1.png")));
  REQUIRE(o.replacement->filename.unverifiedValue() == "plain.docx");
  REQUIRE(o.replacement->output_type.empty());
}

TEST_CASE("ooxml: hostile and broken packages fail closed", "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  REQUIRE(runSanitizer(s, "not a zip at all", "a.docx").reason == Reason::ParseMalformed);
  REQUIRE(runSanitizer(s, pack({{"a.txt", "x"}}), "a.docx").reason ==
          Reason::ParseMalformed);  // not OPC
  Members m = docmMembers();
  m.push_back({"../../evil.txt", "x"});
  REQUIRE(runSanitizer(s, pack(m), "a.docx").reason == Reason::ParseMalformed);
  m = docmMembers();
  m.push_back({"word/media/zeros.bin", std::string(4u << 20, '\0')});
  REQUIRE(runSanitizer(s, pack(m), "a.docx").reason == Reason::LimitExpansionRatio);
  Limits few;
  few.document_object_limit = 16;
  m = docmMembers();
  for (int i = 0; i < 10; ++i) m.push_back({"word/media/i" + std::to_string(i) + ".png", "x"});
  REQUIRE(runSanitizer(s, pack(m), "a.docx", few).reason == Reason::LimitDocumentObjects);
  // XML that must change but cannot be read: fail closed, never pass it on.
  m = docmMembers();
  for (auto& [n, d] : m) {
    if (n == "word/settings.xml") d = "<w:settings><w:attachedTemplate r:id=\"rId1\"";
  }
  REQUIRE(runSanitizer(s, pack(m), "a.docm").reason == Reason::ParseMalformed);
  m = docmMembers();
  for (auto& [n, d] : m) {
    if (n == "[Content_Types].xml") d = "<!DOCTYPE x [<!ENTITY e \"e\">]>" + d;
  }
  REQUIRE(runSanitizer(s, pack(m), "a.docm").reason == Reason::ParseMalformed);
  // Encrypted Office documents are OLE2 containers, not ZIP: not ours, and not a package.
  REQUIRE(runSanitizer(s,
                       std::string("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) + std::string(600, '\0'),
                       "a.docx")
              .verdict >= Verdict::PartRemoved);
}

TEST_CASE(
    "ooxml: a field whose code starts with a nested field is neutralised, PAGE and HYPERLINK stay",
    "[ooxml][adversarial]") {
  auto m = docmMembers();
  for (auto& [n, d] : m) {
    if (n != "word/document.xml") continue;
    // { { QUOTE 68 68 69 } "c:\\x.exe" } builds "DDE" at run time; lower case "ddeauto" too.
    std::string extra =
        R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> QUOTE 68 68 69 </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:instrText> "c:\\x.exe"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>nested result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)"
        R"(<w:p><w:fldSimple w:instr="ddeauto x y"><w:r><w:t>lower result</w:t></w:r></w:fldSimple></w:p>)"
        R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "https://example.org/" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>link result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)";
    d.insert(d.find("<w:sectPr/>"), extra);
  }
  OoxmlSanitizer s(Options{});
  Outcome o = runSanitizer(s, pack(m), "x.docm");
  REQUIRE(o.replacement);
  std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
  REQUIRE(doc.find("\"c:\\\\x.exe\"") == std::string::npos);
  REQUIRE(doc.find("ddeauto") == std::string::npos);
  REQUIRE(doc.find("nested result") != std::string::npos);
  REQUIRE(doc.find("lower result") != std::string::npos);
  REQUIRE(doc.find("HYPERLINK \"https://example.org/\"") != std::string::npos);
  REQUIRE(doc.find("link result") != std::string::npos);
}

TEST_CASE("ooxml and odf: random byte flips never crash and what passes is a readable package",
          "[ooxml][odf][adversarial]") {
  OoxmlSanitizer ooxml(Options{});
  mugai::sanitizers::odf::OdfSanitizer odf(mugai::sanitizers::odf::Options{});
  const std::string inputs[] = {docm(), xlsm(), odt()};
  std::uint32_t seed = 12345;
  auto rnd = [&seed]() {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
  };
  int passed = 0, failed = 0;
  for (int round = 0; round < 600; ++round) {
    std::size_t which = static_cast<std::size_t>(round % 3);
    std::string data = inputs[which];
    int flips = 1 + static_cast<int>(rnd() % 4);
    for (int k = 0; k < flips; ++k) data[rnd() % data.size()] = static_cast<char>(rnd() & 0xff);
    const Sanitizer& s = which == 2 ? static_cast<const Sanitizer&>(odf) : ooxml;
    Outcome o = runSanitizer(s, data, which == 2 ? "x.odt" : "x.docm");
    if (o.verdict >= Verdict::PartRemoved) {
      ++failed;
      continue;
    }
    ++passed;
    const std::string& out = o.replacement ? o.replacement->data : data;
    zip::Failure f;
    auto a = zip::Archive::open(out, {}, &f);
    INFO("round " << round << ": " << f.detail);
    REQUIRE(a);
    for (const auto& e : a->entries()) {
      INFO(e.name);
      REQUIRE(e.name.find("vbaProject.bin") == std::string::npos);
      REQUIRE_FALSE(e.name.starts_with("Basic/"));
      REQUIRE_FALSE(a->verify(e));
    }
  }
  WARN("byte flips: " << passed << " rebuilt or kept, " << failed << " failed closed");
}

// Red-team findings (2026-11-23): each was delivered with its active part before the fix.
namespace {

std::string docxWith(const std::string& body, const std::string& extra_rels = "",
                     const mugai::test::office::Members& extra = {}) {
  auto m = mugai::test::office::docmMembers();
  for (auto& [name, data] : m) {
    if (name == "word/document.xml") {
      data = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:document xmlns:x="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:body>)" +
             body + "<x:p><x:r><x:t>kept text</x:t></x:r></x:p></x:body></x:document>";
    }
    if (name == "word/_rels/document.xml.rels" && !extra_rels.empty()) {
      data.insert(data.rfind("</Relationships>"), extra_rels);
    }
  }
  for (const auto& e : extra) m.push_back(e);
  return mugai::test::office::pack(m);
}

}  // namespace

TEST_CASE("ooxml: DDE fields are found under any namespace prefix and inside CDATA",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  for (const std::string& body :
       {std::string(R"(<x:p><x:fldSimple x:instr="DDEAUTO c:\\windows\\system32\\cmd.exe &quot;/k calc&quot;"><x:r><x:t>r</x:t></x:r></x:fldSimple></x:p>)"),
        std::string(R"(<x:p><x:r><x:fldChar x:fldCharType="begin"/></x:r><x:r><x:instrText><![CDATA[DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc"]]></x:instrText></x:r><x:r><x:fldChar x:fldCharType="separate"/></x:r><x:r><x:t>r</x:t></x:r><x:r><x:fldChar x:fldCharType="end"/></x:r></x:p>)")}) {
    Outcome o = runSanitizer(s, docxWith(body), "dde.docx");
    REQUIRE(o.replacement);
    std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
    INFO(doc);
    CHECK(doc.find("DDEAUTO") == std::string::npos);
    CHECK(doc.find("kept text") != std::string::npos);
  }
}

TEST_CASE("ooxml: altChunk imports, data connections and program links are removed",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  std::string rels =
      R"(<Relationship Id="rId20" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk" Target="chunk.rtf"/>)"
      R"(<Relationship Id="rId21" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="file:///C:\Windows\System32\cmd.exe" TargetMode="External"/>)";
  std::string body = R"(<x:altChunk r:id="rId20"/><x:p><x:hyperlink r:id="rId21"><x:r><x:t>click</x:t></x:r></x:hyperlink></x:p>)";
  Outcome o = runSanitizer(s, docxWith(body, rels, {{"word/chunk.rtf", "{\\rtf1 {\\object\\objdata 0102}}"}}),
                           "chunk.docx");
  REQUIRE(o.replacement);
  CHECK(zipMemberText(o.replacement->data, "word/chunk.rtf").empty());  // the chunk is gone
  std::string rels_out = zipMemberText(o.replacement->data, "word/_rels/document.xml.rels");
  CHECK(rels_out.find("aFChunk") == std::string::npos);
  CHECK(rels_out.find("cmd.exe") == std::string::npos);
  CHECK(rels_out.find("http://example.org/") != std::string::npos);  // web links stay
}
