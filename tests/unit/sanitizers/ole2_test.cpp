// sanitizer.ole2: compound files built in code with libgsf's writer, plus the corpus' real .xls
// files; checked with olefile (python3), LibreOffice + pdftotext and clamscan where installed.
#include "sanitizers/ole2/ole2.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <thread>

#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"

using namespace mugai;
using namespace mugai::sanitizers::ole2;
namespace fs = std::filesystem;

namespace {

Outcome run(const std::string& data, Options options = {}, Limits limits = {}) {
  return mugai::test::applyOnce(Ole2Sanitizer(options),
                                mugai::test::partOf(data, "application/msword"), limits);
}

bool hasFinding(const Outcome& o, const std::string& value) {
  return mugai::test::hasFinding(o, "removed", value);
}

/// The "removed" findings (the notice's list); "removed_object" ones only carry hashes.
std::size_t removedCount(const Outcome& o) {
  return static_cast<std::size_t>(
      std::count_if(o.findings.begin(), o.findings.end(), [](const Finding& f) { return f.key == "removed"; }));
}

/// A Word 97 FibBase: wIdent 0xA5EC, nFib 0x00C1, flags at 0x0A (0x0100 = fEncrypted).
std::string wordStream(std::uint16_t flags, std::size_t size = 1024) {
  std::string s(size, '\0');
  s[0] = '\xEC';
  s[1] = '\xA5';
  s[2] = '\xC1';
  s[3] = '\x00';
  s[0x0A] = static_cast<char>(flags & 0xFF);
  s[0x0B] = static_cast<char>(flags >> 8);
  for (std::size_t i = 0x20; i < size; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::string record16(std::uint16_t type, const std::string& body) {
  std::string r;
  r += static_cast<char>(type & 0xFF);
  r += static_cast<char>(type >> 8);
  r += static_cast<char>(body.size() & 0xFF);
  r += static_cast<char>(body.size() >> 8);
  return r + body;
}

/// BIFF8 globals: BOF, [FILEPASS], a label-ish record, EOF.
std::string workbookStream(bool filepass) {
  std::string w = record16(0x0809, std::string("\x00\x06\x05\x00", 4) + std::string(12, '\0'));
  if (filepass)
    w += record16(0x002F, std::string("\x01\x00\x01\x00\x01\x00", 6) + std::string(48, '\x11'));
  w += record16(0x0042, std::string("\xE4\x04", 2));  // CODEPAGE
  w += record16(0x000A, "");
  return w + std::string(3000, '\0');
}

std::string pptRecord(std::uint16_t ver_inst, std::uint16_t type, const std::string& body) {
  std::string r;
  r += static_cast<char>(ver_inst & 0xFF);
  r += static_cast<char>(ver_inst >> 8);
  r += static_cast<char>(type & 0xFF);
  r += static_cast<char>(type >> 8);
  std::uint32_t n = static_cast<std::uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) r += static_cast<char>((n >> (8 * i)) & 0xFF);
  return r + body;
}

std::string eicar() {
  fs::path p = mugai::test::generatedDir() / "eicar.com";
  std::error_code ec;
  if (!fs::exists(p, ec))
    return "X5O-not-eicar-placeholder";  // fixtures not generated: clean stand-in
  return mugai::test::readFile(p);
}

std::string docLike() {
  return writeCompoundFile({
      {"WordDocument", wordStream(0)},
      {"1Table", std::string(700, 'T')},
      {"\x05SummaryInformation", std::string(200, 'S')},
      {"Macros/VBA/dir", std::string(300, 'd')},
      {"Macros/VBA/_VBA_PROJECT", std::string(7, 'v')},
      {"Macros/VBA/ThisDocument", "Sub AutoOpen()\r\n Shell \"calc\"\r\nEnd Sub\r\n"},
      {"Macros/PROJECT", "ID=\"{00000000}\"\r\nDocument=ThisDocument/&H00000000\r\n"},
      {"ObjectPool/_1234/\x01Ole10Native", std::string("\x40\x00\x00\x00\x02\x00", 6) + eicar()},
      {"ObjectPool/_1234/\x01"
       "CompObj",
       std::string(80, 'c')},
      {"Data", std::string(5000, 'D')},
      {"Link/\x01Ole", std::string("\x01\x00\x00\x02\x01\x00\x00\x00", 8) + std::string(12, '\0')},
  });
}

std::string xlsLike(bool filepass) {
  return writeCompoundFile({
      {"Workbook", workbookStream(filepass)},
      {"\x05SummaryInformation", std::string(200, 'S')},
      {"_VBA_PROJECT_CUR/VBA/dir", std::string(300, 'd')},
      {"_VBA_PROJECT_CUR/VBA/Module1", "Sub Workbook_Open()\r\nEnd Sub\r\n"},
      {"_VBA_PROJECT_CUR/PROJECT", "ID=\"{1}\"\r\n"},
      {"MBD0001A2B3/\x01Ole10Native", std::string(64, 'n')},
      {"Ctls", std::string(100, 'x')},
  });
}

const char* kOleList =
    "import olefile,sys,hashlib\n"
    "o=olefile.OleFileIO(sys.argv[1])\n"
    "for e in o.listdir(streams=True,storages=True):\n"
    "  n='/'.join(e)\n"
    "  if o.get_type(e)==olefile.STGTY_STREAM:\n"
    "    print('S',repr(n),hashlib.sha256(o.openstream(e).read()).hexdigest())\n"
    "  else:\n"
    "    print('D',repr(n))\n";

/// olefile's listing of a compound file ("S 'name' sha256" / "D 'name'"), or "" when python3 or
/// olefile are missing (the caller skips).
std::string oleList(const std::string& data, const fs::path& dir, const std::string& name) {
  if (mugai::test::toolMissing("/usr/bin/python3")) return "";
  fs::path p = dir / name;
  mugai::test::writeFile(p, data);
  auto r = mugai::test::runTool({"/usr/bin/python3", "-c", kOleList, p.string()});
  if (r.exit_code != 0 && r.output.find("No module named") != std::string::npos) {
    WARN("skipped: python3-olefile not installed");
    return "";
  }
  REQUIRE(r.exit_code == 0);
  return r.output;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t a = 0;
  while (a < s.size()) {
    std::size_t b = s.find('\n', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

/// A hand-made compound file (512-byte sectors) whose root holds `n - 1` empty streams linked by
/// their right-sibling pointers as one long chain (`links` overrides single links, e.g. a cycle).
/// Real writers build a balanced red-black tree; a chain is what a hostile file does to make a
/// recursive directory reader (libgsf's) go as deep as there are entries.
std::string chainedDirectory(
    std::uint32_t n, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& links = {}) {
  auto put32 = [](std::string& s, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  auto put16 = [](std::string& s, std::size_t at, std::uint16_t v) {
    s[at] = static_cast<char>(v & 0xFF);
    s[at + 1] = static_cast<char>(v >> 8);
  };
  const std::uint32_t kEnd = 0xFFFFFFFE, kFree = 0xFFFFFFFF, kNone = 0xFFFFFFFF;
  std::uint32_t dir_sectors = (n + 3) / 4;
  std::uint32_t fat_sectors = 1;
  while (fat_sectors * 128 < fat_sectors + dir_sectors) ++fat_sectors;
  REQUIRE(fat_sectors <= 109);
  std::string f(512 * (1 + fat_sectors + dir_sectors), '\0');
  std::memcpy(f.data(), "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  put16(f, 0x18, 0x3E);
  put16(f, 0x1A, 3);
  put16(f, 0x1C, 0xFFFE);
  put16(f, 0x1E, 9);
  put16(f, 0x20, 6);
  put32(f, 0x2C, fat_sectors);
  put32(f, 0x30, fat_sectors);
  put32(f, 0x38, 4096);
  put32(f, 0x3C, kEnd);
  put32(f, 0x44, kEnd);
  for (std::uint32_t i = 0; i < 109; ++i) put32(f, 0x4C + 4 * i, i < fat_sectors ? i : kFree);
  auto sector = [](std::uint32_t s) { return 512 * (static_cast<std::size_t>(s) + 1); };
  for (std::uint32_t i = 0; i < fat_sectors * 128; ++i) {
    std::uint32_t v = kFree;
    if (i < fat_sectors)
      v = 0xFFFFFFFD;  // FATSECT
    else if (i < fat_sectors + dir_sectors)
      v = (i + 1 < fat_sectors + dir_sectors) ? i + 1 : kEnd;
    put32(f, sector(i / 128) + 4 * (i % 128), v);
  }
  for (std::uint32_t i = 0; i < dir_sectors * 4; ++i) {
    std::size_t at = sector(fat_sectors + i / 4) + 128 * (i % 4);
    put32(f, at + 0x44, kNone);
    put32(f, at + 0x48, kNone);
    put32(f, at + 0x4C, kNone);
    if (i >= n) continue;  // unused entry (type 0)
    std::string name = i == 0 ? "Root Entry" : "s" + std::to_string(i);
    for (std::size_t c = 0; c < name.size(); ++c)
      put16(f, at + 2 * c, static_cast<std::uint16_t>(name[c]));
    put16(f, at + 0x40, static_cast<std::uint16_t>(2 * (name.size() + 1)));
    f[at + 0x42] = i == 0 ? 5 : 2;
    f[at + 0x43] = 1;  // black
    if (i == 0)
      put32(f, at + 0x4C, n > 1 ? 1 : kNone);
    else if (i + 1 < n)
      put32(f, at + 0x48, i + 1);
    put32(f, at + 0x74, kEnd);
  }
  for (auto [from, to] : links)
    put32(f, sector(fat_sectors + from / 4) + 128 * (from % 4) + 0x48, to);
  return f;
}

}  // namespace

TEST_CASE("ole2: directory chains and cycles are measured before libgsf recurses into them",
          "[ole2][adversarial]") {
  Outcome ok = run(chainedDirectory(1000));  // 999 streams in one chain: deep but fine
  REQUIRE(ok.reason == Reason::TypeRemoved);  // read to the end; no main stream: not a document
  Outcome deep = run(chainedDirectory(6000));  // deeper than kMaxDirectoryDepth (4096)
  CHECK(deep.reason == Reason::LimitDocumentObjects);
  CHECK(!deep.replacement);
  Outcome cycle = run(chainedDirectory(10, {{9, 3}}));  // s9 -> s3 -> ... -> s9
  CHECK(cycle.reason == Reason::ParseMalformed);
  Outcome self = run(chainedDirectory(10, {{5, 5}}));
  CHECK(self.reason == Reason::ParseMalformed);
  Limits few;
  few.document_object_limit = 100;
  CHECK(run(chainedDirectory(1000), {}, few).reason == Reason::LimitDocumentObjects);
  // libgsf's own writer chains siblings too (Office writes a balanced tree): 3000 streams in one
  // storage are fine, also when read back; 6000 exceed the recursion we allow libgsf (measured:
  // a 6000-deep chain needs between 1 and 2 MiB of stack inside libgsf).
  std::vector<CompoundEntry> wide{{"WordDocument", wordStream(0)}};
  for (int i = 0; i < 3000; ++i)
    wide.push_back({"stream" + std::to_string(i), std::string(1, 'w')});
  Outcome w = run(writeCompoundFile(wide));
  REQUIRE(w.verdict == Verdict::Modified);
  CHECK(run(w.replacement->data).verdict == Verdict::Modified);
  for (int i = 3000; i < 6000; ++i)
    wide.push_back({"stream" + std::to_string(i), std::string(1, 'w')});
  CHECK(run(writeCompoundFile(wide)).reason == Reason::LimitDocumentObjects);
}

TEST_CASE("ole2: a doc-like file loses Macros and ObjectPool, keeps its streams byte for byte",
          "[ole2]") {
  std::string in = docLike();
  REQUIRE(!in.empty());
  Outcome o = run(in);
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::CdrRebuilt);
  REQUIRE(o.replacement);
  CHECK(hasFinding(o, "Macros (VBA project)"));
  CHECK(hasFinding(o, "ObjectPool/_1234 (embedded object)"));
  CHECK(hasFinding(o, "Link (storage the format does not use)"));  // no Word storage
  CHECK(removedCount(o) == 3);
  // The vault's objects: a storage has no bytes of its own, each stream in it is hashed.
  CHECK(mugai::test::findingSha256(o, "removed", "Macros (VBA project)").empty());
  CHECK(mugai::test::findingSha256(o, "removed_object", "Macros/VBA/ThisDocument") ==
        mugai::test::opensslSha256("Sub AutoOpen()\r\n Shell \"calc\"\r\nEnd Sub\r\n"));
  CHECK(mugai::test::findingSha256(o, "removed_object", "Macros/VBA/dir") ==
        mugai::test::opensslSha256(std::string(300, 'd')));
  CHECK(mugai::test::findingSha256(o, "removed_object", "ObjectPool/_1234/\\x01Ole10Native") ==
        mugai::test::opensslSha256(std::string("\x40\x00\x00\x00\x02\x00", 6) + eicar()));
  CHECK(o.findings.size() == 10);  // 3 removed, 7 streams inside them

  mugai::test::TempDir tmp;
  std::string before = oleList(in, tmp.path(), "in.doc");
  std::string after = oleList(o.replacement->data, tmp.path(), "out.doc");
  if (after.empty()) return;
  CHECK(before.find("'Macros/VBA/dir'") != std::string::npos);
  CHECK(after.find("Macros") == std::string::npos);
  CHECK(after.find("ObjectPool") == std::string::npos);
  CHECK(after.find("Ole10Native") == std::string::npos);
  // Every stream that stays is identical (olefile's own sha256 on both sides).
  for (const std::string& l : lines(after)) CHECK(before.find(l) != std::string::npos);
  for (const char* kept : {"'WordDocument'", "'1Table'", "'\\x05SummaryInformation'", "'Data'"})
    CHECK(after.find(kept) != std::string::npos);
}

TEST_CASE("ole2: an xls-like file loses _VBA_PROJECT_CUR, MBD objects and Ctls", "[ole2]") {
  Outcome o = run(xlsLike(false));
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(hasFinding(o, "_VBA_PROJECT_CUR (VBA project)"));
  CHECK(hasFinding(o, "MBD0001A2B3 (embedded object)"));
  CHECK(hasFinding(o, "Ctls (ActiveX controls)"));
  mugai::test::TempDir tmp;
  std::string after = oleList(o.replacement->data, tmp.path(), "out.xls");
  if (after.empty()) return;
  CHECK(after.find("'Workbook'") != std::string::npos);
  CHECK(after.find("_VBA_PROJECT_CUR") == std::string::npos);
  CHECK(after.find("MBD") == std::string::npos);
}

TEST_CASE("ole2: macros remove takes the whole file out with content.active", "[ole2]") {
  Options opt;
  opt.remove_on_macros = true;
  Outcome o = run(xlsLike(false), opt);
  CHECK(o.verdict == Verdict::PartRemoved);
  CHECK(o.reason == Reason::ContentActive);
  CHECK(!o.replacement);
  // Without a VBA project the same option rebuilds.
  Outcome clean = run(writeCompoundFile({{"Workbook", workbookStream(false)}}), opt);
  CHECK(clean.verdict == Verdict::Modified);
  CHECK(clean.reason == Reason::CdrConverted);  // nothing went: not "rebuilt"
  CHECK(!mugai::test::hasFinding(clean, "removed", "", true));
}

TEST_CASE("ole2: encrypted Word, Excel, PowerPoint and OOXML-in-OLE are content.encrypted",
          "[ole2][adversarial]") {
  auto expectEncrypted = [](const std::string& file) {
    REQUIRE(!file.empty());
    Outcome o = run(file);
    CHECK(o.reason == Reason::ContentEncrypted);
    CHECK(o.verdict >= Verdict::PartRemoved);
    CHECK(!o.replacement);
  };
  expectEncrypted(xlsLike(true));  // FILEPASS after BOF
  expectEncrypted(writeCompoundFile({{"WordDocument", wordStream(0x0100)}, {"1Table", "x"}}));
  expectEncrypted(writeCompoundFile({{"EncryptionInfo", std::string(200, 'i')},
                                     {"EncryptedPackage", std::string(5000, 'p')},
                                     {"\x06"
                                      "DataSpaces/Version",
                                      std::string(76, 'v')}}));
  expectEncrypted(writeCompoundFile({{"WordDocument", wordStream(0)},
                                     {"\x09"
                                      "DRMContent",
                                      std::string(3000, 'r')},
                                     {"\x06"
                                      "DataSpaces/DataSpaceMap",
                                      std::string(100, 'm')}}));
  expectEncrypted(writeCompoundFile({{"PowerPoint Document", pptRecord(0x000F, 0x03E8, "")},
                                     {"EncryptedSummary", std::string(100, 'e')}}));
  std::string crypt = pptRecord(0x000F, 0x03E8, pptRecord(0, 0x03E9, std::string(40, '\0'))) +
                      pptRecord(0x000F, 0x2F14, pptRecord(0, 0x0FFF, std::string(16, '\0')));
  expectEncrypted(writeCompoundFile({{"PowerPoint Document", crypt}}));
}

TEST_CASE("ole2: PowerPoint VBA and embedded objects fail closed, a plain presentation is rebuilt",
          "[ole2]") {
  std::string doc = pptRecord(0x000F, 0x03E8, pptRecord(0, 0x03E9, std::string(40, '\0')));
  std::string vba = pptRecord(
      0x000F, 0x03E8,
      pptRecord(0x000F, 0x07D0,
                pptRecord(0x000F, 0x03FF,
                          pptRecord(0x0002, 0x0400, std::string("\x05\0\0\0\x01\0\0\0\x02\0\0\0", 12)))));
  std::string obj = doc + pptRecord(0x0010, 0x1011, std::string(4, '\0') + std::string(64, 'z'));
  Outcome o1 = run(
      writeCompoundFile({{"PowerPoint Document", vba}, {"Current User", std::string(40, '\0')}}));
  CHECK(o1.reason == Reason::ContentActive);
  CHECK(o1.verdict == Verdict::PartRemoved);
  Outcome o2 = run(writeCompoundFile({{"PowerPoint Document", obj}}));
  CHECK(o2.reason == Reason::ContentActive);
  // A VBAInfoContainer whose atom names no project and says "no macros" (LibreOffice writes one
  // into every .ppt) is not a VBA project.
  std::string lo = pptRecord(
      0x000F, 0x03E8,
      pptRecord(0x000F, 0x07D0, pptRecord(0x000F, 0x03FF, pptRecord(0x0002, 0x0400, std::string(12, '\0')))));
  CHECK(run(writeCompoundFile({{"PowerPoint Document", lo}})).verdict == Verdict::Modified);
  Outcome o3 =
      run(writeCompoundFile({{"PowerPoint Document", doc}, {"Pictures", std::string(3000, 'p')}}));
  CHECK(o3.verdict == Verdict::Modified);
  CHECK(o3.reason == Reason::CdrConverted);
}

TEST_CASE("ole2: a Windows Installer database is refused, not rebuilt", "[ole2][adversarial]") {
  // MSI stream names use code points U+3800..U+4840 (here U+4840 "\xE4\xA1\x80" + U+3B3F).
  Outcome o = run(writeCompoundFile({{"\xE4\xA1\x80\xE3\xAC\xBF", std::string(100, 'm')},
                                     {"\x05SummaryInformation", std::string(100, 's')}}));
  CHECK(o.reason == Reason::ContentActive);
  CHECK(!o.replacement);
}

TEST_CASE("ole2: limits on objects, expanded size and depth", "[ole2][adversarial]") {
  std::vector<CompoundEntry> many;
  std::vector<CompoundEntry> many_in_doc{{"WordDocument", wordStream(0)}};
  for (int i = 0; i < 40; ++i) many.push_back({"s" + std::to_string(i), "x"});
  many_in_doc.insert(many_in_doc.end(), many.begin(), many.end());
  Limits few;
  few.document_object_limit = 16;
  CHECK(run(writeCompoundFile(many), {}, few).reason == Reason::LimitDocumentObjects);
  CHECK(run(writeCompoundFile(many)).reason == Reason::TypeRemoved);
  CHECK(run(writeCompoundFile(many_in_doc)).verdict == Verdict::Modified);

  Limits small;
  small.expanded_size_limit = 1024;
  Outcome big = run(writeCompoundFile({{"WordDocument", wordStream(0, 8192)}}), {}, small);
  CHECK(big.reason == Reason::LimitExpandedSize);

  Options shallow;
  shallow.max_storage_depth = 2;
  Outcome deep = run(writeCompoundFile({{"a/b/c/d/e", "x"}}), shallow);
  CHECK(deep.reason == Reason::LimitArchiveDepth);

  Limits tight;
  tight.decoded_bytes_limit = 2048;  // the budget is charged before each stream is read
  Outcome charged = run(writeCompoundFile({{"WordDocument", wordStream(0)}, {"Data", std::string(10000, 'd')}}), {}, tight);
  CHECK(charged.reason == Reason::LimitDecodedBytes);
  CHECK(!charged.replacement);
}

TEST_CASE("ole2: malformed input fails closed", "[ole2][adversarial]") {
  CHECK(run("not a compound file at all").reason == Reason::ParseMalformed);
  std::string doc = docLike();
  Outcome cut = run(doc.substr(0, 700));  // header and a little: directory unreachable
  CHECK(cut.verdict >= Verdict::PartRemoved);
  CHECK(!cut.replacement);
  std::string header_only = doc.substr(0, 512);
  CHECK(run(header_only).verdict >= Verdict::PartRemoved);
  // Corrupt every byte of the FAT sector region in turn: never a pass of the original bytes.
  for (std::size_t off = 512; off < std::min<std::size_t>(doc.size(), 4096); off += 61) {
    std::string bad = doc;
    bad[off] = static_cast<char>(bad[off] ^ 0xA5);
    Outcome o = run(bad);
    CHECK(o.verdict != Verdict::Pass);
  }
  CHECK(run(writeCompoundFile({{"WordDocument", "short"}})).reason == Reason::ParseMalformed);
}

TEST_CASE("ole2: rebuilding twice changes nothing more (idempotent)", "[ole2]") {
  Outcome first = run(docLike());
  REQUIRE(first.replacement);
  Outcome second = run(first.replacement->data);
  REQUIRE(second.replacement);
  CHECK(second.reason == Reason::CdrConverted);
  CHECK(!mugai::test::hasFinding(second, "removed", "", true));
  CHECK(second.replacement->data == first.replacement->data);
}

TEST_CASE("ole2: rebuilds run concurrently on shared sanitizer state", "[ole2]") {
  const std::string doc = docLike();
  const Ole2Sanitizer shared(Options{});
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        Limits limits;
        Budget budget(limits);
        MessageContext ctx{limits, budget, nullptr, nullptr};
        Part p;
        p.data = doc;
        Outcome o = shared.apply(p, ctx);
        if (o.verdict == Verdict::Modified && removedCount(o) == 3 && o.findings.size() == 10)
          ++ok[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  for (int n : ok) CHECK(n == 25);
}

TEST_CASE("ole2: clamscan finds EICAR in the embedded object before and nothing after",
          "[ole2][integration]") {
  if (mugai::test::toolMissing("clamscan")) return;
  if (!fs::exists(mugai::test::generatedDir() / "eicar.com")) {
    WARN("skipped: generated fixtures missing (build mugai_fixtures)");
    return;
  }
  mugai::test::TempDir tmp;
  std::string in = docLike();
  Outcome o = run(in);
  REQUIRE(o.replacement);
  mugai::test::writeFile(tmp.path() / "in.doc", in);
  mugai::test::writeFile(tmp.path() / "out.doc", o.replacement->data);
  std::string sigs = (mugai::test::sourceDir() / "rules" / "signatures").string();
  auto before = mugai::test::runTool(
      {"clamscan", "--no-summary", "-d", sigs, (tmp.path() / "in.doc").string()});
  auto after = mugai::test::runTool(
      {"clamscan", "--no-summary", "-d", sigs, (tmp.path() / "out.doc").string()});
  CHECK(before.exit_code == 1);  // found
  CHECK(after.exit_code == 0);   // clean
  INFO(before.output << after.output);
}

TEST_CASE("ole2: corpus .xls with VBA are rebuilt without _VBA_PROJECT_CUR and still open",
          "[ole2][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  fs::path dir = *corpus / "office/libreoffice/sc/qa/extras/testdocuments";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".xls") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 10);
  mugai::test::TempDir tmp;
  std::vector<fs::path> rebuilt;
  for (const fs::path& f : files) {
    INFO(f.filename().string());
    Outcome o = run(mugai::test::readFile(f));
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(hasFinding(o, "_VBA_PROJECT_CUR (VBA project)"));
    fs::path out = tmp.path() / f.filename();
    mugai::test::writeFile(out, o.replacement->data);
    rebuilt.push_back(out);
    std::string listing = oleList(o.replacement->data, tmp.path(), "check.xls");
    if (!listing.empty()) {
      CHECK(listing.find("'Workbook'") != std::string::npos);
      CHECK(listing.find("_VBA_PROJECT") == std::string::npos);
    }
  }
  if (!mugai::test::toolMissing("clamscan")) {
    std::vector<std::string> argv = {"clamscan", "--no-summary", "-d",
                                     (mugai::test::sourceDir() / "rules" / "signatures").string()};
    for (const auto& p : rebuilt) argv.push_back(p.string());
    auto r = mugai::test::runTool(argv);
    CHECK(r.exit_code == 0);
    INFO(r.output);
  }
  if (mugai::test::toolMissing("soffice") || mugai::test::toolMissing("pdftotext")) return;
  // The rebuilt workbook converts, and says what the original said: every line of the
  // original's text (LibreOffice -> PDF -> pdftotext) is in the rebuilt one's.
  auto pdfText = [&](const fs::path& file, const fs::path& outdir) {
    fs::create_directories(outdir);
    auto conv = mugai::test::runTool(
        {"soffice", "-env:UserInstallation=file://" + (tmp.path() / "lo").string(), "--headless",
         "--convert-to", "pdf", "--outdir", outdir.string(), file.string()},
        std::chrono::seconds(120));
    REQUIRE(conv.exit_code == 0);
    fs::path pdf = outdir / file.filename();
    pdf.replace_extension(".pdf");
    REQUIRE(fs::exists(pdf));
    auto text = mugai::test::runTool({"pdftotext", pdf.string(), "-"});
    REQUIRE(text.exit_code == 0);
    return text.output;
  };
  for (const char* name : {"vba.xls", "Ranges.xls"}) {
    INFO(name);
    std::string original = pdfText(dir / name, tmp.path() / "orig");
    std::string rebuilt = pdfText(tmp.path() / name, tmp.path() / "rebuilt");
    REQUIRE(original.find_first_not_of(" \n\f\t") != std::string::npos);
    for (const std::string& l : lines(original)) {
      CAPTURE(l);
      // Ranges.xls: "Run Tests" is the caption of an ActiveX CommandButton, stored in the Ctls
      // stream (checked with olefile); ActiveX controls are removed on purpose.
      if (l == "Run Tests") {
        CHECK(rebuilt.find(l) == std::string::npos);
        continue;
      }
      CHECK(rebuilt.find(l) != std::string::npos);
    }
  }
}

TEST_CASE("ole2: a .doc written by LibreOffice with an embedded object is rebuilt and still reads",
          "[ole2][integration]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  if (mugai::test::toolMissing("soffice") || mugai::test::toolMissing("pdftotext")) return;
  mugai::test::TempDir tmp;
  // A real Word 97 writer: LibreOffice turns an RTF (text + the corpus' OLE Package object) into a
  // .doc whose ObjectPool holds the object (\x01Ole10Native), and whose root holds a plain
  // "\x01Ole" stream.
  std::string rtf = mugai::test::readFile(
      *corpus / "office/libreoffice/writerfilter/qa/cppunittests/dmapper/data/paste-ole.rtf");
  REQUIRE(rtf.rfind("{\\rtf1", 0) == 0);
  rtf.insert(6, "\\pard Hello from the municipal office.\\par\n");
  mugai::test::writeFile(tmp.path() / "letter.rtf", rtf);
  std::string profile = "-env:UserInstallation=file://" + (tmp.path() / "lo").string();
  auto conv =
      mugai::test::runTool({"soffice", profile, "--headless", "--convert-to", "doc", "--outdir",
                            tmp.path().string(), (tmp.path() / "letter.rtf").string()},
                           std::chrono::seconds(120));
  REQUIRE(conv.exit_code == 0);
  std::string doc = mugai::test::readFile(tmp.path() / "letter.doc");
  Outcome o = run(doc);
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(removedCount(o) == 1);
  CHECK(o.findings[0].key == "removed");
  CHECK(o.findings[0].value.rfind("ObjectPool/_", 0) == 0);
  CHECK(o.findings[0].value.find("(embedded object)") != std::string::npos);
  for (std::size_t i = 1; i < o.findings.size(); ++i) {  // its streams, each with its hash
    CHECK(o.findings[i].key == "removed_object");
    CHECK(o.findings[i].value.rfind(o.findings[0].value.substr(0, o.findings[0].value.find(' ')) + "/", 0) == 0);
    CHECK(o.findings[i].sha256.size() == 64);
  }
  fs::create_directories(tmp.path() / "out");
  mugai::test::writeFile(tmp.path() / "out" / "letter.doc", o.replacement->data);
  std::string listing = oleList(o.replacement->data, tmp.path(), "check.doc");
  if (!listing.empty()) {
    CHECK(listing.find("ObjectPool") == std::string::npos);
    CHECK(listing.find("'WordDocument'") != std::string::npos);
    CHECK(listing.find("'\\x01Ole'") !=
          std::string::npos);  // the plain embedded-header stream stays
  }
  auto pdf = mugai::test::runTool(
      {"soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
       (tmp.path() / "out").string(), (tmp.path() / "out" / "letter.doc").string()},
      std::chrono::seconds(120));
  REQUIRE(pdf.exit_code == 0);
  auto text =
      mugai::test::runTool({"pdftotext", (tmp.path() / "out" / "letter.pdf").string(), "-"});
  CHECK(text.output.find("Hello from the municipal office.") != std::string::npos);
}

// Red-team findings (2026-11-23): DDE in the streams the rebuilder copies as they are.
TEST_CASE("ole2: a Word DDE/INCLUDE field or an Excel DDE/external link is refused, not copied",
          "[ole2][adversarial]") {
  auto withWordText = [](const std::string& text) {
    std::string w = wordStream(0, 2048);
    w.replace(0x400, text.size(), text);
    return writeCompoundFile({{"WordDocument", w}, {"1Table", std::string(700, 'T')}});
  };
  std::string wide;
  for (char c : std::string(" DDEAUTO c:\\windows\\system32\\cmd.exe \"/k calc\""))
    wide += {c, '\0'};
  for (const std::string& field :
       {std::string("\x13\0", 2) + wide,
        std::string("\x13 INCLUDETEXT \"\\\\\\\\host\\\\share\\\\x.doc\" \x14")}) {
    Outcome o = run(withWordText(field));
    CHECK(o.reason == Reason::ContentActive);
    CHECK(o.detail.find("field") != std::string::npos);
  }
  Outcome page =
      run(withWordText("\x13 PAGE \x14"
                       "1\x15"));  // a harmless field stays
  CHECK(page.reason == Reason::CdrConverted);

  auto withSupbook = [](const std::string& body) {
    std::string w = record16(0x0809, std::string("\x00\x06\x05\x00", 4) + std::string(12, '\0'));
    w += record16(0x01AE, body) + record16(0x000A, "") + std::string(3000, '\0');
    return writeCompoundFile({{"Workbook", w}});
  };
  Outcome dde =
      run(withSupbook(std::string("\x00\x00\x0b\x00\x00"
                                  "cmd\x03/c calc",
                                  16)));
  CHECK(dde.reason == Reason::ContentActive);
  CHECK(dde.detail.find("DDE") != std::string::npos);
  Outcome self = run(withSupbook(std::string("\x01\x00\x01\x04", 4)));  // the workbook itself
  CHECK(self.reason == Reason::CdrConverted);
}

// Red-team class 3 (issue 10): a compound file that is not Word/Excel/PowerPoint went through the
// rebuilder, which copied its unknown streams (two PE streams byte for byte, "cdr.rebuilt").
namespace {
std::string fakePe(char fill) {
  std::string pe = "MZ" + std::string(58, '\0') + std::string("\x80\0\0\0", 4);
  pe += std::string(0x80 - pe.size(), fill);
  return pe + "PE\0\0" + std::string(400, fill);
}
}  // namespace

TEST_CASE("ole2: compound files that are not Word, Excel or PowerPoint are refused",
          "[ole2][adversarial][redteam3]") {
  struct Case {
    const char* what;
    std::vector<CompoundEntry> entries;
    const char* named;
  };
  std::vector<Case> cases = {
      // 一太郎-like: its own streams, two of them executables.
      {"jtd", {{"DocumentText", std::string(600, 'j')}, {"Payload1", fakePe('a')}, {"Payload2", fakePe('b')}},
       "DocumentText"},
      {"publisher", {{"Quill/QuillSub/CONTENTS", std::string(600, 'q')}, {"Contents", fakePe('c')}},
       "Publisher"},
      {"visio", {{"VisioDocument", std::string(600, 'v')}, {"\x05SummaryInformation", std::string(100, 's')}},
       "Visio"},
      {"made-up", {{"setup.exe", fakePe('d')}}, "setup.exe"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Outcome o = run(writeCompoundFile(c.entries));
    CHECK(o.reason == Reason::TypeRemoved);
    CHECK(o.verdict == Verdict::PartRemoved);
    CHECK(!o.replacement);
    CHECK(o.detail.find(c.named) != std::string::npos);
  }
  // Word and Excel main streams at one root: which one a reader takes depends on the name.
  Outcome both = run(writeCompoundFile({{"WordDocument", wordStream(0)}, {"Workbook", workbookStream(false)}}));
  CHECK(both.reason == Reason::ParseMalformed);
  CHECK(!both.replacement);
}

TEST_CASE("ole2: streams and storages a known format does not use are never copied",
          "[ole2][adversarial][redteam3]") {
  std::string in = writeCompoundFile({{"WordDocument", wordStream(0)},
                                      {"1Table", std::string(700, 'T')},
                                      {"\x01" "CompObj", std::string(80, 'c')},
                                      {"Payload", fakePe('p')},
                                      {"Extra/setup.exe", fakePe('q')},
                                      {"Extra/readme", "hta"}});
  Outcome o = run(in);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason == Reason::CdrRebuilt);
  CHECK(hasFinding(o, "Payload (stream the format does not use)"));
  CHECK(hasFinding(o, "Extra (storage the format does not use)"));
  CHECK(o.replacement->data.find("PE\0\0", 0, 4) == std::string::npos);
  // Excel keeps its pivot cache storage, drops what it does not know; PowerPoint keeps Pictures.
  Outcome x = run(writeCompoundFile({{"Workbook", workbookStream(false)},
                                     {"_SX_DB_CUR/0001", std::string(300, 'x')},
                                     {"Sheet.exe", fakePe('x')}}));
  REQUIRE(x.replacement);
  CHECK(hasFinding(x, "Sheet.exe (stream the format does not use)"));
  CHECK(x.findings.size() == 1);
  CHECK(x.replacement->data.find(std::string(300, 'x')) != std::string::npos);
  std::string doc = pptRecord(0x000F, 0x03E8, pptRecord(0, 0x03E9, std::string(40, '\0')));
  Outcome p = run(writeCompoundFile({{"PowerPoint Document", doc},
                                     {"Pictures", std::string(3000, 'p')},
                                     {"Current User", std::string(40, '\0')},
                                     {"VBAProject.bin", fakePe('v')}}));
  REQUIRE(p.replacement);
  CHECK(p.findings.size() == 1);
  CHECK(p.replacement->data.find(std::string(3000, 'p')) != std::string::npos);
  CHECK(p.replacement->data.find("PE\0\0", 0, 4) == std::string::npos);
  // Nothing to drop: a fresh compound file, reported as converted, not as rebuilt.
  Outcome again = run(o.replacement->data);
  REQUIRE(again.replacement);
  CHECK(again.reason == Reason::CdrConverted);
  CHECK(!mugai::test::hasFinding(again, "removed", "", true));
}

// Issue 10 (formats): a .ppt LibreOffice writes without any macro was refused (false positive).
TEST_CASE("ole2: a .ppt written by LibreOffice without macros is rebuilt, not refused",
          "[ole2][integration][redteam3]") {
  if (mugai::test::toolMissing("soffice")) return;
  mugai::test::TempDir tmp;
  fs::path src = "/usr/lib/libreoffice/share/template/common/presnt/Vintage.otp";
  std::error_code ec;
  if (!fs::exists(src, ec)) {
    WARN("skipped: no LibreOffice presentation template to convert");
    return;
  }
  std::string profile = "-env:UserInstallation=file://" + (tmp.path() / "lo").string();
  auto conv = mugai::test::runTool({"soffice", profile, "--headless", "--convert-to", "ppt", "--outdir",
                                    tmp.path().string(), src.string()},
                                   std::chrono::seconds(120));
  REQUIRE(conv.exit_code == 0);
  std::string ppt = mugai::test::readFile(tmp.path() / "Vintage.ppt");
  REQUIRE(ppt.rfind("\xD0\xCF\x11\xE0", 0) == 0);
  Outcome o = run(ppt);
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason != Reason::ContentActive);
  // The rebuilt presentation still opens: LibreOffice converts it to PDF.
  fs::create_directories(tmp.path() / "out");
  mugai::test::writeFile(tmp.path() / "out" / "rebuilt.ppt", o.replacement->data);
  auto pdf = mugai::test::runTool({"soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
                                   (tmp.path() / "out").string(), (tmp.path() / "out" / "rebuilt.ppt").string()},
                                  std::chrono::seconds(120));
  CHECK(pdf.exit_code == 0);
  CHECK(fs::exists(tmp.path() / "out" / "rebuilt.pdf"));
}

// The red team's return (issue 10, class 3): compound-file names compare without case (a reader
// finds "MACROS" or "objectpool" as it finds "Macros"), and a Word file may carry streams of its
// own next to extra ones. Whatever the spelling, nothing but the format's streams is copied.
TEST_CASE("ole2: storage and stream names in another case are judged like their usual spelling",
          "[ole2][adversarial][redteam10]") {
  std::vector<std::vector<CompoundEntry>> files = {
      {{"WordDocument", wordStream(0)}, {"1Table", std::string(700, 'T')},
       {"MACROS/VBA/dir", std::string(300, 'd')}, {"MACROS/VBA/ThisDocument", fakePe('m')}},
      {{"WordDocument", wordStream(0)}, {"1Table", std::string(700, 'T')},
       {"objectpool/_1234/\x01Ole10Native", std::string("\x40\x00\x00\x00\x02\x00", 6) + fakePe('o')}},
      {{"WordDocument", wordStream(0)}, {"1Table", std::string(700, 'T')}, {"\x01Ole10Native", fakePe('n')}},
      {{"WordDocument", wordStream(0)}, {"1Table", std::string(700, 'T')}, {"1table.exe", fakePe('t')}},
  };
  for (const auto& entries : files) {
    INFO(entries.back().path);
    Outcome o = run(writeCompoundFile(entries));
    if (o.replacement) CHECK(o.replacement->data.find("PE\0\0", 0, 4) == std::string::npos);
    CHECK((o.replacement || o.verdict >= Verdict::PartRemoved));
  }
}
