// Excel BIFF8 Workbook stream without its Excel 4.0 macro sheets: see xls.h.
//
// Steps: read the globals substream and the sheet substreams (record boundaries, BOF types);
// decide which sheets are macro sheets; write the globals again with sheet indices renumbered
// and macro names made inert; append the kept sheet substreams; patch stream offsets.
#include "sanitizers/ole2/xls.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <set>

#include "mugai/core/digest.h"

namespace mugai::sanitizers::ole2 {
namespace {

constexpr std::uint16_t kBof = 0x0809, kEof = 0x000A, kContinue = 0x003C, kBoundSheet = 0x0085,
                        kName = 0x0018, kExternSheet = 0x0017, kSupBook = 0x01AE, kWindow1 = 0x003D,
                        kTabId = 0x013D, kExtSst = 0x00FF, kIndex = 0x020B;
constexpr std::uint16_t kNoSheet = 0xFFFE;  // XTI: "a sheet that was deleted" ([MS-XLS] 2.5.245)

std::uint16_t le16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) |
                                    (static_cast<unsigned char>(s[at + 1]) << 8));
}
std::uint32_t le32(std::string_view s, std::size_t at) {
  return static_cast<std::uint32_t>(le16(s, at)) | (static_cast<std::uint32_t>(le16(s, at + 2)) << 16);
}
void put16(std::string& s, std::size_t at, std::uint16_t v) {
  s[at] = static_cast<char>(v & 0xFF);
  s[at + 1] = static_cast<char>(v >> 8);
}
void put32(std::string& s, std::size_t at, std::uint32_t v) {
  put16(s, at, static_cast<std::uint16_t>(v & 0xFFFF));
  put16(s, at + 2, static_cast<std::uint16_t>(v >> 16));
}

struct Record {
  std::uint16_t type = 0;
  std::size_t pos = 0;  // of the header in the stream
  std::string_view body;
  std::size_t end() const { return pos + 4 + body.size(); }
};

/// One record at `pos`, or nothing when the header or body runs past the stream.
std::optional<Record> recordAt(std::string_view s, std::size_t pos) {
  if (pos + 4 > s.size()) return std::nullopt;
  std::uint16_t len = le16(s, pos + 2);
  if (pos + 4 + len > s.size()) return std::nullopt;
  return Record{le16(s, pos), pos, s.substr(pos + 4, len)};
}

struct Sheet {
  std::uint32_t ply_pos = 0;
  std::uint8_t state = 0;  // 0 visible, 1 hidden, 2 very hidden
  std::uint8_t dt = 0;
  std::string name;
  std::size_t substream = SIZE_MAX;  // index into Parsed::substreams
  bool macro = false;
};

struct Substream {
  std::size_t begin = 0, end = 0;  // [BOF, after its EOF)
  std::uint16_t dt = 0;            // BOF dt: 0x10 sheet, 0x20 chart, 0x40 macro sheet
};

struct Parsed {
  std::vector<Record> globals;  // BOF .. EOF of the workbook globals
  std::vector<Sheet> sheets;    // BOUNDSHEETs in order
  std::vector<Substream> substreams;
};

std::string shortName(std::string_view body, std::size_t at) {  // ShortXLUnicodeString
  if (at + 2 > body.size()) return "?";
  std::size_t cch = static_cast<unsigned char>(body[at]);
  bool wide = body[at + 1] & 1;
  std::string out;
  for (std::size_t i = 0; i < cch && out.size() < 64; ++i) {
    std::size_t p = at + 2 + (wide ? 2 * i : i);
    if (p + (wide ? 2 : 1) > body.size()) break;
    unsigned cu = wide ? le16(body, p) : static_cast<unsigned char>(body[p]);
    out += cu >= 0x20 && cu < 0x7F && cu != '"' && cu != '\\' ? static_cast<char>(cu) : '?';
  }
  return out;
}

/// Globals, then top-level substreams (BOF .. matching EOF, charts nest inside sheets) until the
/// stream ends or something that is no BOF starts (padding). nullopt: not BIFF8 or broken.
std::optional<Parsed> parse(std::string_view s, std::string* why) {
  Parsed p;
  auto first = recordAt(s, 0);
  if (!first || first->type != kBof || first->body.size() < 4 || le16(first->body, 0) != 0x0600 ||
      le16(first->body, 2) != 0x0005) {
    *why = "not a BIFF8 workbook";
    return std::nullopt;
  }
  std::size_t pos = 0;
  for (;;) {
    auto r = recordAt(s, pos);
    if (!r) {
      *why = "the workbook globals end before their EOF";
      return std::nullopt;
    }
    p.globals.push_back(*r);
    pos = r->end();
    if (r->type == kEof) break;
    if (r->type == kBoundSheet) {
      if (r->body.size() < 8) {
        *why = "a short BOUNDSHEET record";
        return std::nullopt;
      }
      Sheet sh;
      sh.ply_pos = le32(r->body, 0);
      sh.state = static_cast<std::uint8_t>(r->body[4] & 3);
      sh.dt = static_cast<std::uint8_t>(r->body[5]);
      sh.name = shortName(r->body, 6);
      p.sheets.push_back(sh);
    }
  }
  while (pos < s.size()) {
    auto r = recordAt(s, pos);
    if (!r || r->type != kBof) break;  // padding or trailing bytes: not part of any sheet
    Substream sub;
    sub.begin = pos;
    sub.dt = r->body.size() >= 4 ? le16(r->body, 2) : 0;
    int depth = 0;
    for (;;) {
      auto q = recordAt(s, pos);
      if (!q) {
        *why = "a sheet substream ends before its EOF";
        return std::nullopt;
      }
      pos = q->end();
      if (q->type == kBof && ++depth > 8) {
        *why = "sheet substreams nested too deeply";
        return std::nullopt;
      }
      if (q->type == kEof && --depth == 0) break;
    }
    sub.end = pos;
    p.substreams.push_back(sub);
  }
  return p;
}

/// Built-in names that run a macro ([MS-XLS] 2.5.148 Lbl, built-in name codes).
const char* builtinMacroName(char code) {
  switch (code) {
    case 0x01: return "Auto_Open";
    case 0x02: return "Auto_Close";
    case 0x0A: return "Auto_Activate";
    case 0x0B: return "Auto_Deactivate";
    default: return nullptr;
  }
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

struct Renumber {
  std::vector<bool> removed;            // per BOUNDSHEET index
  std::vector<std::uint16_t> new_index; // per kept BOUNDSHEET index
  std::size_t kept = 0;
  bool gone(std::size_t i) const { return i < removed.size() && removed[i]; }
  std::uint16_t map(std::uint16_t i) const { return i < new_index.size() ? new_index[i] : i; }
};

/// An XTI range [first, last] of the workbook's own sheets after the removal: the kept sheets it
/// covered, or "deleted sheet" when none is left.
void remapXti(std::string& body, std::size_t at, const Renumber& rn) {
  std::uint16_t first = le16(body, at), last = le16(body, at + 2);
  if (first >= 0xFFFE || last >= 0xFFFE || first > last || last >= rn.removed.size()) return;
  std::optional<std::uint16_t> lo, hi;
  for (std::uint16_t i = first; i <= last; ++i) {
    if (rn.gone(i)) continue;
    if (!lo) lo = rn.map(i);
    hi = rn.map(i);
  }
  put16(body, at, lo ? *lo : kNoSheet);
  put16(body, at + 2, hi ? *hi : kNoSheet);
}

struct NameCheck {
  bool inert = false;
  std::string shown;  // for the finding
};

/// Lbl ([MS-XLS] 2.4.150): grbit(2) chKey cch cce(2) reserved(2) itab(2) reserved(4), then the
/// name (XLUnicodeStringNoCch), then the formula.
NameCheck checkName(std::string_view b, const Renumber& rn) {
  NameCheck c;
  if (b.size() < 15) return {true, "a short NAME record"};
  std::uint16_t grbit = le16(b, 0);
  std::size_t cch = static_cast<unsigned char>(b[3]);
  std::uint16_t itab = le16(b, 8);
  bool wide = b[14] & 1;
  std::string name;
  for (std::size_t i = 0; i < cch && name.size() < 64; ++i) {
    std::size_t p = 15 + (wide ? 2 * i : i);
    if (p + (wide ? 2 : 1) > b.size()) break;
    unsigned cu = wide ? le16(b, p) : static_cast<unsigned char>(b[p]);
    name += cu >= 0x20 && cu < 0x7F && cu != '"' && cu != '\\' ? static_cast<char>(cu) : '?';
  }
  const bool builtin = grbit & 0x0020;
  const bool func = grbit & 0x0002, proc = grbit & 0x0008;
  const char* auto_name = builtin && cch >= 1 && b.size() > 15 ? builtinMacroName(b[15]) : nullptr;
  if (auto_name) {
    c = {true, std::string(auto_name) + " (runs a macro when the workbook opens or closes)"};
  } else if (!builtin && (startsWithNoCase(name, "auto_open") || startsWithNoCase(name, "auto_close") ||
                          startsWithNoCase(name, "auto_activate") ||
                          startsWithNoCase(name, "auto_deactivate"))) {
    c = {true, name + " (runs a macro when the workbook opens or closes)"};
  } else if (func || proc) {
    c = {true, name + " (a macro function or command)"};
  } else if (itab > 0 && rn.gone(itab - 1u)) {
    c = {true, name + " (a name of the removed macro sheet)"};
  }
  return c;
}

/// An inert Lbl in the same slot: no flags, a fresh name, workbook scope, formula #REF!.
std::string inertName(std::size_t serial) {
  std::string name = "mugai_removed_" + std::to_string(serial);
  std::string b(14, '\0');
  b[3] = static_cast<char>(name.size());
  put16(b, 4, 2);  // cce
  b += '\0';       // fHighByte: 8-bit characters
  b += name;
  b += std::string("\x1C\x17", 2);  // ptgErr #REF!
  return b;
}

std::string header(std::uint16_t type, std::size_t len) {
  std::string h(4, '\0');
  put16(h, 0, type);
  put16(h, 2, static_cast<std::uint16_t>(len));
  return h;
}

const char* visibility(std::uint8_t state) {
  return state == 1 ? ", hidden" : state == 2 ? ", very hidden" : "";
}

/// A macro sheet's BOF anywhere in the bytes (BIFF8 or BIFF5: type 0x0809, vers 0x0600/0x0500,
/// dt 0x0040), whether or not the record chain leads to it: padding, a sheet no BOUNDSHEET
/// names, a stream whose records are misaligned. The backstop for what parse() cannot follow.
bool macroBofAnywhere(std::string_view s) {
  for (std::size_t at = s.find("\x09\x08"); at != std::string_view::npos && at + 8 <= s.size();
       at = s.find("\x09\x08", at + 1)) {
    if (s[at + 4] == '\0' && (s[at + 5] == '\x06' || s[at + 5] == '\x05') && s[at + 6] == '\x40' && s[at + 7] == '\0')
      return true;
  }
  return false;
}

/// Which sheets are macro sheets (by BOUNDSHEET dt 1/6 or by their own BOF dt 0x40), which
/// substream each BOUNDSHEET names (`named`); true when any macro sheet is there, named or not.
bool markMacroSheets(Parsed& p, std::set<std::size_t>& named) {
  std::map<std::size_t, std::size_t> by_begin;
  for (std::size_t i = 0; i < p.substreams.size(); ++i) by_begin[p.substreams[i].begin] = i;
  bool any = false;
  for (Sheet& sh : p.sheets) {
    auto it = by_begin.find(sh.ply_pos);
    if (it != by_begin.end()) sh.substream = it->second;
    bool bof_macro = it != by_begin.end() && p.substreams[it->second].dt == 0x0040;
    sh.macro = sh.dt == 1 || sh.dt == 6 || bof_macro;
    any = any || sh.macro;
    named.insert(sh.substream);
  }
  for (std::size_t i = 0; i < p.substreams.size(); ++i)
    if (!named.count(i) && p.substreams[i].dt == 0x0040) any = true;
  return any;
}

/// The new sheet numbers; the reason when the sheets cannot be renumbered safely.
std::optional<std::string> renumber(const Parsed& p, const std::set<std::size_t>& named, Renumber& rn) {
  if (named.size() != p.sheets.size() || named.count(SIZE_MAX))
    return "an Excel 4.0 macro sheet cannot be cut out: the sheet offsets do not match the sheets";
  rn.removed.resize(p.sheets.size());
  rn.new_index.resize(p.sheets.size());
  for (std::size_t i = 0; i < p.sheets.size(); ++i) {
    rn.removed[i] = p.sheets[i].macro;
    rn.new_index[i] = static_cast<std::uint16_t>(rn.kept);
    if (!p.sheets[i].macro) ++rn.kept;
  }
  if (rn.kept == 0) return "a workbook of Excel 4.0 macro sheets only (nothing is left without them)";
  return std::nullopt;
}

/// One globals record as it will be written.
struct GlobalRecord {
  std::size_t old_pos;
  std::string bytes;
  std::size_t sheet = SIZE_MAX;  // BOUNDSHEET: which sheet (lbPlyPos patched when laid out)
  bool extsst = false;
  bool same_size = true;  // positions inside it map one to one
};

/// The workbook globals again: macro sheets' BOUNDSHEETs gone, sheet indices renumbered, names
/// that run macros made inert. The reason when a record cannot be renumbered.
std::optional<std::string> rewriteGlobals(const Parsed& p, const Renumber& rn, std::vector<GlobalRecord>& g,
                                          std::vector<Finding>& findings) {
  // The workbook's own SUPBOOK (ctab, 0x0401): its index names it in EXTERNSHEET.
  std::optional<std::uint16_t> self_book;
  std::uint16_t supbooks = 0;
  for (const Record& r : p.globals) {
    if (r.type != kSupBook) continue;
    if (r.body.size() == 4 && le16(r.body, 2) == 0x0401 && !self_book) self_book = supbooks;
    ++supbooks;
  }
  std::size_t sheet_no = 0, names = 0;
  for (std::size_t k = 0; k < p.globals.size(); ++k) {
    const Record& r = p.globals[k];
    const bool continued = k + 1 < p.globals.size() && p.globals[k + 1].type == kContinue;
    std::string body(r.body);
    switch (r.type) {
      case kBoundSheet: {
        std::size_t i = sheet_no++;
        if (!rn.gone(i)) g.push_back({r.pos, header(r.type, body.size()) + body, i, false, true});
        continue;
      }
      case kName: {
        NameCheck nc = checkName(body, rn);
        if (nc.inert) {
          findings.push_back({"removed", "defined name " + nc.shown});
          body = inertName(++names);
          g.push_back({r.pos, header(r.type, body.size()) + body, SIZE_MAX, false, false});
          while (k + 1 < p.globals.size() && p.globals[k + 1].type == kContinue) ++k;  // its tail
          continue;
        }
        std::uint16_t itab = le16(body, 8);
        if (itab > 0 && itab - 1u < rn.removed.size()) put16(body, 8, static_cast<std::uint16_t>(rn.map(itab - 1) + 1));
        break;
      }
      case kExternSheet: {
        if (continued) return "an Excel 4.0 macro sheet cannot be cut out: EXTERNSHEET too long to renumber";
        if (body.size() < 2) break;
        std::size_t n = le16(body, 0);
        for (std::size_t x = 0; x < n && 2 + 6 * x + 6 <= body.size(); ++x)
          if (self_book && le16(body, 2 + 6 * x) == *self_book) remapXti(body, 2 + 6 * x + 2, rn);
        break;
      }
      case kSupBook:
        if (body.size() == 4 && le16(body, 2) == 0x0401) put16(body, 0, static_cast<std::uint16_t>(rn.kept));
        break;
      case kWindow1:
        if (body.size() >= 16) {
          std::uint16_t cur = le16(body, 10), first = le16(body, 12);
          bool moved = cur < rn.removed.size() && rn.gone(cur);
          put16(body, 10, cur < rn.removed.size() && !rn.gone(cur) ? rn.map(cur) : 0);
          put16(body, 12, first < rn.removed.size() && !rn.gone(first) ? rn.map(first) : 0);
          if (moved) put16(body, 14, 1);  // one selected tab
        }
        break;
      case kTabId:
        if (body.size() == 2 * p.sheets.size()) {
          std::string kept;
          for (std::size_t i = 0; i < p.sheets.size(); ++i)
            if (!rn.gone(i)) kept += body.substr(2 * i, 2);
          body = kept;
        }
        break;
      default:
        break;
    }
    g.push_back({r.pos, header(r.type, body.size()) + body, SIZE_MAX, r.type == kExtSst,
                 body.size() == r.body.size()});
  }
  return std::nullopt;
}

/// INDEX records at the top level of a sheet that moved by `delta`: ibXF and rgibRw are stream
/// positions.
void shiftIndexRecords(std::string& part, std::int64_t delta) {
  int depth = 0;
  for (std::size_t q = 0; q + 4 <= part.size();) {
    auto r = recordAt(part, q);
    if (!r) break;
    if (r->type == kBof) ++depth;
    if (r->type == kIndex && depth == 1 && r->body.size() >= 16) {
      for (std::size_t x = q + 4 + 12; x + 4 <= r->end(); x += 4) {
        std::uint32_t v = le32(part, x);
        if (v != 0) put32(part, x, static_cast<std::uint32_t>(static_cast<std::int64_t>(v) + delta));
      }
    }
    if (r->type == kEof) --depth;
    q = r->end();
  }
}

/// The new stream: the globals, then the kept sheets in BOUNDSHEET order, with lbPlyPos, EXTSST
/// and INDEX pointing at the new positions. Nothing when it would not fit 32-bit offsets.
std::optional<std::string> layOut(std::string_view s, const Parsed& p, const Renumber& rn,
                                  std::vector<GlobalRecord>& g) {
  std::vector<std::size_t> new_pos(g.size());
  std::size_t at = 0;
  for (std::size_t i = 0; i < g.size(); ++i) new_pos[i] = at, at += g[i].bytes.size();
  auto mapGlobal = [&](std::uint32_t old) -> std::optional<std::uint32_t> {
    auto it = std::upper_bound(g.begin(), g.end(), static_cast<std::size_t>(old),
                               [](std::size_t v, const GlobalRecord& o) { return v < o.old_pos; });
    if (it == g.begin()) return std::nullopt;
    std::size_t i = static_cast<std::size_t>(it - g.begin()) - 1;
    if (!g[i].same_size || old >= g[i].old_pos + g[i].bytes.size()) return std::nullopt;
    return static_cast<std::uint32_t>(new_pos[i] + (old - g[i].old_pos));
  };
  std::vector<std::size_t> sheet_pos(p.sheets.size(), 0);
  for (std::size_t i = 0; i < p.sheets.size(); ++i) {
    if (rn.gone(i)) continue;
    const Substream& sub = p.substreams[p.sheets[i].substream];
    sheet_pos[i] = at;
    at += sub.end - sub.begin;
  }
  if (at > 0xFFFFFFFFu) return std::nullopt;
  std::string w;
  w.reserve(at);
  for (GlobalRecord& r : g) {
    if (r.sheet != SIZE_MAX) put32(r.bytes, 4, static_cast<std::uint32_t>(sheet_pos[r.sheet]));
    if (r.extsst) {  // ISSTInf.ib: stream positions of strings in the SST (a reader's hint)
      for (std::size_t x = 6; x + 8 <= r.bytes.size(); x += 8) {
        auto m = mapGlobal(le32(r.bytes, x));
        put32(r.bytes, x, m ? *m : 0);
      }
    }
    w += r.bytes;
  }
  for (std::size_t i = 0; i < p.sheets.size(); ++i) {
    if (rn.gone(i)) continue;
    const Substream& sub = p.substreams[p.sheets[i].substream];
    std::string part(s.substr(sub.begin, sub.end - sub.begin));
    shiftIndexRecords(part, static_cast<std::int64_t>(sheet_pos[i]) - static_cast<std::int64_t>(sub.begin));
    w += part;
  }
  // Excel pads a small Workbook stream; keep a stream that was 4096 bytes or more at that size.
  if (s.size() >= 4096 && w.size() < 4096) w.resize(4096, '\0');
  return w;
}

}  // namespace

XlsMacroEdit removeXlsMacroSheets(std::string_view s) {
  XlsMacroEdit out;
  auto fail = [&](Reason r, std::string detail) {
    out.unchanged = false;
    out.failure = r;
    out.detail = std::move(detail);
    return out;
  };
  std::string why;
  std::optional<Parsed> parsed = parse(s, &why);
  if (!parsed) {
    // Not BIFF8 (BIFF5 "Book"), or broken: the caller's own checks decide (a BOUNDSHEET of type
    // macro is refused there); a macro sheet's BOF anywhere is refused here.
    if (macroBofAnywhere(s))
      return fail(Reason::ContentActive, "an Excel 4.0 macro sheet in a Workbook stream whose records cannot be followed (" + why + ")");
    return out;
  }
  Parsed& p = *parsed;
  std::set<std::size_t> named;
  if (!markMacroSheets(p, named)) {
    if (macroBofAnywhere(s))
      return fail(Reason::ContentActive, "an Excel 4.0 macro sheet's BOF outside the workbook's sheets");
    return out;
  }
  // From here on the stream is rewritten; anything we cannot follow refuses the file.
  Renumber rn;
  if (auto no = renumber(p, named, rn)) return fail(Reason::ContentActive, *no);
  // Each removed substream's own bytes (its BOF up to and with its EOF) are hashed; a sheet whose
  // BOF was not found has none.
  auto bytesOf = [&](std::size_t i) {
    if (i >= p.substreams.size()) return std::string();
    const Substream& sub = p.substreams[i];
    if (sub.begin > s.size() || sub.end < sub.begin) return std::string();
    return sha256Hex(s.substr(sub.begin, sub.end - sub.begin));
  };
  for (const Sheet& sh : p.sheets)
    if (sh.macro)
      out.findings.push_back({"removed", "Excel 4.0 macro sheet \"" + sh.name + "\"" + visibility(sh.state),
                              bytesOf(sh.substream)});
  for (std::size_t i = 0; i < p.substreams.size(); ++i)
    if (!named.count(i))
      out.findings.push_back({"removed", "a sheet substream no sheet names (BOF type " +
                                             std::to_string(p.substreams[i].dt) + ")",
                              bytesOf(i)});
  std::vector<GlobalRecord> g;
  if (auto no = rewriteGlobals(p, rn, g, out.findings)) return fail(Reason::ContentActive, *no);
  std::optional<std::string> w = layOut(s, p, rn, g);
  if (!w) return fail(Reason::ContentActive, "an Excel 4.0 macro sheet cannot be cut out: the workbook is too large");
  if (macroBofAnywhere(*w))  // one hidden inside a record we kept
    return fail(Reason::ContentActive, "an Excel 4.0 macro sheet's BOF inside a record of the workbook");
  out.unchanged = false;
  out.stream = std::move(*w);
  return out;
}

}  // namespace mugai::sanitizers::ole2
