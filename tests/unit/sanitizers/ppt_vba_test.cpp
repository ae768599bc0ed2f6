// Issue 10 (formats): PowerPoint VBA is cut out of a .ppt instead of the whole file being refused.
// Presentations are built here record by record, and one is written by LibreOffice (the real
// peer) and given a VBA project the way PowerPoint stores one: an ExOleObjStg record appended
// with an incremental save (persist directory + UserEditAtom), named by the VBAInfoAtom.
#include <catch2/catch.hpp>

#include "sanitizers/ole2/ole2.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"

using namespace mugai;
using namespace mugai::sanitizers::ole2;
namespace fs = std::filesystem;

namespace {

std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::uint32_t rd32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
void put32(std::string& s, std::size_t at, std::uint32_t v) { s.replace(at, 4, le32(v)); }

std::string rec(std::uint16_t ver_inst, std::uint16_t type, const std::string& body) {
  std::string r;
  r += static_cast<char>(ver_inst & 0xFF);
  r += static_cast<char>(ver_inst >> 8);
  r += static_cast<char>(type & 0xFF);
  r += static_cast<char>(type >> 8);
  return r + le32(static_cast<std::uint32_t>(body.size())) + body;
}

const std::string kMarker = "MUGAI-VBA-MARKER Sub AutoOpen() Shell \"calc\"";

std::string vbaStorage() {
  return writeCompoundFile({{"VBA/dir", kMarker}, {"VBA/Module1", kMarker}, {"PROJECT", "Module=Module1"}});
}

Outcome runPpt(const std::vector<CompoundEntry>& entries, sanitizers::ole2::Options options = {}) {
  return mugai::test::applyOnce(Ole2Sanitizer(options),
                                mugai::test::partOf(writeCompoundFile(entries), "application/vnd.ms-powerpoint"),
                                Limits{});
}

/// A synthetic presentation: DocumentContainer { DocInfoList { VBAInfo { atom(ref, has) } } },
/// then the given ExOleObjStg records, one persist directory (ids 1.. = the document and the
/// objects), one UserEditAtom, and the Current User stream pointing at it.
std::vector<CompoundEntry> synthetic(std::uint32_t vba_ref, std::uint32_t has_macros,
                                     const std::vector<std::string>& objects) {
  std::string s = rec(0x000F, 0x03E8,
                      rec(0x000F, 0x07D0,
                          rec(0x000F, 0x03FF, rec(0x0002, 0x0400, le32(vba_ref) + le32(has_macros) + le32(2)))));
  std::vector<std::uint32_t> offsets{0};
  for (const std::string& o : objects) {
    offsets.push_back(static_cast<std::uint32_t>(s.size()));
    s += rec(0x0000, 0x1011, o);
  }
  std::uint32_t dir = static_cast<std::uint32_t>(s.size());
  std::string entries = le32(1u | (static_cast<std::uint32_t>(offsets.size()) << 20));
  for (std::uint32_t o : offsets) entries += le32(o);
  s += rec(0x0000, 0x1772, entries);
  std::uint32_t edit = static_cast<std::uint32_t>(s.size());
  s += rec(0x0000, 0x0FF5,
           le32(256) + std::string("\x00\x00\x00\x03", 4) + le32(0) + le32(dir) + le32(1) +
               le32(static_cast<std::uint32_t>(offsets.size())) + std::string(4, '\0'));
  std::string cu = rec(0x0000, 0x0FF6, le32(20) + le32(0xE391C05Fu) + le32(edit) + std::string(8, '\0'));
  return {{"PowerPoint Document", s}, {"Current User", cu}};
}

}  // namespace

TEST_CASE("ppt: a VBA project is cut out, the presentation kept", "[ole2][pptvba]") {
  const std::string vba = vbaStorage();
  Outcome o = runPpt(synthetic(2, 1, {vba}));
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason == Reason::CdrRebuilt);
  CHECK(mugai::test::hasFinding(o, "removed", "PowerPoint VBA project (ExOleObjStg, persist id 2", true));
  // The vault's object: the ExOleObjStg record's data as stored.
  CHECK(mugai::test::findingSha256(o, "removed", "PowerPoint VBA project") ==
        mugai::test::opensslSha256(vba));
  CHECK(o.replacement->data.find("MUGAI-VBA-MARKER") == std::string::npos);
  auto doc = readCompoundStream(o.replacement->data, "PowerPoint Document");
  REQUIRE(doc);
  auto atom = doc->find(std::string("\x02\x00\x00\x04\x0c\x00\x00\x00", 8));
  REQUIRE(atom != std::string::npos);
  CHECK(rd32(*doc, atom + 8) == 0);   // persistIdRef
  CHECK(rd32(*doc, atom + 12) == 0);  // fHasMacros
  // Rebuilt again: nothing more to cut.
  CHECK(runPpt({{"PowerPoint Document", *doc}, {"Current User", *readCompoundStream(o.replacement->data, "Current User")}})
            .reason == Reason::CdrConverted);
  // fHasMacros alone (no storage named): the flag goes.
  Outcome flag = runPpt(synthetic(0, 1, {}));
  REQUIRE(flag.verdict == Verdict::Modified);
  CHECK(mugai::test::hasFinding(flag, "removed", "PowerPoint VBA flag (fHasMacros)"));
  CHECK(mugai::test::findingSha256(flag, "removed", "PowerPoint VBA flag").empty());  // a flag: no bytes
  // macros: remove still removes the whole file.
  sanitizers::ole2::Options remove;
  remove.remove_on_macros = true;
  CHECK(runPpt(synthetic(2, 1, {vbaStorage()}), remove).reason == Reason::ContentActive);
}

TEST_CASE("ppt: what cannot be located or is not VBA still fails closed", "[ole2][pptvba][adversarial]") {
  // An embedded object beside the project: objects are not cut out, the file is refused.
  Outcome both = runPpt(synthetic(2, 1, {vbaStorage(), vbaStorage()}));
  CHECK(both.reason == Reason::ContentActive);
  CHECK(!both.replacement);
  // The atom names a persist id the directory does not have, or one that is not an ExOleObjStg.
  CHECK(runPpt(synthetic(7, 1, {vbaStorage()})).reason == Reason::ContentActive);
  CHECK(runPpt(synthetic(1, 1, {vbaStorage()})).reason == Reason::ContentActive);  // id 1: the document
  // No Current User stream (nothing to follow), or one whose edit offset is off the records.
  auto e = synthetic(2, 1, {vbaStorage()});
  CHECK(runPpt({e[0]}).reason == Reason::ContentActive);
  put32(e[1].data, 16, 3);
  CHECK(runPpt(e).reason == Reason::ContentActive);
  // A cycle in the edit chain.
  auto c = synthetic(2, 1, {vbaStorage()});
  std::uint32_t edit = rd32(c[1].data, 16);
  put32(c[0].data, edit + 8 + 8, edit);  // offsetLastEdit -> itself
  CHECK(runPpt(c).reason == Reason::ContentActive);
}

TEST_CASE("ppt: a LibreOffice presentation given a VBA project is rebuilt and still opens",
          "[ole2][pptvba][integration]") {
  if (mugai::test::toolMissing("soffice") || mugai::test::toolMissing("pdftotext")) return;
  mugai::test::TempDir tmp;
  mugai::test::writeFile(
      tmp.path() / "deck.fodp",
      R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation"><office:body><office:presentation>
<draw:page draw:name="p1"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box><text:p>HELLO SLIDE ONE</text:p></draw:text-box></draw:frame></draw:page>
</office:presentation></office:body></office:document>
)");
  std::string profile = "-env:UserInstallation=file://" + (tmp.path() / "lo").string();
  auto conv = mugai::test::runTool({"soffice", profile, "--headless", "--convert-to", "ppt", "--outdir",
                                    tmp.path().string(), (tmp.path() / "deck.fodp").string()});
  REQUIRE(conv.exit_code == 0);
  std::string lo = mugai::test::readFile(tmp.path() / "deck.ppt");
  // Without macros, LibreOffice's .ppt (its empty VBAInfoAtom) is rebuilt, not refused.
  Outcome plain = mugai::test::applyOnce(Ole2Sanitizer({}), mugai::test::partOf(lo, "application/vnd.ms-powerpoint"));
  INFO(plain.detail);
  CHECK(plain.verdict == Verdict::Modified);

  std::string doc = *readCompoundStream(lo, "PowerPoint Document");
  std::string cu = *readCompoundStream(lo, "Current User");
  // An incremental save that adds the project: ExOleObjStg, persist directory, UserEditAtom.
  std::uint32_t edit = rd32(cu, 16);
  std::string ue = doc.substr(edit + 8, rd32(doc, edit + 4));
  std::uint32_t id = rd32(ue, 20) + 1;
  std::uint32_t obj = static_cast<std::uint32_t>(doc.size());
  doc += rec(0x0000, 0x1011, vbaStorage());
  std::uint32_t dir = static_cast<std::uint32_t>(doc.size());
  doc += rec(0x0000, 0x1772, le32(id | (1u << 20)) + le32(obj));
  put32(ue, 8, edit);
  put32(ue, 12, dir);
  put32(ue, 20, id);
  std::uint32_t new_edit = static_cast<std::uint32_t>(doc.size());
  doc += rec(0x0000, 0x0FF5, ue);
  put32(cu, 16, new_edit);
  auto atom = doc.find(std::string("\x02\x00\x00\x04\x0c\x00\x00\x00", 8));
  REQUIRE(atom != std::string::npos);
  put32(doc, atom + 8, id);
  put32(doc, atom + 12, 1);
  std::vector<CompoundEntry> entries{{"PowerPoint Document", doc}, {"Current User", cu}};
  for (const char* name : {"Pictures", "\x05SummaryInformation", "\x05" "DocumentSummaryInformation"})
    if (auto s = readCompoundStream(lo, name)) entries.push_back({name, *s});

  Outcome o = runPpt(entries);
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason == Reason::CdrRebuilt);
  CHECK(o.replacement->data.find("MUGAI-VBA-MARKER") == std::string::npos);
  fs::create_directories(tmp.path() / "out");
  mugai::test::writeFile(tmp.path() / "out" / "clean.ppt", o.replacement->data);
  auto pdf = mugai::test::runTool({"soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
                                   (tmp.path() / "out").string(), (tmp.path() / "out" / "clean.ppt").string()});
  REQUIRE(pdf.exit_code == 0);
  auto text = mugai::test::runTool({"pdftotext", (tmp.path() / "out" / "clean.pdf").string(), "-"});
  CHECK(text.output.find("HELLO SLIDE ONE") != std::string::npos);
}
