// Issue 10 (formats): .xlsb (BIFF12) formulas are read. A formula calling a function that runs or
// reaches out becomes its cached value (like the .xlsx rebuild); a risky defined name or an Excel
// 4.0 macro sheet fails the file closed. Sheets are built here record by record; the corpus'
// LibreOffice .xlsb is given a HYPERLINK() formula and read back by LibreOffice (the real peer).
#include <catch2/catch.hpp>
#include <cstring>

#include "sanitizers/ooxml/ooxml.h"
#include "sanitizers/ooxml/xlsb.h"
#include "src/zip/zip.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::sanitizers::ooxml;
namespace fs = std::filesystem;

namespace {

std::string u32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string u16(std::uint16_t v) { return {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; }

std::string rec(std::uint32_t type, const std::string& body) {
  std::string h;
  std::uint32_t t = type;
  do {
    unsigned char b = t & 0x7F;
    t >>= 7;
    h += static_cast<char>(t ? b | 0x80 : b);
  } while (t);
  std::size_t n = body.size();
  do {
    unsigned char b = n & 0x7F;
    n >>= 7;
    h += static_cast<char>(n ? b | 0x80 : b);
  } while (n);
  return h + body;
}

struct R {
  std::uint32_t type;
  std::string body;
};
std::vector<R> records(std::string_view d) {
  std::vector<R> out;
  for (std::size_t p = 0; p < d.size();) {
    std::uint32_t t = 0;
    std::size_t n = 0;
    for (int i = 0; i < 2; ++i) {
      unsigned char b = static_cast<unsigned char>(d[p++]);
      t |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) break;
    }
    for (int i = 0; i < 4; ++i) {
      unsigned char b = static_cast<unsigned char>(d[p++]);
      n |= static_cast<std::size_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) break;
    }
    out.push_back({t, std::string(d.substr(p, n))});
    p += n;
  }
  return out;
}

std::string cell(std::uint32_t col) { return u32(col) + u32(0); }
std::string xnum(double v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}
std::string formula(const std::string& rgce) { return u32(static_cast<std::uint32_t>(rgce.size())) + rgce + u32(0); }
std::string wide(const std::string& ascii) {
  std::string s;
  for (char c : ascii) s += {c, '\0'};
  return s;
}
/// PtgStr "text", then PtgFuncVar with one argument calling function `tab`.
std::string call(std::uint16_t tab, char ptg = '\x22') {
  return std::string("\x17", 1) + u16(20) + wide("http://evil.example/") + std::string(1, ptg) + '\x01' + u16(tab);
}
const std::string kSum = std::string("\x1e\x02\x00\x1e\x03\x00\x03", 7);  // 2+3

std::string fmlaNum(std::uint32_t col, double v, const std::string& rgce) {
  return rec(9, cell(col) + xnum(v) + u16(0) + formula(rgce));
}
std::string fmlaStr(std::uint32_t col, const std::string& v, const std::string& rgce) {
  return rec(8, cell(col) + u32(static_cast<std::uint32_t>(v.size())) + wide(v) + u16(0) + formula(rgce));
}
std::string row(std::uint32_t r) { return rec(0, u32(r) + u32(0) + u16(300) + std::string(3, '\0') + u32(0)); }

std::string sheet(const std::string& cells) {
  return rec(129, "") + rec(145, "") + row(0) + cells + rec(146, "") + rec(130, "");
}

}  // namespace

TEST_CASE("xlsb: risky cell formulas become their cached values, harmless ones stay", "[ooxml][xlsb]") {
  std::string in = sheet(fmlaNum(0, 6.0, call(359)) + fmlaStr(1, "cached text", call(150, '\x42')) +
                         fmlaNum(2, 5.0, kSum) + fmlaNum(3, 1.0, call(110, '\x62')) +
                         fmlaNum(4, 2.0, call(0x8000 | 13)) + fmlaNum(5, 3.0, call(255)));
  XlsbEdit e = removeRiskyXlsbFormulas(in, XlsbPart::Worksheet);
  REQUIRE(e.data);
  CHECK(e.cells["HYPERLINK"] == 1);
  CHECK(e.cells["CALL"] == 1);
  CHECK(e.cells["EXEC"] == 1);
  CHECK(e.cells["a macro command"] == 1);
  CHECK(e.cells["a call through a name (add-in or newer function)"] == 1);
  auto out = records(*e.data);
  std::vector<std::uint32_t> types;
  for (const R& r : out) types.push_back(r.type);
  CHECK(types == std::vector<std::uint32_t>{129, 145, 0, 5, 6, 9, 5, 5, 5, 146, 130});
  CHECK(out[3].body == cell(0) + xnum(6.0));                         // BrtCellReal, value kept
  CHECK(out[4].body == cell(1) + u32(11) + wide("cached text"));     // BrtCellSt
  CHECK(out[5].body.find(kSum) != std::string::npos);                // SUM stays a formula
  CHECK(e.data->find(wide("http://evil.example/")) == std::string::npos);
  // Nothing risky: nothing changes.
  CHECK(!removeRiskyXlsbFormulas(sheet(fmlaNum(0, 5.0, kSum)), XlsbPart::Worksheet).data);
}

TEST_CASE("xlsb: a risky shared formula takes its member cells to values", "[ooxml][xlsb]") {
  std::string exp = std::string("\x01", 1) + u32(0);  // PtgExp: row 0
  std::string shr = rec(427, u32(0) + u32(1) + u32(0) + u32(1) + formula(call(359)));
  std::string in = sheet(fmlaNum(0, 1.0, exp) + shr + fmlaNum(1, 2.0, exp) + fmlaNum(2, 5.0, kSum));
  XlsbEdit e = removeRiskyXlsbFormulas(in, XlsbPart::Worksheet);
  REQUIRE(e.data);
  CHECK(e.cells["shared/array formula with HYPERLINK"] == 2);
  std::vector<std::uint32_t> types;
  for (const R& r : records(*e.data)) types.push_back(r.type);
  CHECK(types == std::vector<std::uint32_t>{129, 145, 0, 5, 5, 9, 146, 130});
  // A harmless shared formula stays with its members.
  std::string ok = sheet(fmlaNum(0, 1.0, exp) + rec(427, u32(0) + u32(1) + u32(0) + u32(1) + formula(kSum)));
  CHECK(!removeRiskyXlsbFormulas(ok, XlsbPart::Worksheet).data);
}

TEST_CASE("xlsb: names, macro sheets and broken records fail closed", "[ooxml][xlsb][adversarial]") {
  std::string name = rec(39, u32(0) + std::string(1, '\0') + u32(0xFFFFFFFF) + u32(9) + wide("Auto_Open") +
                                 formula(call(150)));
  CHECK(removeRiskyXlsbFormulas(rec(131, "") + name + rec(132, ""), XlsbPart::Workbook).refused ==
        "a defined name calling CALL");
  CHECK(removeRiskyXlsbFormulas(rec(131, "") + rec(132, ""), XlsbPart::Workbook).refused.empty());
  // Truncated records, a size past the end, a formula cell too short for its value.
  std::string good = sheet(fmlaNum(0, 6.0, call(359)));
  for (std::size_t cut : {good.size() - 1, std::size_t{5}, std::size_t{9}})
    CHECK(removeRiskyXlsbFormulas(good.substr(0, cut), XlsbPart::Worksheet).malformed);
  CHECK(removeRiskyXlsbFormulas(rec(9, std::string(10, '\0')), XlsbPart::Worksheet).malformed);
  CHECK(removeRiskyXlsbFormulas(rec(8, cell(0) + u32(1000) + wide("x")), XlsbPart::Worksheet).malformed);
}

namespace {

const char* kTypes =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/worksheets/sheet1.bin" ContentType="application/vnd.ms-excel.worksheet"/>MACRO</Types>)";
const char* kRootRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>)";

std::string package(const std::string& sheet_bin, bool macro_sheet) {
  std::string types = kTypes;
  std::string extra_rel, macro_override;
  if (macro_sheet) {
    macro_override = R"(<Override PartName="/xl/macrosheets/sheet2.bin" ContentType="application/vnd.ms-excel.macrosheet"/>)";
    extra_rel = R"(<Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" Target="macrosheets/sheet2.bin"/>)";
  }
  types.replace(types.find("MACRO"), 5, macro_override);
  std::string wb_rels =
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.bin"/>)" +
      extra_rel + "</Relationships>";
  test::office::Members m = {{"[Content_Types].xml", types},
                             {"_rels/.rels", kRootRels},
                             {"xl/workbook.bin", rec(131, "") + rec(132, "")},
                             {"xl/_rels/workbook.bin.rels", wb_rels},
                             {"xl/worksheets/sheet1.bin", sheet_bin}};
  if (macro_sheet) m.push_back({"xl/macrosheets/sheet2.bin", sheet(fmlaNum(0, 0, call(110)))});
  return test::office::pack(m);
}

Outcome runXlsb(const std::string& data) {
  return test::applyOnce(OoxmlSanitizer(Options{}),
                         test::partOf(data, "application/vnd.ms-excel.sheet.binary.macroenabled.12", "book.xlsb"));
}

std::string member(const std::string& zip_data, const std::string& name) {
  zip::Failure f;
  auto a = zip::Archive::open(zip_data, {}, &f);
  if (!a) return {};
  Limits limits;
  Budget budget(limits);
  for (const auto& e : a->entries()) {
    if (e.name != name) continue;
    std::string out;
    if (a->extract(e, budget, &out)) return {};
    return out;
  }
  return {};
}

}  // namespace

TEST_CASE("xlsb: the rebuilder turns risky formulas into values and refuses macro sheets",
          "[ooxml][xlsb]") {
  Outcome o = runXlsb(package(sheet(fmlaNum(0, 6.0, call(359)) + fmlaNum(1, 5.0, kSum)), false));
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(test::hasFinding(o, "removed", "xl/worksheets/sheet1.bin: formula HYPERLINK x1"));
  std::string out = member(o.replacement->data, "xl/worksheets/sheet1.bin");
  CHECK(!out.empty());
  CHECK(out.find(wide("http://evil.example/")) == std::string::npos);
  CHECK(!member(o.replacement->data, "xl/workbook.bin").empty());  // the workbook stays
  Outcome macro = runXlsb(package(sheet(fmlaNum(1, 5.0, kSum)), true));
  CHECK(macro.reason == Reason::ContentActive);
  CHECK(macro.detail.find("macro sheet") != std::string::npos);
  Outcome broken = runXlsb(package(sheet(fmlaNum(0, 6.0, call(359))).substr(0, 9), false));
  CHECK(broken.reason == Reason::ParseMalformed);
}

// The real peer: LibreOffice's own .xlsb from the corpus, one formula made HYPERLINK("http://...").
TEST_CASE("xlsb: LibreOffice reads the rebuilt workbook with the cached value in place",
          "[ooxml][xlsb][integration]") {
  auto corpus = test::corpusDir();
  fs::path src = corpus ? *corpus / "office/libreoffice/sc/qa/unit/data/xlsb/universal-content.xlsb" : fs::path();
  std::error_code ec;
  if (!corpus || !fs::exists(src, ec) || test::toolMissing("soffice")) {
    WARN("skipped: no corpus .xlsb or no LibreOffice");
    return;
  }
  std::string orig = test::readFile(src);
  zip::Failure f;
  auto a = zip::Archive::open(orig, {}, &f);
  REQUIRE(a);
  Limits limits;
  Budget budget(limits);
  test::office::Members m;
  bool patched = false;
  for (const auto& e : a->entries()) {
    std::string data;
    auto failed = a->extract(e, budget, &data);
    INFO(e.name << ": " << (failed ? failed->detail : std::string()));
    REQUIRE(!failed);
    if (e.name == "xl/worksheets/sheet1.bin") {
      std::string rebuilt;
      for (const R& r : records(data)) {
        if (r.type == 9 && !patched) {  // the first BrtFmlaNum: keep cell and value, new formula
          rebuilt += rec(9, r.body.substr(0, 18) + formula(call(359)));
          patched = true;
        } else {
          rebuilt += rec(r.type, r.body);
        }
      }
      data = rebuilt;
    }
    m.push_back({e.name, data});
  }
  REQUIRE(patched);
  Outcome o = runXlsb(test::office::pack(m));
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(test::hasFinding(o, "removed", "xl/worksheets/sheet1.bin: formula HYPERLINK x1"));
  test::TempDir tmp;
  test::writeFile(tmp.path() / "orig.xlsb", orig);
  test::writeFile(tmp.path() / "clean.xlsb", o.replacement->data);
  std::string profile = "-env:UserInstallation=file://" + (tmp.path() / "lo").string();
  auto conv = test::runTool({"soffice", profile, "--headless", "--convert-to", "csv", "--outdir",
                             tmp.path().string(), (tmp.path() / "orig.xlsb").string(),
                             (tmp.path() / "clean.xlsb").string()});
  REQUIRE(conv.exit_code == 0);
  std::string before = test::readFile(tmp.path() / "orig.csv");
  std::string after = test::readFile(tmp.path() / "clean.csv");
  INFO(before << "\n---\n" << after);
  CHECK(!after.empty());
  CHECK(after == before);  // the formula's cached value is what the cell shows
  CHECK(after.find("evil.example") == std::string::npos);
}
