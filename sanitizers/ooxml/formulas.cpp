// Risky SpreadsheetML formulas (see formulas.h for Trust / Limits / Errors).
#include "sanitizers/ooxml/formulas.h"

#include <set>
#include <vector>

#include "src/zip/xml_lite.h"

namespace mugai::sanitizers::ooxml {
namespace {

using zip::xml::Attr;
using zip::xml::decode;
using zip::xml::Edits;
using zip::xml::Scanner;
using zip::xml::Tag;

/// Worksheet functions that fetch from the network, open links, talk to other programs (RTD, DDE
/// through XLM) or call native code. Upper case, without `_xlfn.`/`_xlws.`.
bool riskyFunction(std::string_view upper) {
  // clang-format off
  static const std::set<std::string, std::less<>> kFunctions = {
      "WEBSERVICE",    // HTTP GET of any URL (data leaves through the query string)
      "FILTERXML",     // parses XML (paired with WEBSERVICE; no reason to trust its parser)
      "HYPERLINK",     // a link whose target can be computed from cell contents
      "IMAGE",         // fetches a picture from a URL (web beacon)
      "STOCKHISTORY", "PY", "COPILOT",  // send data to an online service
      "RTD",           // real-time data COM server
      // XLM / add-in calls into DLLs, programs, DDE channels, ODBC
      "CALL", "REGISTER", "REGISTER.ID", "EXEC", "EXECUTE", "INITIATE", "REQUEST", "POKE",
      "SQL.REQUEST",
      // Excel 4 (XLM) functions that still work from defined names: formula text built at run
      // time, other macros, file I/O, keystrokes
      "EVALUATE", "RUN", "FOPEN", "FWRITE", "FWRITELN", "FILES", "FORMULA", "FORMULA.ARRAY",
      "FORMULA.FILL", "SET.NAME", "SET.VALUE", "SEND.KEYS", "APP.ACTIVATE", "OPEN"};
  // clang-format on
  return kFunctions.count(upper) > 0;
}

bool nameStart(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}
bool nameChar(unsigned char c) { return nameStart(c) || (c >= '0' && c <= '9') || c == '.'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool blank(std::string_view s) {
  for (char c : s) {
    if (!space(c)) return false;
  }
  return true;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return u;
}

/// The text of an element whose open tag `t` ends at t.end and which closes just before `end`.
std::string elementText(std::string_view xml, const Tag& t, std::size_t end) {
  if (t.kind != Tag::Kind::Open) return "";
  std::size_t close = xml.rfind('<', end - 1);
  return close > t.end ? zip::xml::textContent(xml.substr(t.end, close - t.end)) : "";
}

void count(FormulaCounts& c, const FormulaRisk& r, std::size_t n = 1) { c[r.what] += n; }

/// Containers that would be left empty (and schema-invalid) once their children went.
std::string dropEmpty(std::string out, std::string_view local) {
  Edits edits;
  Scanner c(out);
  Tag open, next;
  bool have_open = false;
  while (c.next(next)) {
    if (have_open && next.kind == Tag::Kind::Close && next.name == open.name &&
        out.find_first_not_of(" \t\r\n", open.end) == next.begin)
      edits.erase(open.begin, next.end);
    have_open = next.kind == Tag::Kind::Open && next.local() == local;
    if (have_open) open = next;
  }
  return edits.empty() ? out : edits.apply(out);
}

}  // namespace

FormulaRisk formulaRisk(std::string_view f) {
  // Excel never writes an unterminated string, quoted name or bracket; what hides behind one is
  // not looked at, so the formula counts as risky.
  auto unreadable = []() { return FormulaRisk{FormulaRisk::Kind::Malformed, "unreadable"}; };
  const std::size_t n = f.size();
  std::size_t i = 0;
  while (i < n) {
    char c = f[i];
    if (c == '"') {  // a string literal: data, "" is an escaped quote
      for (++i; i < n; ++i) {
        if (f[i] != '"') continue;
        if (i + 1 < n && f[i + 1] == '"') {
          ++i;
          continue;
        }
        break;
      }
      if (i >= n) return unreadable();
      ++i;
      continue;
    }
    if (c == '\'') {  // a quoted sheet (or workbook/path) name; '' is an escaped quote
      bool path = false, book = false, pipe = false;
      for (++i; i < n; ++i) {
        char d = f[i];
        if (d == '\'') {
          if (i + 1 < n && f[i + 1] == '\'') {
            ++i;
            continue;
          }
          break;
        }
        // Sheet names cannot hold \ / [ ]: these are paths, URLs and workbook names.
        path = path || d == '\\' || d == '/';
        book = book || d == '[' || d == ']';
        pipe = pipe || d == '|';
      }
      if (i >= n) return unreadable();
      ++i;
      if (pipe) return {FormulaRisk::Kind::Dde, "DDE"};
      if (path) return {FormulaRisk::Kind::ExternalPath, "external reference"};
      if (book) return {FormulaRisk::Kind::ExternalIndex, "external reference"};
      continue;
    }
    if (c == '|') return {FormulaRisk::Kind::Dde, "DDE"};  // server|topic!item
    if (c == '\\') return {FormulaRisk::Kind::ExternalPath, "external reference"};
    if (c == '[') {
      // Table1[Col], Table1[[#This Row],[Col]] (after a name) and [@Col] are structured
      // references; [1]Sheet1!A1 (a workbook index) or [C:\x.xlsx] are other workbooks.
      bool structured =
          i > 0 && (nameChar(static_cast<unsigned char>(f[i - 1])) || f[i - 1] == ']');
      std::size_t begin = i + 1;
      int depth = 0;
      for (; i < n; ++i) {
        if (f[i] == '\'' && i + 1 < n) {  // ' escapes the next character in structured refs
          ++i;
          continue;
        }
        if (f[i] == '[') ++depth;
        if (f[i] == ']' && --depth == 0) break;
      }
      if (i >= n) return unreadable();
      std::string_view inner = f.substr(begin, i - begin);
      ++i;
      if (structured || inner.empty() || inner[0] == '@' || inner[0] == '#' || inner[0] == '[')
        continue;
      bool digits = inner.find_first_not_of("0123456789") == std::string_view::npos;
      if (digits) return {FormulaRisk::Kind::ExternalIndex, "external reference"};
      if (inner.find_first_of("\\/:") != std::string_view::npos)
        return {FormulaRisk::Kind::ExternalPath, "external reference"};
      continue;
    }
    if (nameStart(static_cast<unsigned char>(c))) {
      std::size_t begin = i;
      while (i < n && nameChar(static_cast<unsigned char>(f[i]))) ++i;
      std::size_t j = i;
      while (j < n && space(f[j])) ++j;
      if (j >= n || f[j] != '(') continue;
      std::string upper_name = upper(f.substr(begin, i - begin));
      std::string_view name = upper_name;
      for (bool again = true; again;) {  // _xlfn._xlws.FILTER -> FILTER (an offset: linear)
        again = false;
        // _xludf. marks a name the writer did not know as a built-in: whoever reads it may.
        for (std::string_view p : {"_XLFN.", "_XLWS.", "_XLUDF."}) {
          if (name.starts_with(p)) {
            name.remove_prefix(p.size());
            again = true;
          }
        }
      }
      if (riskyFunction(name)) return {FormulaRisk::Kind::Function, std::string(name)};
      if (name.starts_with("_XLL.")) return {FormulaRisk::Kind::Function, "_xll add-in call"};
      continue;
    }
    ++i;
  }
  return {};
}

FormulaEdit removeRiskyFormulas(std::string_view xml, SheetPart kind, const Budget& budget) {
  FormulaEdit r;
  Edits edits;
  std::map<std::string, FormulaRisk> si_risk;  // shared formulas whose master goes
  bool have_followers = false;
  std::size_t tags = 0;
  auto deadline = [&]() {
    if (++tags % 4096 != 0) return false;
    r.limit = budget.checkDeadline();
    return r.limit.has_value();
  };
  {
    Scanner s(xml);
    Tag t;
    int in_cell = 0;
    while (s.next(t)) {
      if (deadline()) return r;
      std::string_view local = t.local();
      if (kind == SheetPart::Worksheet && local == "c") {
        if (t.kind == Tag::Kind::Open) ++in_cell;
        if (t.kind == Tag::Kind::Close && in_cell > 0) --in_cell;
        continue;
      }
      if (t.kind == Tag::Kind::Close) continue;
      bool cell_f = kind == SheetPart::Worksheet && local == "f" && in_cell > 0;
      bool other_f =
          kind == SheetPart::Worksheet && !cell_f &&
          (local == "f" || local == "formula" || local == "formula1" || local == "formula2");
      bool name = kind == SheetPart::Workbook && local == "definedName";
      bool table = kind == SheetPart::Table &&
                   (local == "calculatedColumnFormula" || local == "totalsRowFormula");
      if (!cell_f && !other_f && !name && !table) continue;
      std::size_t end = s.skipElement(t);
      if (end == std::string_view::npos) break;
      std::string text = elementText(xml, t, end);
      FormulaRisk risk = formulaRisk(text);
      const Attr* type = t.attr("t");
      const Attr* si = t.attr("si");
      bool shared = cell_f && type && decode(type->value) == "shared" && si;
      if (shared && blank(text)) {
        have_followers = true;  // decided once every master is known
        continue;
      }
      if (!risk) continue;
      if (other_f) {
        // Conditional formats and data validations need their formula; an index reference
        // ([1]Sheet1!A1) only points into an external link part, which is removed anyway.
        if (risk.kind == FormulaRisk::Kind::ExternalIndex) continue;
        r.refused = std::string(local) + " " + risk.what;
        return r;
      }
      edits.erase(t.begin, end);
      if (shared) si_risk[decode(si->value)] = risk;
      count(cell_f ? r.cells : name ? r.names : r.tables, risk);
    }
    if (s.malformed()) {
      r.malformed = true;
      return r;
    }
  }
  if (have_followers && !si_risk.empty()) {  // cells sharing a removed master's formula
    Scanner s(xml);
    Tag t;
    int in_cell = 0;
    while (s.next(t)) {
      if (deadline()) return r;
      std::string_view local = t.local();
      if (local == "c") {
        if (t.kind == Tag::Kind::Open) ++in_cell;
        if (t.kind == Tag::Kind::Close && in_cell > 0) --in_cell;
        continue;
      }
      if (t.kind == Tag::Kind::Close || local != "f" || in_cell == 0) continue;
      std::size_t end = s.skipElement(t);
      if (end == std::string_view::npos) break;
      const Attr* type = t.attr("t");
      const Attr* si = t.attr("si");
      if (!type || !si || decode(type->value) != "shared" || !blank(elementText(xml, t, end)))
        continue;  // not a follower (masters and formulas with text were judged above)
      auto it = si_risk.find(decode(si->value));
      if (it == si_risk.end()) continue;
      edits.erase(t.begin, end);
      count(r.cells, it->second);
    }
    if (s.malformed()) {
      r.malformed = true;
      return r;
    }
  }
  if (edits.empty()) return r;
  std::string out = edits.apply(xml);
  if (kind == SheetPart::Workbook) out = dropEmpty(std::move(out), "definedNames");
  r.xml = std::move(out);
  return r;
}

}  // namespace mugai::sanitizers::ooxml
