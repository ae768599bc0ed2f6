// ooxml_parts, odf_parts: the rebuilders' XML handling, reached directly. Mutating a whole .docx
// or .odt mostly breaks its deflate streams and CRCs, so the `ooxml`/`odf` targets spend their
// time in the ZIP reader; here the fuzz input is one XML member, and the target wraps it in a
// small valid package (src/zip Writer) before the sanitizer runs. Byte 0 picks the member.
#include <string>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "src/zip/zip.h"

using namespace mugai;

namespace {

struct Member {
  const char* name;
  const char* xml;
};

const char kDocTypes[] =
    R"x(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)x"
    R"x(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">)x"
    R"x(<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>)x"
    R"x(<Default Extension="xml" ContentType="application/xml"/>)x"
    R"x(<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>)x"
    R"x(<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>)x"
    R"x(<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>)x"
    R"x(</Types>)x";
const char kRootRels[] =
    R"x(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)x"
    R"x(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)x"
    R"x(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>)x"
    R"x(</Relationships>)x";
const char kDocRels[] =
    R"x(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)x"
    R"x(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)x"
    R"x(<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.jp/" TargetMode="External"/>)x"
    R"x(</Relationships>)x";
const char kDocument[] =
    R"x(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)x"
    R"x(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">)x"
    R"x(<w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p><w:p><w:hyperlink r:id="rId2"><w:r><w:t>link</w:t></w:r></w:hyperlink></w:p>)x"
    R"x(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:body></w:document>)x";
const char kSheet[] =
    R"x(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)x"
    R"x(<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>)x"
    R"x(<row r="1"><c r="A1"><f>SUM(1,2)</f><v>3</v></c><c r="B1" t="str"><f>WEBSERVICE("http://x/")</f><v>x</v></c></row>)x"
    R"x(</sheetData></worksheet>)x";

const char kOdfManifest[] =
    R"x(<?xml version="1.0" encoding="UTF-8"?>)x"
    R"x(<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">)x"
    R"x(<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>)x"
    R"x(<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>)x"
    R"x(<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>)x"
    R"x(</manifest:manifest>)x";
const char kOdfContent[] =
    R"x(<?xml version="1.0" encoding="UTF-8"?>)x"
    R"x(<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">)x"
    R"x(<office:body><office:text><text:p>Hello <text:a xlink:href="https://example.jp/">link</text:a></text:p>)x"
    R"x(<table:table><table:table-row><table:table-cell table:formula="of:=SUM([.A1])"/></table:table-row></table:table></office:text></office:body></office:document-content>)x";
const char kOdfStyles[] =
    R"x(<?xml version="1.0" encoding="UTF-8"?>)x"
    R"x(<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"><office:styles/></office:document-styles>)x";

void runPackage(const char* sanitizer, const char* mime, const char* filename, bool odf,
                std::initializer_list<Member> members, std::size_t fuzzed, std::string_view data) {
  zip::Writer w;
  if (odf) w.addStored("mimetype", "application/vnd.oasis.opendocument.text", false);
  std::size_t i = 0;
  for (const Member& m : members) {
    std::string_view body = i++ == fuzzed ? data : std::string_view(m.xml);
    if (!w.addDeflated(m.name, body)) return;
  }
  auto package = w.finish();
  if (!package) return;
  auto s = fuzz::defaultSanitizer(sanitizer);
  if (!s) fuzz::fail("sanitizer not registered");
  fuzz::applySanitizer(*s, std::move(*package), mime, filename);
}

}  // namespace

MUGAI_FUZZ_TARGET(ooxml_parts) {
  fuzz::Input in(data, size);
  std::uint8_t pick = in.byte();
  runPackage("sanitizer.ooxml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "fuzz.docx", false,
             {{"[Content_Types].xml", kDocTypes}, {"_rels/.rels", kRootRels},
              {"word/_rels/document.xml.rels", kDocRels}, {"word/document.xml", kDocument},
              {"xl/worksheets/sheet1.xml", kSheet}},
             pick % 5, in.rest());
  return 0;
}

MUGAI_FUZZ_TARGET(odf_parts) {
  fuzz::Input in(data, size);
  std::uint8_t pick = in.byte();
  runPackage("sanitizer.odf", "application/vnd.oasis.opendocument.text", "fuzz.odt", true,
             {{"META-INF/manifest.xml", kOdfManifest}, {"content.xml", kOdfContent},
              {"styles.xml", kOdfStyles}},
             pick % 3, in.rest());
  return 0;
}
