// sanitizer.ooxml, red-team gaps of 2026-11-23: package members nothing refers to. Fixtures are
// built here; results are checked with python3's zipfile (independent of our reader) and, when
// installed, LibreOffice.
#include <catch2/catch.hpp>

#include "sanitizers/ooxml/ooxml.h"
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

/// python3 (zipfile + ElementTree), independent of our reader: prints each member, then
/// "ORPHAN <name>" for every member that is neither [Content_Types].xml, a relationships part of
/// a reachable part, nor reachable from _rels/.rels through internal relationships.
constexpr const char* kOrphanCheck = R"PY(
import sys, zipfile, posixpath, urllib.parse, re
from xml.etree import ElementTree as ET
z = zipfile.ZipFile(sys.argv[1])
names = {n.lower(): n for n in z.namelist()}
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
  m.push_back({"word/media/image1.png", "\x89PNG placeholder"});
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
        "word/media/image1.png"}) {
    INFO(kept);
    CHECK(a->find(kept));
  }
  CHECK(a->entries().size() == 11);

  // Independent: python's zipfile lists exactly those, and finds no orphan among them.
  auto names = pythonMembers(out);
  if (!names.empty()) {
    CHECK(names.size() == 11);
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

  Members norels;
  for (const auto& [n, data] : docmMembers()) {
    if (n != "_rels/.rels") norels.push_back({n, data});
  }
  CHECK(runSanitizer(s, pack(norels), "x.docx").reason == Reason::ParseMalformed);
}
