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

namespace {

/// One formula read left to right. Each token reader starts at its token's first character,
/// moves `i` past the token and returns the token's risk, or nullopt when it is harmless. Excel
/// never writes an unterminated string, quoted name or bracket; what hides behind one is not
/// looked at, so the formula counts as risky (Malformed).
struct FormulaReader {
  std::string_view f;
  std::size_t i = 0;

  static FormulaRisk unreadable() { return {FormulaRisk::Kind::Malformed, "unreadable"}; }

  /// "text": data; "" is an escaped quote.
  std::optional<FormulaRisk> stringLiteral() {
    for (++i; i < f.size(); ++i) {
      if (f[i] != '"') continue;
      if (i + 1 < f.size() && f[i + 1] == '"') {
        ++i;
        continue;
      }
      break;
    }
    if (i >= f.size()) return unreadable();
    ++i;
    return std::nullopt;
  }

  /// 'Sheet name' (or a workbook or path); '' is an escaped quote.
  std::optional<FormulaRisk> quotedName() {
    bool path = false, book = false, pipe = false;
    for (++i; i < f.size(); ++i) {
      char d = f[i];
      if (d == '\'') {
        if (i + 1 < f.size() && f[i + 1] == '\'') {
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
    if (i >= f.size()) return unreadable();
    ++i;
    if (pipe) return FormulaRisk{FormulaRisk::Kind::Dde, "DDE"};
    if (path) return FormulaRisk{FormulaRisk::Kind::ExternalPath, "external reference"};
    if (book) return FormulaRisk{FormulaRisk::Kind::ExternalIndex, "external reference"};
    return std::nullopt;
  }

  /// Table1[Col], Table1[[#This Row],[Col]] (after a name) and [@Col] are structured
  /// references; [1]Sheet1!A1 (a workbook index) or [C:\x.xlsx] are other workbooks.
  std::optional<FormulaRisk> bracket() {
    bool structured = i > 0 && (nameChar(static_cast<unsigned char>(f[i - 1])) || f[i - 1] == ']');
    std::size_t begin = i + 1;
    int depth = 0;
    for (; i < f.size(); ++i) {
      if (f[i] == '\'' && i + 1 < f.size()) {  // ' escapes the next character in structured refs
        ++i;
        continue;
      }
      if (f[i] == '[') ++depth;
      if (f[i] == ']' && --depth == 0) break;
    }
    if (i >= f.size()) return unreadable();
    std::string_view inner = f.substr(begin, i - begin);
    ++i;
    if (structured || inner.empty() || inner[0] == '@' || inner[0] == '#' || inner[0] == '[')
      return std::nullopt;
    if (inner.find_first_not_of("0123456789") == std::string_view::npos)
      return FormulaRisk{FormulaRisk::Kind::ExternalIndex, "external reference"};
    if (inner.find_first_of("\\/:") != std::string_view::npos)
      return FormulaRisk{FormulaRisk::Kind::ExternalPath, "external reference"};
    return std::nullopt;
  }

  /// A name; when a '(' follows, a function call, judged by its name without the _xlfn.,
  /// _xlws. and _xludf. prefixes.
  std::optional<FormulaRisk> name() {
    std::size_t begin = i;
    while (i < f.size() && nameChar(static_cast<unsigned char>(f[i]))) ++i;
    std::size_t j = i;
    while (j < f.size() && space(f[j])) ++j;
    if (j >= f.size() || f[j] != '(') return std::nullopt;
    std::string upper_name = upper(f.substr(begin, i - begin));
    std::string_view fn = upper_name;
    for (bool again = true; again;) {  // _xlfn._xlws.FILTER -> FILTER (an offset: linear)
      again = false;
      // _xludf. marks a name the writer did not know as a built-in: whoever reads it may.
      for (std::string_view p : {"_XLFN.", "_XLWS.", "_XLUDF."}) {
        if (fn.starts_with(p)) {
          fn.remove_prefix(p.size());
          again = true;
        }
      }
    }
    if (riskyFunction(fn)) return FormulaRisk{FormulaRisk::Kind::Function, std::string(fn)};
    if (fn.starts_with("_XLL.")) return FormulaRisk{FormulaRisk::Kind::Function, "_xll add-in call"};
    return std::nullopt;
  }
};

}  // namespace

FormulaRisk formulaRisk(std::string_view f) {
  FormulaReader r{f};
  while (r.i < f.size()) {
    const char c = f[r.i];
    std::optional<FormulaRisk> risk;
    if (c == '"') {
      risk = r.stringLiteral();
    } else if (c == '\'') {
      risk = r.quotedName();
    } else if (c == '|') {
      return {FormulaRisk::Kind::Dde, "DDE"};  // server|topic!item
    } else if (c == '\\') {
      return {FormulaRisk::Kind::ExternalPath, "external reference"};
    } else if (c == '[') {
      risk = r.bracket();
    } else if (nameStart(static_cast<unsigned char>(c))) {
      risk = r.name();
    } else {
      ++r.i;
    }
    if (risk) return *risk;
  }
  return {};
}

namespace {

/// Where a formula element sits: a cell's <f>, another worksheet formula (conditional formats,
/// data validations: formula, formula1, formula2, xm:f), a defined name, a table column.
enum class Site { None, Cell, Other, Name, Table };

Site siteOf(SheetPart kind, std::string_view local, bool in_cell) {
  if (kind == SheetPart::Worksheet) {
    if (local == "f" && in_cell) return Site::Cell;
    if (local == "f" || local == "formula" || local == "formula1" || local == "formula2")
      return Site::Other;
    return Site::None;
  }
  if (kind == SheetPart::Workbook && local == "definedName") return Site::Name;
  if (kind == SheetPart::Table && (local == "calculatedColumnFormula" || local == "totalsRowFormula"))
    return Site::Table;
  return Site::None;
}

void trackCell(const Tag& t, int& in_cell) {
  if (t.kind == Tag::Kind::Open) ++in_cell;
  if (t.kind == Tag::Kind::Close && in_cell > 0) --in_cell;
}

/// removeRiskyFormulas() in two passes over the part: every formula judged (a risky one
/// removed, or the part refused), then the cells that share a removed master's formula.
class FormulaPass {
 public:
  FormulaPass(std::string_view xml, SheetPart kind, const Budget& budget)
      : xml_(xml), kind_(kind), budget_(budget) {}
  /// Each returns false when the result is final already (deadline, refused, malformed).
  bool judge();
  bool removeFollowers();
  FormulaEdit finish();

  FormulaEdit r;

 private:
  bool judgeOne(const Tag& t, std::size_t end, Site site, std::string_view local);
  /// Walks the part's tags, tracking a worksheet's <c> cells, and calls
  /// `fn(tag, end, local name, in a cell)` for each open or empty tag `wanted(local, in a cell)`
  /// accepts (`end`: past its element); `fn` returns false to stop. False when the walk stopped
  /// (the deadline, `fn`) or the part is malformed.
  template <typename Wanted, typename Fn>
  bool walk(Wanted&& wanted, Fn&& fn);
  bool pastDeadline() {
    if (++tags_ % 4096 != 0) return false;
    r.limit = budget_.checkDeadline();
    return r.limit.has_value();
  }
  bool ended(const Scanner& s) {
    if (!s.malformed()) return false;
    r.malformed = true;
    return true;
  }

  std::string_view xml_;
  SheetPart kind_;
  const Budget& budget_;
  Edits edits_;
  std::map<std::string, FormulaRisk> si_risk_;  // shared formulas whose master goes
  bool have_followers_ = false;
  std::size_t tags_ = 0;
};

template <typename Wanted, typename Fn>
bool FormulaPass::walk(Wanted&& wanted, Fn&& fn) {
  Scanner s(xml_);
  Tag t;
  int in_cell = 0;
  while (s.next(t)) {
    if (pastDeadline()) return false;
    std::string_view local = t.local();
    if (kind_ == SheetPart::Worksheet && local == "c") {
      trackCell(t, in_cell);
      continue;
    }
    if (t.kind == Tag::Kind::Close || !wanted(local, in_cell > 0)) continue;
    std::size_t end = s.skipElement(t);
    if (end == std::string_view::npos) break;
    if (!fn(t, end, local, in_cell > 0)) return false;
  }
  return !ended(s);
}

bool FormulaPass::judge() {
  return walk(
      [this](std::string_view local, bool in_cell) {
        return siteOf(kind_, local, in_cell) != Site::None;
      },
      [this](const Tag& t, std::size_t end, std::string_view local, bool in_cell) {
        return judgeOne(t, end, siteOf(kind_, local, in_cell), local);
      });
}

/// One formula element (open tag `t`, closed just before `end`): removed when risky; false when
/// the part is refused.
bool FormulaPass::judgeOne(const Tag& t, std::size_t end, Site site, std::string_view local) {
  std::string text = elementText(xml_, t, end);
  FormulaRisk risk = formulaRisk(text);
  const Attr* type = t.attr("t");
  const Attr* si = t.attr("si");
  bool shared = site == Site::Cell && type && decode(type->value) == "shared" && si;
  if (shared && blank(text)) {
    have_followers_ = true;  // decided once every master is known
    return true;
  }
  if (!risk) return true;
  if (site == Site::Other) {
    // Conditional formats and data validations need their formula; an index reference
    // ([1]Sheet1!A1) only points into an external link part, which is removed anyway.
    if (risk.kind == FormulaRisk::Kind::ExternalIndex) return true;
    r.refused = std::string(local) + " " + risk.what;
    return false;
  }
  edits_.erase(t.begin, end);
  if (shared) si_risk_[decode(si->value)] = risk;
  count(site == Site::Cell ? r.cells : site == Site::Name ? r.names : r.tables, risk);
  return true;
}

bool FormulaPass::removeFollowers() {
  if (!have_followers_ || si_risk_.empty()) return true;  // (followers exist in worksheets only)
  return walk([](std::string_view local, bool in_cell) { return local == "f" && in_cell; },
              [this](const Tag& t, std::size_t end, std::string_view, bool) {
                const Attr* type = t.attr("t");
                const Attr* si = t.attr("si");
                if (!type || !si || decode(type->value) != "shared" ||
                    !blank(elementText(xml_, t, end)))
                  return true;  // not a follower (masters and formulas with text were judged)
                auto it = si_risk_.find(decode(si->value));
                if (it == si_risk_.end()) return true;
                edits_.erase(t.begin, end);
                count(r.cells, it->second);
                return true;
              });
}

FormulaEdit FormulaPass::finish() {
  if (edits_.empty()) return std::move(r);
  std::string out = edits_.apply(xml_);
  if (kind_ == SheetPart::Workbook) out = dropEmpty(std::move(out), "definedNames");
  r.xml = std::move(out);
  return std::move(r);
}

}  // namespace

FormulaEdit removeRiskyFormulas(std::string_view xml, SheetPart kind, const Budget& budget) {
  FormulaPass pass(xml, kind, budget);
  if (!pass.judge() || !pass.removeFollowers()) return std::move(pass.r);
  return pass.finish();
}

}  // namespace mugai::sanitizers::ooxml
