// Issue 10 (formats): an .xls with an Excel 4.0 (XLM) macro sheet is rebuilt without the sheet and
// without the names that run it (Auto_Open ...), instead of being refused. Workbooks are built here
// record by record (BIFF8), and one is written by LibreOffice and then given a macro sheet; the
// rebuilt file is read back by our own record walker and by LibreOffice (the real peer: CSV of
// every sheet).
#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "sanitizers/ole2/ole2.h"
#include "sanitizers/ole2/xls.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"

using namespace mugai;
using namespace mugai::sanitizers::ole2;
namespace fs = std::filesystem;

namespace {

std::string u16(std::uint16_t v) { return {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; }
std::string u32(std::uint32_t v) { return u16(static_cast<std::uint16_t>(v & 0xFFFF)) + u16(static_cast<std::uint16_t>(v >> 16)); }
std::uint16_t rd16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) | (static_cast<unsigned char>(s[at + 1]) << 8));
}
std::uint32_t rd32(const std::string& s, std::size_t at) { return rd16(s, at) | (static_cast<std::uint32_t>(rd16(s, at + 2)) << 16); }

std::string rec(std::uint16_t type, const std::string& body) { return u16(type) + u16(static_cast<std::uint16_t>(body.size())) + body; }
std::string bof(std::uint16_t dt) { return rec(0x0809, u16(0x0600) + u16(dt) + std::string(12, '\0')); }
std::string eof() { return rec(0x000A, ""); }

struct Rec {
  std::uint16_t type;
  std::size_t pos;
  std::string body;
};
std::vector<Rec> records(const std::string& w) {
  std::vector<Rec> out;
  for (std::size_t p = 0; p + 4 <= w.size();) {
    std::uint16_t t = rd16(w, p), l = rd16(w, p + 2);
    if (t == 0 && l == 0) break;  // padding
    if (p + 4 + l > w.size()) break;
    out.push_back({t, p, w.substr(p + 4, l)});
    p += 4 + l;
  }
  return out;
}

struct SheetSpec {
  std::string name;
  std::uint8_t state = 0;     // BOUNDSHEET hsState
  std::uint8_t dt = 0;        // BOUNDSHEET dt (1 = macro sheet)
  std::uint16_t bof_dt = 0x10;  // the substream's BOF dt (0x40 = macro sheet)
  std::string cells;          // records between BOF and EOF
};

std::string lbl(std::uint16_t grbit, const std::string& name, std::uint16_t itab, const std::string& rgce) {
  std::string b = u16(grbit) + std::string(1, '\0') + std::string(1, static_cast<char>(name.size())) +
                  u16(static_cast<std::uint16_t>(rgce.size())) + u16(0) + u16(itab) + std::string(4, '\0');
  return rec(0x0018, b + std::string(1, '\0') + name + rgce);
}
std::string ref3d(std::uint16_t ixti) { return std::string("\x3A", 1) + u16(ixti) + u16(0) + u16(0); }

/// A BIFF8 workbook: WINDOW1 (the second sheet active), the workbook's own SUPBOOK, one XTI per
/// sheet, the names given, one BOUNDSHEET per sheet, then the sheet substreams.
std::string workbook(const std::vector<SheetSpec>& sheets, const std::string& names) {
  std::string xti;
  for (std::size_t i = 0; i < sheets.size(); ++i) xti += u16(0) + u16(static_cast<std::uint16_t>(i)) + u16(static_cast<std::uint16_t>(i));
  std::string head = bof(0x0005) +
                     rec(0x003D, std::string(10, '\0') + u16(1) + u16(0) + u16(1) + u16(600)) +
                     rec(0x01AE, u16(static_cast<std::uint16_t>(sheets.size())) + u16(0x0401)) +
                     rec(0x0017, u16(static_cast<std::uint16_t>(sheets.size())) + xti) + names;
  auto boundsheets = [&](const std::vector<std::uint32_t>& pos) {
    std::string b;
    for (std::size_t i = 0; i < sheets.size(); ++i)
      b += rec(0x0085, u32(pos[i]) + std::string(1, static_cast<char>(sheets[i].state)) +
                           std::string(1, static_cast<char>(sheets[i].dt)) +
                           std::string(1, static_cast<char>(sheets[i].name.size())) + std::string(1, '\0') +
                           sheets[i].name);
    return b;
  };
  std::vector<std::uint32_t> pos(sheets.size(), 0);
  std::size_t at = head.size() + boundsheets(pos).size() + eof().size();
  std::string subs;
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    pos[i] = static_cast<std::uint32_t>(at + subs.size());
    subs += bof(sheets[i].bof_dt) + sheets[i].cells + eof();
  }
  std::string w = head + boundsheets(pos) + eof() + subs;
  return w + std::string(w.size() < 4096 ? 4096 - w.size() : 0, '\0');
}

std::string number(double v) {
  std::string d(8, '\0');
  std::memcpy(d.data(), &v, 8);
  return rec(0x0203, u16(0) + u16(0) + u16(15) + d);
}
/// FORMULA A1 = EXEC("calc") (ptgStr, ptgFuncVar iftab 110) as an XLM macro sheet would hold.
std::string execFormula() {
  std::string rgce = std::string("\x17\x04\x00", 3) + "calc" + std::string("\x42\x01", 2) + u16(110);
  return rec(0x0006, u16(0) + u16(0) + u16(15) + std::string(8, '\0') + u16(0) + u32(0) + u16(static_cast<std::uint16_t>(rgce.size())) + rgce);
}

Outcome runXls(const std::string& workbook_stream, sanitizers::ole2::Options options = {}) {
  return mugai::test::applyOnce(Ole2Sanitizer(options),
                                mugai::test::partOf(writeCompoundFile({{"Workbook", workbook_stream}}),
                                                    "application/vnd.ms-excel"),
                                Limits{});
}

struct Seen {
  std::vector<std::string> sheets;        // BOUNDSHEET names, in order
  std::vector<std::uint16_t> sheet_bofs;  // BOF dt at each lbPlyPos
  std::vector<std::string> names;         // NAME texts (built-in as "#<code>")
  std::map<std::string, std::uint16_t> name_itab;
  std::vector<std::array<std::uint16_t, 3>> xti;
  std::uint16_t supbook_ctab = 0, itab_cur = 0xFFFF;
  int bofs = 0;
};

Seen inspect(const std::string& w) {
  Seen s;
  for (const Rec& r : records(w)) {
    if (r.type == 0x0809) ++s.bofs;
    if (r.type == 0x0085) {
      s.sheets.push_back(r.body.substr(8, static_cast<unsigned char>(r.body[6])));
      std::uint32_t at = rd32(r.body, 0);
      s.sheet_bofs.push_back(at + 8 <= w.size() && rd16(w, at) == 0x0809 ? rd16(w, at + 6) : 0);
    }
    if (r.type == 0x0018) {
      std::string n = r.body.substr(15, static_cast<unsigned char>(r.body[3]));
      if (rd16(r.body, 0) & 0x0020) n = "#" + std::to_string(static_cast<int>(n[0]));
      s.names.push_back(n);
      s.name_itab[n] = rd16(r.body, 8);
    }
    if (r.type == 0x0017)
      for (std::size_t i = 0; i < rd16(r.body, 0); ++i)
        s.xti.push_back({rd16(r.body, 2 + 6 * i), rd16(r.body, 4 + 6 * i), rd16(r.body, 6 + 6 * i)});
    if (r.type == 0x01AE) s.supbook_ctab = rd16(r.body, 0);
    if (r.type == 0x003D) s.itab_cur = rd16(r.body, 10);
  }
  return s;
}

std::string namesWithAutoOpen() {
  return lbl(0x0020, "\x01", 0, ref3d(1)) +           // built-in Auto_Open -> Macro!A1
         lbl(0x000A, "Evil", 0, ref3d(1)) +           // a macro command name
         lbl(0x0000, "auto_open_2", 0, ref3d(1)) +    // Excel runs names starting Auto_Open too
         lbl(0x0000, "OnMacro", 2, ref3d(1)) +        // local to the macro sheet
         lbl(0x0000, "Local3", 3, ref3d(2)) +         // local to the third sheet
         lbl(0x0000, "Keep", 0, ref3d(2));
}

}  // namespace

TEST_CASE("xls: an Excel 4.0 macro sheet is cut out, hidden or very hidden, with its Auto_Open names",
          "[ole2][xlm]") {
  for (std::uint8_t state : {0, 1, 2}) {
    INFO("hsState " << int(state));
    std::vector<SheetSpec> sheets = {{"Sheet1", 0, 0, 0x10, number(1)},
                                     {"Macro1", state, 1, 0x40, execFormula()},
                                     {"Sheet3", 0, 0, 0x10, number(3)}};
    std::string in = workbook(sheets, namesWithAutoOpen());
    Outcome o = runXls(in);
    INFO(o.detail);
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(o.reason == Reason::CdrRebuilt);
    std::string shown = std::string("Excel 4.0 macro sheet \"Macro1\"") +
                        (state == 1 ? ", hidden" : state == 2 ? ", very hidden" : "");
    CHECK(mugai::test::hasFinding(o, "removed", shown));
    // The vault's object: the macro sheet's substream, BOF through EOF, hashed (OpenSSL here).
    CHECK(mugai::test::findingSha256(o, "removed", shown) ==
          mugai::test::opensslSha256(bof(0x40) + execFormula() + eof()));
    for (const auto& f : o.findings)  // a defined name has no bytes of its own
      if (f.value.rfind("defined name ", 0) == 0) CHECK(f.sha256.empty());
    CHECK(mugai::test::hasFinding(o, "removed", "defined name Auto_Open (runs a macro when the workbook opens or closes)"));
    CHECK(mugai::test::hasFinding(o, "removed", "defined name Evil (a macro function or command)"));
    CHECK(mugai::test::hasFinding(o, "removed", "defined name auto_open_2 (runs a macro when the workbook opens or closes)"));
    CHECK(mugai::test::hasFinding(o, "removed", "defined name OnMacro (a name of the removed macro sheet)"));

    auto w = readCompoundStream(o.replacement->data, "Workbook");
    REQUIRE(w);
    Seen s = inspect(*w);
    CHECK(s.sheets == std::vector<std::string>{"Sheet1", "Sheet3"});
    CHECK(s.sheet_bofs == std::vector<std::uint16_t>{0x10, 0x10});  // lbPlyPos point at their sheets
    CHECK(s.bofs == 3);
    CHECK(w->find("calc") == std::string::npos);                    // the XLM formula went with its sheet
    CHECK(s.supbook_ctab == 2);
    CHECK(s.itab_cur == 0);                                         // the active tab was the macro sheet
    REQUIRE(s.xti.size() == 3);                                     // ixti numbers stay valid
    CHECK(s.xti[0] == std::array<std::uint16_t, 3>{0, 0, 0});
    CHECK(s.xti[1] == std::array<std::uint16_t, 3>{0, 0xFFFE, 0xFFFE});  // the deleted sheet
    CHECK(s.xti[2] == std::array<std::uint16_t, 3>{0, 1, 1});
    // Six name slots (formulas refer to names by number); four made inert, two kept renumbered.
    REQUIRE(s.names.size() == 6);
    CHECK(std::count_if(s.names.begin(), s.names.end(),
                        [](const std::string& n) { return n.rfind("mugai_removed_", 0) == 0; }) == 4);
    CHECK(std::find(s.names.begin(), s.names.end(), "#1") == s.names.end());
    CHECK(s.name_itab["Local3"] == 2);
    CHECK(s.name_itab["Keep"] == 0);
    // Rebuilt again: nothing more to cut.
    Outcome again = runXls(*w);
    CHECK(again.reason == Reason::CdrConverted);
  }
}

TEST_CASE("xls: a macro sheet named and typed like a worksheet is found by its own BOF", "[ole2][xlm]") {
  // BOUNDSHEET says "worksheet Sheet2", the substream's BOF says macro sheet: it goes.
  std::vector<SheetSpec> sheets = {{"Sheet1", 0, 0, 0x10, number(1)}, {"Sheet2", 0, 0, 0x40, execFormula()}};
  Outcome o = runXls(workbook(sheets, lbl(0x0020, "\x01", 0, ref3d(1))));
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(mugai::test::hasFinding(o, "removed", "Excel 4.0 macro sheet \"Sheet2\""));
  auto w = readCompoundStream(o.replacement->data, "Workbook");
  REQUIRE(w);
  CHECK(inspect(*w).sheets == std::vector<std::string>{"Sheet1"});
  CHECK(w->find("calc") == std::string::npos);
  // And the other way round: BOUNDSHEET macro, BOF worksheet.
  sheets = {{"Sheet1", 0, 1, 0x10, execFormula()}, {"Data", 0, 0, 0x10, number(2)}};
  Outcome p = runXls(workbook(sheets, ""));
  REQUIRE(p.verdict == Verdict::Modified);
  auto pw = readCompoundStream(p.replacement->data, "Workbook");
  REQUIRE(pw);
  CHECK(inspect(*pw).sheets == std::vector<std::string>{"Data"});
  // A worksheet-only workbook is not rewritten: every stream is copied as it is.
  std::string plain = workbook({{"Sheet1", 0, 0, 0x10, number(1)}}, lbl(0, "Keep", 0, ref3d(0)));
  Outcome q = runXls(plain);
  CHECK(q.reason == Reason::CdrConverted);
  CHECK(readCompoundStream(q.replacement->data, "Workbook") == plain);
}

TEST_CASE("xls: macro sheets that cannot be cut out still fail closed", "[ole2][xlm][adversarial]") {
  // Nothing but macro sheets.
  Outcome only = runXls(workbook({{"Macro1", 2, 1, 0x40, execFormula()}}, lbl(0x0020, "\x01", 0, ref3d(0))));
  CHECK(only.reason == Reason::ContentActive);
  CHECK(!only.replacement);
  // A BOUNDSHEET that points at no sheet substream.
  std::string w = workbook({{"Sheet1", 0, 0, 0x10, number(1)}, {"Macro1", 0, 1, 0x40, execFormula()}}, "");
  auto at = w.find(std::string("\x85\x00", 2));
  REQUIRE(at != std::string::npos);
  w[at + 4] = '\x7F';  // lbPlyPos of Sheet1 now off any BOF
  Outcome broken = runXls(w);
  CHECK(broken.reason == Reason::ContentActive);
  CHECK(broken.detail.find("macro sheet") != std::string::npos);
  // macros: remove takes the whole file out for an XLM sheet as for a VBA project.
  sanitizers::ole2::Options remove;
  remove.remove_on_macros = true;
  Outcome removed =
      runXls(workbook({{"Sheet1", 0, 0, 0x10, number(1)}, {"M", 0, 1, 0x40, execFormula()}}, ""), remove);
  CHECK(removed.reason == Reason::ContentActive);
  // Truncated or bit-flipped streams never crash and never pass a macro sheet.
  std::string good = workbook({{"Sheet1", 0, 0, 0x10, number(1)}, {"M", 1, 1, 0x40, execFormula()}},
                              namesWithAutoOpen().substr(0, 40));
  for (std::size_t cut = 8; cut < 400; cut += 37) {
    Outcome t = runXls(good.substr(0, cut));
    if (t.replacement) {
      auto tw = readCompoundStream(t.replacement->data, "Workbook");
      REQUIRE(tw);
      CHECK(tw->find("calc") == std::string::npos);
    }
  }
}

// The real peer: a three-sheet workbook written by LibreOffice, its middle sheet made an Excel 4.0
// macro sheet (and an Auto_Open name LibreOffice wrote pointing at it), rebuilt, then read back by
// LibreOffice: every remaining sheet keeps its cells, a cross-sheet formula keeps its value.
TEST_CASE("xls: a LibreOffice workbook with a macro sheet is rebuilt and LibreOffice still reads it",
          "[ole2][xlm][integration]") {
  if (mugai::test::toolMissing("soffice")) return;
  mugai::test::TempDir tmp;
  const std::string fods = R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body><office:spreadsheet>
<table:table table:name="Sheet1"><table:table-row><table:table-cell office:value-type="string"><text:p>alpha</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row></table:table>
<table:table table:name="Sheet2"><table:table-row><table:table-cell office:value-type="string"><text:p>MACROTEXT</text:p></table:table-cell></table:table-row></table:table>
<table:table table:name="Sheet3"><table:table-row><table:table-cell office:value-type="string"><text:p>gamma</text:p></table:table-cell><table:table-cell table:formula="of:=[$Sheet1.B1]+41" office:value-type="float" office:value="42"><text:p>42</text:p></table:table-cell></table:table-row></table:table>
<table:named-expressions><table:named-range table:name="Auto_Open" table:base-cell-address="$Sheet2.$A$1" table:cell-range-address="$Sheet2.$A$1"/><table:named-range table:name="Keep" table:base-cell-address="$Sheet3.$A$1" table:cell-range-address="$Sheet3.$A$1"/></table:named-expressions>
</office:spreadsheet></office:body></office:document>
)";
  mugai::test::writeFile(tmp.path() / "book.fods", fods);
  std::string profile = "-env:UserInstallation=file://" + (tmp.path() / "lo").string();
  auto conv = mugai::test::runTool({"soffice", profile, "--headless", "--convert-to", "xls", "--outdir",
                                    tmp.path().string(), (tmp.path() / "book.fods").string()});
  REQUIRE(conv.exit_code == 0);
  auto lo = readCompoundStream(mugai::test::readFile(tmp.path() / "book.xls"), "Workbook");
  REQUIRE(lo);
  // Sheet2 becomes a very hidden macro sheet (BOUNDSHEET dt 1, its BOF dt 0x40).
  std::string w = *lo;
  int sheet = 0;
  for (const Rec& r : records(w)) {
    if (r.type != 0x0085 || sheet++ != 1) continue;
    w[r.pos + 4 + 4] = '\x02';
    w[r.pos + 4 + 5] = '\x01';
    std::uint32_t at = rd32(r.body, 0);
    REQUIRE(rd16(w, at) == 0x0809);
    w[at + 6] = '\x40';
  }
  REQUIRE(sheet == 3);
  Outcome o = runXls(w);
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(mugai::test::hasFinding(o, "removed", "Excel 4.0 macro sheet \"Sheet2\", very hidden"));
  CHECK(mugai::test::hasFinding(o, "removed", "defined name Auto_Open (runs a macro when the workbook opens or closes)"));

  fs::create_directories(tmp.path() / "out");
  mugai::test::writeFile(tmp.path() / "out" / "clean.xls", o.replacement->data);
  auto csv = mugai::test::runTool({"soffice", profile, "--headless", "--convert-to",
                                   "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                                   "--outdir", (tmp.path() / "out").string(),
                                   (tmp.path() / "out" / "clean.xls").string()});
  REQUIRE(csv.exit_code == 0);
  CHECK(mugai::test::readFile(tmp.path() / "out" / "clean-Sheet1.csv") == "alpha,1\n");
  CHECK(mugai::test::readFile(tmp.path() / "out" / "clean-Sheet3.csv") == "gamma,42\n");
  std::error_code ec;
  CHECK(!fs::exists(tmp.path() / "out" / "clean-Sheet2.csv", ec));
}
