// .xlsb formulas: see xlsb.h. [MS-XLSB] 2.1.4 (records), 2.4 (BrtFmla*, BrtCell*, BrtShrFmla,
// BrtArrFmla, BrtName), 2.5.97 (Rgce: PtgFunc, PtgFuncVar, PtgExp).
#include "sanitizers/ooxml/xlsb.h"

#include <cstdint>
#include <vector>

namespace mugai::sanitizers::ooxml {
namespace {

constexpr std::uint32_t kCellError = 3, kCellBool = 4, kCellReal = 5, kCellSt = 6, kFmlaString = 8,
                        kFmlaNum = 9, kFmlaBool = 10, kFmlaError = 11, kName = 39, kArrFmla = 426,
                        kShrFmla = 427;

struct Record {
  std::uint32_t type = 0;
  std::size_t begin = 0;  // header start
  std::size_t body = 0;   // payload start
  std::size_t size = 0;
  std::size_t end() const { return body + size; }
};

/// Type: 1-2 bytes, size: 1-4 bytes, 7 bits each, high bit = more.
std::optional<Record> recordAt(std::string_view d, std::size_t at) {
  Record r;
  r.begin = at;
  std::size_t p = at;
  for (int i = 0; i < 2; ++i) {
    if (p >= d.size()) return std::nullopt;
    unsigned char b = static_cast<unsigned char>(d[p++]);
    r.type |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) break;
    if (i == 1) return std::nullopt;
  }
  for (int i = 0; i < 4; ++i) {
    if (p >= d.size()) return std::nullopt;
    unsigned char b = static_cast<unsigned char>(d[p++]);
    r.size |= static_cast<std::size_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) break;
    if (i == 3) return std::nullopt;
  }
  r.body = p;
  if (r.size > d.size() - p) return std::nullopt;
  return r;
}

std::string header(std::uint32_t type, std::size_t size) {
  std::string h;
  do {
    unsigned char b = type & 0x7F;
    type >>= 7;
    h += static_cast<char>(type ? b | 0x80 : b);
  } while (type);
  do {
    unsigned char b = size & 0x7F;
    size >>= 7;
    h += static_cast<char>(size ? b | 0x80 : b);
  } while (size);
  return h;
}

const char* riskyTab(unsigned tab) {
  switch (tab) {
    case 110: return "EXEC";
    case 149: return "REGISTER";
    case 150: return "CALL";
    case 175: return "INITIATE";
    case 176: return "REQUEST";
    case 177: return "POKE";
    case 178: return "EXECUTE";
    case 255: return "a call through a name (add-in or newer function)";
    case 257: return "EVALUATE";
    case 267: return "REGISTER.ID";
    case 359: return "HYPERLINK";
    case 379: return "RTD";
    default: return nullptr;
  }
}

/// The first risky call token in `b` (matched by its bytes), or nullptr.
const char* riskyCall(std::string_view b) {
  for (std::size_t i = 0; i + 2 < b.size(); ++i) {
    unsigned char t = static_cast<unsigned char>(b[i]);
    if (t == 0x21 || t == 0x41 || t == 0x61) {  // PtgFunc: iftab (2)
      unsigned tab = static_cast<unsigned char>(b[i + 1]) | (static_cast<unsigned char>(b[i + 2]) << 8);
      if (const char* r = riskyTab(tab)) return r;
    }
    if ((t == 0x22 || t == 0x42 || t == 0x62) && i + 3 < b.size()) {  // PtgFuncVar: cparams, tab
      unsigned tab = static_cast<unsigned char>(b[i + 2]) | (static_cast<unsigned char>(b[i + 3]) << 8);
      if (tab & 0x8000) return "a macro command";
      if (const char* r = riskyTab(tab)) return r;
    }
  }
  return nullptr;
}

/// Where a formula cell's formula starts (after Cell(8), the value and grbitFlags(2)); the
/// value cell type it becomes. Nothing when the payload is too short.
struct Layout {
  std::size_t value_end = 0;  // Cell + value
  std::size_t formula = 0;    // start of CellParsedFormula (cce)
  std::uint32_t value_type = 0;
};
std::optional<Layout> layoutOf(std::uint32_t type, std::string_view p) {
  Layout l;
  switch (type) {
    case kFmlaNum: l.value_end = 16, l.value_type = kCellReal; break;
    case kFmlaBool: l.value_end = 9, l.value_type = kCellBool; break;
    case kFmlaError: l.value_end = 9, l.value_type = kCellError; break;
    case kFmlaString: {
      if (p.size() < 12) return std::nullopt;
      std::uint64_t cch = static_cast<unsigned char>(p[8]) | (static_cast<unsigned char>(p[9]) << 8) |
                          (static_cast<std::uint64_t>(static_cast<unsigned char>(p[10])) << 16) |
                          (static_cast<std::uint64_t>(static_cast<unsigned char>(p[11])) << 24);
      if (cch > (p.size() - 12) / 2) return std::nullopt;
      l.value_end = 12 + 2 * cch;
      l.value_type = kCellSt;
      break;
    }
    default: return std::nullopt;
  }
  if (l.value_end + 2 + 4 > p.size()) return std::nullopt;
  l.formula = l.value_end + 2;
  return l;
}

bool startsWithPtgExp(std::string_view p, const Layout& l) {
  return l.formula + 5 <= p.size() && static_cast<unsigned char>(p[l.formula + 4]) == 0x01;
}

}  // namespace

XlsbEdit removeRiskyXlsbFormulas(std::string_view d, XlsbPart kind) {
  XlsbEdit out;
  std::vector<Record> records;
  for (std::size_t at = 0; at < d.size();) {
    auto r = recordAt(d, at);
    if (!r) {
      out.malformed = true;
      return out;
    }
    records.push_back(*r);
    at = r->end();
  }
  if (kind == XlsbPart::Workbook) {
    for (const Record& r : records)
      if (r.type == kName)
        if (const char* what = riskyCall(d.substr(r.body, r.size))) {
          out.refused = std::string("a defined name calling ") + what;
          return out;
        }
    return out;
  }
  // Worksheet. First: does a shared or array formula call out? Then every PtgExp cell goes too.
  std::string shared_what;
  for (const Record& r : records)
    if (r.type == kShrFmla || r.type == kArrFmla)
      if (const char* what = riskyCall(d.substr(r.body, r.size))) shared_what = what;
  std::string rebuilt;
  bool changed = false;
  for (const Record& r : records) {
    std::string_view p = d.substr(r.body, r.size);
    if (!shared_what.empty() && (r.type == kShrFmla || r.type == kArrFmla)) {
      changed = true;
      continue;
    }
    if (r.type >= kFmlaString && r.type <= kFmlaError) {
      auto l = layoutOf(r.type, p);
      if (!l) {
        out.malformed = true;
        return out;
      }
      const char* what = riskyCall(p.substr(l->formula));
      std::string shared;
      if (!what && !shared_what.empty() && startsWithPtgExp(p, *l)) {
        shared = "shared/array formula with " + shared_what;
        what = shared.c_str();
      }
      if (what) {
        ++out.cells[what];
        rebuilt += header(l->value_type, l->value_end);
        rebuilt.append(p.substr(0, l->value_end));
        changed = true;
        continue;
      }
    }
    rebuilt.append(d.substr(r.begin, r.end() - r.begin));
  }
  if (changed) out.data = std::move(rebuilt);
  return out;
}

}  // namespace mugai::sanitizers::ooxml
