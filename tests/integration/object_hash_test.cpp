// Issue 12: the vault record carries the SHA-256 of every object a rebuilder took out of a
// document. `mugai mail --vault` writes the record, `mugai vault --json show` lists the objects;
// each hash is checked against one computed outside mugai: python3's zipfile + hashlib on the
// very package sent (OOXML parts), sha256sum on the bytes the test wrote into a .doc's streams, a
// PDF's script and embedded file, an RTF object's data and an archive member.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "integration/peers.h"
#include "sanitizers/ole2/ole2.h"
#include "src/zip/zip.h"
#include "support/raw_pdf.h"
#include "support/test_support.h"
#include "unit/sanitizers/office_fixtures.h"

namespace fs = std::filesystem;
using namespace mugai::test;

namespace {

struct Object {
  std::string part, what, action, sha256;
};

struct Vaulted {
  TempDir tmp;
  std::string vault = "sqlite:" + (tmp.path() / "vault.db").string();
  std::string rules = (sourceDir() / "rules" / "default.yaml").string();
  int n = 0;

  int mugai(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv{MUGAI_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const int rc = run(argv, out, 180);
    UNSCOPED_INFO("mugai " << Catch::Detail::stringify(args) << " -> " << rc << "\n" << *out);
    return rc;
  }
  /// Sends `mail` through `mugai mail --vault`; the record's objects as `vault --json show` lists them.
  std::vector<Object> record(const std::string& mail) {
    const std::string name = "m" + std::to_string(++n);
    writeFile(tmp.path() / (name + ".eml"), mail);
    std::string out;
    const int rc = mugai({"mail", (tmp.path() / (name + ".eml")).string(), "-o", (tmp.path() / (name + ".out")).string(),
                          "--report", (tmp.path() / (name + ".json")).string(), "--vault", vault, "--rules", rules,
                          "--rcpt", "tanaka@city.example.lg.jp"},
                         &out);
    REQUIRE((rc == 0 || rc == 3));
    const std::string report = readFile(tmp.path() / (name + ".json"));
    const auto at = report.find("\"id\":\"");
    REQUIRE(at != std::string::npos);
    const std::string id = report.substr(at + 6, report.find('"', at + 6) - at - 6);
    REQUIRE(mugai({"vault", "--vault", vault, "--rules", rules, "--json", "show", id}, &out) == 0);
    Poco::JSON::Object::Ptr o = Poco::JSON::Parser().parse(out).extract<Poco::JSON::Object::Ptr>();
    Poco::JSON::Array::Ptr objects = o->getArray("objects");
    REQUIRE(objects);
    std::vector<Object> list;
    for (std::size_t i = 0; i < objects->size(); ++i) {
      Poco::JSON::Object::Ptr x = objects->getObject(static_cast<unsigned>(i));
      list.push_back({x->getValue<std::string>("part"), x->getValue<std::string>("what"),
                      x->getValue<std::string>("action"), x->getValue<std::string>("sha256")});
    }
    return list;
  }
  /// sha256sum of `bytes`, written to a file of their own.
  std::string sha256sum(const std::string& bytes) {
    const fs::path p = tmp.path() / ("bytes" + std::to_string(++n));
    writeFile(p, bytes);
    std::string out;
    REQUIRE(run({"/usr/bin/sha256sum", p.string()}, &out) == 0);
    return out.substr(0, 64);
  }
  /// python3: the SHA-256 of member `member` of the ZIP package `package`, read by zipfile.
  std::string memberSha256(const std::string& package, const std::string& member) {
    const fs::path p = tmp.path() / ("pkg" + std::to_string(++n) + ".zip");
    writeFile(p, package);
    std::string out;
    REQUIRE(run({"/usr/bin/python3", "-c",
                 "import hashlib,sys,zipfile\n"
                 "print(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2])).hexdigest())",
                 p.string(), member},
                &out) == 0);
    return out.substr(0, 64);
  }
};

/// The object whose name starts with `what` (and whose part starts with `part`), or nullptr.
const Object* find(const std::vector<Object>& list, const std::string& what, const std::string& part = "") {
  for (const auto& o : list)
    if (o.what.rfind(what, 0) == 0 && o.part.rfind(part, 0) == 0) return &o;
  return nullptr;
}

bool anyWithHash(const std::vector<Object>& list, const std::string& sha) {
  for (const auto& o : list)
    if (o.sha256 == sha) return true;
  return false;
}

std::string listing(const std::vector<Object>& list) {
  std::string s;
  for (const auto& o : list) s += o.part + " | " + o.what + " | " + o.action + " | " + o.sha256 + "\n";
  return s;
}

std::string mailWith(const std::vector<std::pair<std::string, std::string>>& files,
                     const std::string& text = "see attached\r\n") {
  std::string m =
      "From: partner@example.co.jp\r\nTo: tanaka@city.example.lg.jp\r\nSubject: objects\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\n" + text;
  for (const auto& [name, data] : files) {
    m += "--b\r\nContent-Type: application/octet-stream; name=\"" + name +
         "\"\r\nContent-Disposition: attachment; filename=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64(data) + "\r\n";
  }
  return m + "--b--\r\n";
}

/// A Word 97 FIB (wIdent 0xA5EC, nFib 0x00C1, not encrypted) and some text bytes.
std::string wordStream() {
  std::string s(1024, '\0');
  s[0] = '\xEC';
  s[1] = '\xA5';
  s[2] = '\xC1';
  for (std::size_t i = 0x20; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

const std::string kModule = "Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()\r\n  MsgBox \"inert\"\r\nEnd Sub\r\n";
const std::string kProject = "ID=\"{00000000-0000-0000-0000-000000000000}\"\r\nDocument=ThisDocument/&H00000000\r\n";
const std::string kNative = std::string("\x20\x00\x00\x00", 4) + "inert embedded package bytes";

std::string docWithVba() {
  return mugai::sanitizers::ole2::writeCompoundFile({
      {"WordDocument", wordStream()},
      {"1Table", std::string(700, 'T')},
      {"Macros/VBA/dir", std::string(300, 'd')},
      {"Macros/VBA/ThisDocument", kModule},
      {"Macros/PROJECT", kProject},
      {"ObjectPool/_1234/\x01Ole10Native", kNative},
  });
}

/// A one-page PDF whose catalog opens a script and names an embedded file; offsets computed, so
/// no repair is needed.
const std::string kScript = "app.alert('inert')";
const std::string kAttached = "inert attached file\n";

std::string pdfWithScript() {
  const std::string content = "0 0 m 100 100 l S\n";
  const std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /Names << /EmbeddedFiles << /Names [(note.txt) 5 0 R] >> >> >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 7 0 R >>",
      "<< /S /JavaScript /JS (" + kScript + ") >>",
      "<< /Type /Filespec /F (note.txt) /EF << /F 6 0 R >> >>",
      "<< /Type /EmbeddedFile /Length " + std::to_string(kAttached.size()) + " >>\nstream\n" + kAttached + "\nendstream",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
  };
  return mugai::test::pdfFromObjects(objs, "1.7");
}

const std::string kObjData = std::string("\x01\x05\x00\x00\x02\x00\x00\x00", 8) + "inert OLE1 object data";

std::string rtfWithObject() {
  static const char* hex = "0123456789abcdef";
  std::string h;
  for (std::size_t i = 0; i < kObjData.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(kObjData[i]);
    h += hex[c >> 4];
    h += hex[c & 15];
    if (i % 16 == 15) h += "\r\n";  // readers skip line breaks inside the hex
  }
  return "{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 Before the object.\\par\n"
         "{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata " +
         h + "}{\\result {\\pict\\pngblip\\picw1\\pich1 00}}}\\par After.}\n";
}

}  // namespace

TEST_CASE("vault: each object taken out of a .docm, .xlsm, .odt, .doc, PDF, RTF and a text body "
          "carries the SHA-256 of its own bytes", "[integration][vault][objhash]") {
  if (anyMissing({"/usr/bin/python3", "/usr/bin/sha256sum"})) return;
  Vaulted v;
  const std::string docm = mugai::test::office::docm();
  const std::string xlsm = mugai::test::office::xlsm();
  const std::string doc = docWithVba();
  REQUIRE_FALSE(doc.empty());
  const std::string odt = mugai::test::office::odt();
  const std::string uu_file = "notes written into the text body\n";
  const std::string text = "see attached\r\nbegin-base64 644 notes.txt\r\n" + base64(uu_file) + "\r\n====\r\nthanks\r\n";
  const std::vector<Object> objects = v.record(mailWith({{"a.docm", docm}, {"b.xlsm", xlsm}, {"c.doc", doc},
                                                         {"d.pdf", pdfWithScript()}, {"e.rtf", rtfWithObject()},
                                                         {"f.odt", odt}},
                                                        text));
  INFO(listing(objects));
  // OOXML: the parts dropped, each hashed as python's zipfile reads it out of the package sent.
  for (const char* part : {"word/vbaProject.bin", "word/activeX/activeX1.bin", "word/embeddings/oleObject1.bin"}) {
    const Object* o = find(objects, part);
    REQUIRE(o);
    CHECK(o->action == "removed");
    CHECK(o->sha256 == v.memberSha256(docm, part));
  }
  const Object* xl = find(objects, "xl/vbaProject.bin");
  REQUIRE(xl);
  CHECK(xl->sha256 == v.memberSha256(xlsm, "xl/vbaProject.bin"));
  // ODF: the Basic library's members.
  const Object* basic = find(objects, "Basic/Standard/Module1.xml");
  REQUIRE(basic);
  CHECK(basic->sha256 == v.memberSha256(odt, "Basic/Standard/Module1.xml"));
  // A file written into the text body (uuencode, base64 form): the decoded file.
  const Object* uu = find(objects, "notes.txt");
  REQUIRE(uu);
  CHECK(uu->sha256 == v.sha256sum(uu_file));
  // .doc: the VBA storage has no bytes of its own ("-"); each stream in it is listed with its hash.
  const Object* macros = find(objects, "Macros (VBA project)");
  REQUIRE(macros);
  CHECK(macros->sha256.empty());
  const Object* module = find(objects, "Macros/VBA/ThisDocument");
  REQUIRE(module);
  CHECK(module->sha256 == v.sha256sum(kModule));
  const Object* project = find(objects, "Macros/PROJECT");
  REQUIRE(project);
  CHECK(project->sha256 == v.sha256sum(kProject));
  const Object* native = find(objects, "ObjectPool/_1234/\\x01Ole10Native");
  REQUIRE(native);
  CHECK(native->sha256 == v.sha256sum(kNative));
  // PDF: the script's text and the embedded file's data.
  const std::string script = v.sha256sum(kScript);
  const Object* js = find(objects, "JavaScript action");
  REQUIRE(js);
  CHECK(js->sha256 == script);
  const Object* open = find(objects, "/OpenAction");
  REQUIRE(open);
  CHECK(open->sha256 == script);  // the action it pointed at: the same script
  const Object* ef = find(objects, "embedded file note.txt");
  REQUIRE(ef);
  CHECK(ef->sha256 == v.sha256sum(kAttached));
  const Object* tree = find(objects, "/EmbeddedFiles (names tree)");
  REQUIRE(tree);
  CHECK(tree->sha256.empty());  // a names tree: no bytes of its own, its entries are listed
  // RTF: the object's \objdata, hex decoded.
  const Object* rtf_object = find(objects, "\\object (embedded object");
  REQUIRE(rtf_object);
  CHECK(rtf_object->sha256 == v.sha256sum(kObjData));
}

TEST_CASE("vault: an archive member removed carries its own SHA-256, in the archive's list and as "
          "an object of its own, and an archive the scanner flags whole is the object", "[integration][vault][objhash]") {
  if (anyMissing({"/usr/bin/sha256sum"})) return;
  Vaulted v;
  const std::string script = "@echo off\r\necho inert\r\n";
  SECTION("a member the rules deny (.bat)") {
    mugai::zip::Writer w;
    REQUIRE(w.addDeflated("readme.txt", "the other member stays\n"));
    REQUIRE(w.addDeflated("tools/run.bat", script));
    const std::vector<Object> objects = v.record(mailWith({{"files.zip", *w.finish()}}));
    INFO(listing(objects));
    const std::string expected = v.sha256sum(script);
    // The member's own row (PART/N, removed by extension) and the archive's "removed_member" line.
    int with_hash = 0;
    for (const auto& o : objects)
      if (o.sha256 == expected && o.what.find("run.bat") != std::string::npos) ++with_hash;
    CHECK(with_hash == 2);
    CHECK_FALSE(anyWithHash(objects, v.sha256sum("the other member stays\n")));  // kept: not an object
  }
  SECTION("an EICAR member: libclamav flags the archive, which goes whole") {
    const fs::path eicar_file = generatedDir() / "eicar.com";
    if (!fs::exists(eicar_file)) return;
    mugai::zip::Writer w;
    REQUIRE(w.addDeflated("readme.txt", "the other member stays\n"));
    REQUIRE(w.addDeflated("tools/eicar.com", readFile(eicar_file)));
    const std::string zip = *w.finish();
    const std::vector<Object> objects = v.record(mailWith({{"files.zip", zip}}));
    INFO(listing(objects));
    const Object* o = find(objects, "files.zip");
    REQUIRE(o);
    CHECK(o->action == "removed");
    CHECK(o->sha256 == v.sha256sum(zip));
  }
}
