// sanitizer.ooxml (see ooxml.h for Trust / Limits / Errors and README.md for what is removed).
//
// Shape of a rebuild (class Rebuild, one function per step): read the ZIP directory (limits
// first), decide which parts go (by relationship type: active or unknown; then by name; then what
// nothing reaches), check the parts that are not XML (pictures through the image chain, anything
// else goes), drop every relationship that points at a removed part or outside the package, take
// the elements that used those relationships out of their XML part, neutralise DDE/INCLUDE
// fields, fix [Content_Types].xml, parse every XML part that stays with expat, and write the
// package again: members we did not touch are copied compressed as they are (after a CRC check),
// changed XML is deflated.
#include "sanitizers/ooxml/ooxml.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "sanitizers/image/image.h"
#include "sanitizers/ooxml/formulas.h"
#include "sanitizers/ooxml/xlsb.h"
#include "src/office/field_code.h"
#include "src/zip/xml_check.h"
#include "src/zip/xml_lite.h"
#include "src/zip/zip.h"

namespace mugai::sanitizers::ooxml {
namespace {

using zip::xml::Attr;
using zip::xml::decode;
using zip::xml::Edits;
using zip::xml::lower;
using zip::xml::Scanner;
using zip::xml::Tag;

constexpr std::string_view kContentTypes = "[content_types].xml";

/// Last path segment of a relationship type URI, lower case ("vbaproject", "oleobject", ...).
std::string typeTail(std::string_view type) {
  std::size_t slash = type.rfind('/');
  return lower(slash == std::string_view::npos ? type : type.substr(slash + 1));
}

/// Relationship types whose target is active content or reaches outside: the relationship and
/// (when internal) its target part are removed.
bool activeRelType(const std::string& tail) {
  static const std::set<std::string, std::less<>> kTypes = {"vbaproject",
                                                            "vbaprojectsignature",
                                                            "vbaprojectsignatureagile",
                                                            "vbaprojectsignaturev3",
                                                            "wordvbadata",
                                                            "control",
                                                            "activexcontrolbinary",
                                                            "oleobject",
                                                            "package",
                                                            "externallink",
                                                            "externallinkpath",
                                                            "attachedtemplate",
                                                            "subdocument",
                                                            "extensibility",
                                                            "xlmacrosheet",
                                                            "xlintlmacrosheet",
                                                            "frame",
                                                            "ole2link",
                                                            "keymapcustomizations",
                                                            // content Word imports and renders
                                                            // (RTF/HTML/MHT chunks) or fetches
                                                            "afchunk",
                                                            "connections",
                                                            "querytable"};
  return kTypes.count(tail) > 0;
}

/// http(s) and mailto links are what a reader expects to follow; file:, UNC paths, programs
/// (PowerPoint "ppaction://program" targets) and other schemes are not kept (as in sanitizer.pdf).
bool webTarget(std::string_view target) {
  std::string t = lower(target.substr(0, 16));
  std::size_t b = t.find_first_not_of(" \t\r\n");
  t = b == std::string::npos ? "" : t.substr(b);
  return t.starts_with("http://") || t.starts_with("https://") || t.starts_with("mailto:");
}

bool hasDir(std::string_view lname, std::string_view dir) {
  std::string needle = "/" + std::string(dir) + "/";
  return lname.starts_with(needle.substr(1)) || lname.find(needle) != std::string_view::npos;
}

/// Parts removed by name whatever points at them (lower-case name).
bool activeByName(std::string_view lname) {
  std::size_t slash = lname.rfind('/');
  std::string_view base = slash == std::string_view::npos ? lname : lname.substr(slash + 1);
  return base.starts_with("vbaproject") || base == "vbadata.xml" || base.starts_with("oleobject") ||
         base.starts_with("customui") || base == "keymapcustomizations.xml" ||
         hasDir(lname, "activex") || hasDir(lname, "embeddings") ||
         hasDir(lname, "externallinks") || hasDir(lname, "customui") ||
         hasDir(lname, "macrosheets");
}

/// "word/_rels/document.xml.rels" -> "word/document.xml"; "_rels/.rels" -> "" (the package).
/// nullopt when `lname` is not a relationships part.
std::optional<std::string> relsSource(std::string_view lname) {
  if (!lname.ends_with(".rels")) return std::nullopt;
  std::size_t r = lname.rfind("_rels/");
  if (r == std::string_view::npos || (r != 0 && lname[r - 1] != '/')) return std::nullopt;
  std::string dir(lname.substr(0, r));
  std::string_view file = lname.substr(r + 6);
  file.remove_suffix(5);
  return dir + std::string(file);
}

std::string dirOf(std::string_view part) {
  std::size_t slash = part.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(part.substr(0, slash + 1));
}

/// Resolves an internal relationship target against its source part: percent-decoding, '/'
/// root, "." and ".." segments. Lower case, without a leading '/'. "" when it escapes the root.
std::string resolveTarget(std::string_view source, std::string_view target) {
  std::string t;
  for (std::size_t i = 0; i < target.size(); ++i) {
    auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    if (target[i] == '%' && i + 2 < target.size() && hex(target[i + 1]) >= 0 &&
        hex(target[i + 2]) >= 0) {
      t.push_back(static_cast<char>(hex(target[i + 1]) * 16 + hex(target[i + 2])));
      i += 2;
    } else {
      t.push_back(target[i] == '\\' ? '/' : target[i]);
    }
  }
  std::size_t hash = t.find('#');
  if (hash != std::string::npos) t.resize(hash);
  std::string full = !t.empty() && t[0] == '/' ? t.substr(1) : dirOf(source) + t;
  std::vector<std::string> segs;
  std::size_t start = 0;
  while (start <= full.size()) {
    std::size_t slash = full.find('/', start);
    if (slash == std::string::npos) slash = full.size();
    std::string seg = full.substr(start, slash - start);
    if (seg == "..") {
      if (segs.empty()) return "";
      segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    start = slash + 1;
  }
  std::string out;
  for (std::size_t i = 0; i < segs.size(); ++i) out += (i ? "/" : "") + segs[i];
  return lower(out);
}

/// A member's part name as relationship targets and Override PartNames resolve to: OPC maps a
/// part name to a ZIP item name with its percent-encoding kept ("media/%E7%94%BB.png"), targets
/// are compared decoded. Lower case.
std::string partKey(std::string_view member) {
  std::string out;
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  for (std::size_t i = 0; i < member.size(); ++i) {
    if (member[i] == '%' && i + 2 < member.size() && hex(member[i + 1]) >= 0 &&
        hex(member[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(member[i + 1]) * 16 + hex(member[i + 2])));
      i += 2;
    } else {
      out.push_back(member[i]);
    }
  }
  return lower(out);
}

struct MacroType {
  std::string_view macro_main, plain_main, package_mime, ext;
};
constexpr MacroType kMacroTypes[] = {
    {"application/vnd.ms-word.document.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
    {"application/vnd.ms-word.template.macroenabledtemplate.main+xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.template", "dotx"},
    {"application/vnd.ms-excel.sheet.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
    {"application/vnd.ms-excel.template.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.template", "xltx"},
    {"application/vnd.ms-excel.addin.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
    {"application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
    {"application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.slideshow", "ppsx"},
    {"application/vnd.ms-powerpoint.template.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.template", "potx"},
    {"application/vnd.ms-powerpoint.addin.macroenabled.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
};

/// Content types of parts that are active whatever their name (Default entries by extension).
bool activeContentType(std::string_view lct) {
  return lct.find("vbaproject") != std::string_view::npos ||
         lct.find("activex") != std::string_view::npos ||
         lct.find("oleobject") != std::string_view::npos ||
         lct.find("vbadata") != std::string_view::npos;
}

/// The workbook part of a SpreadsheetML package (plain, template, macro-enabled, add-in).
bool isWorkbookType(std::string_view lct) {
  return lct.ends_with(".main+xml") && (lct.find("spreadsheetml") != std::string_view::npos ||
                                        lct.starts_with("application/vnd.ms-excel."));
}

/// Field instructions that fetch, link, run or query something outside the document: the one
/// list and tokenizer shared with .doc and .rtf (src/office/field_code.h).
bool dangerousField(std::string_view instr) { return office::dangerousField(instr).has_value(); }

struct Ctx {
  std::vector<Finding>& findings;
  bool malformed = false;
};

/// Removes from an XML part every element that uses one of `ids` through a relationship-namespace
/// attribute (r:id, r:embed, r:link, ...; VML's o:relid too); for `strip_ids` (hyperlinks) only
/// the attribute goes, so the linked text stays. `link_ids` are kept web hyperlinks: a hyperlink
/// element may use them, anything else that does (`<a:blip r:link>` naming a hyperlink's
/// relationship: LibreOffice fetches the picture whatever the relationship's type) goes. Then
/// containers left empty are taken away too.
std::string dropReferences(std::string_view xml, const std::set<std::string>& ids,
                           const std::set<std::string>& strip_ids,
                           const std::set<std::string>& link_ids, int* misused, bool* malformed) {
  std::set<std::string, std::less<>> prefixes;
  {
    Scanner s(xml);
    Tag t;
    while (s.next(t)) {
      for (const Attr& a : t.attrs) {
        if (!a.name.starts_with("xmlns:")) continue;
        if (a.value == "http://schemas.openxmlformats.org/officeDocument/2006/relationships" ||
            a.value == "http://purl.oclc.org/ooxml/officeDocument/relationships")
          prefixes.insert(std::string(a.name.substr(6)));
      }
    }
    if (s.malformed()) {
      *malformed = true;
      return std::string(xml);
    }
  }
  Edits edits;
  Scanner s(xml);
  Tag t;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close) continue;
    const std::string_view local = t.local();
    const bool hyperlink = local == "hyperlink" || local == "hlinkClick" || local == "hlinkHover" ||
                           local == "hlinkMouseOver";
    for (const Attr& a : t.attrs) {
      std::size_t colon = a.name.find(':');
      if (colon == std::string_view::npos ||
          (!prefixes.count(a.name.substr(0, colon)) && a.name.substr(colon + 1) != "relid"))
        continue;
      std::string v = decode(a.value);
      if (strip_ids.count(v) && local == "hyperlink") {
        edits.erase(a.begin, a.end);
        break;
      }
      bool misuse = !hyperlink && link_ids.count(v) && !ids.count(v) && !strip_ids.count(v);
      if (ids.count(v) || strip_ids.count(v) || misuse) {
        if (misuse) ++*misused;
        std::size_t end = s.skipElement(t);
        if (end == std::string_view::npos) {
          *malformed = true;
          return std::string(xml);
        }
        edits.erase(t.begin, end);
        break;
      }
    }
  }
  if (s.malformed()) {
    *malformed = true;
    return std::string(xml);
  }
  std::string out = edits.apply(xml);
  // Containers that only held what was removed would be invalid (or pointless) when empty.
  static const std::set<std::string, std::less<>> kContainers = {
      "controls",  "p:controls",  "oleObjects",         "externalReferences",
      "mc:Choice", "mc:Fallback", "mc:AlternateContent"};
  for (int round = 0; round < 4; ++round) {
    Scanner c(out);
    Tag open, next;
    bool have_open = false;
    while (c.next(next)) {
      if (have_open && next.kind == Tag::Kind::Close && next.name == open.name &&
          out.find_first_not_of(" \t\r\n", open.end) == next.begin) {
        edits.erase(open.begin, next.end);
      }
      have_open = next.kind == Tag::Kind::Open && kContainers.count(next.name);
      if (have_open) open = next;
    }
    if (edits.empty()) break;
    out = edits.apply(out);
  }
  return out;
}

/// An attribute by its local name, whatever prefix binds it ("w:instr", "x:instr").
const Attr* attrByLocal(const Tag& t, std::string_view local) {
  for (const Attr& a : t.attrs) {
    std::size_t c = a.name.find(':');
    std::string_view l = c == std::string_view::npos ? a.name : a.name.substr(c + 1);
    if (l == local && !a.name.starts_with("xmlns")) return &a;
  }
  return nullptr;
}

/// The fields of one WordprocessingML part as its tags go by: complex fields (w:fldChar begin,
/// separate, end around w:instrText) on a stack, w:fldSimple on another. Dangerous ones lose
/// their field code (the tags are erased through `edits`); their result runs stay.
class FieldScan {
 public:
  FieldScan(std::string_view xml, Edits& edits, Ctx& cx) : xml_(xml), edits_(edits), cx_(cx) {}

  /// A close tag (only fldSimple's matter: it goes when its open tag went).
  void close(const Tag& t) {
    if (t.local() == "fldSimple" && !simple_.empty()) {
      if (simple_.back()) edits_.erase(t.begin, t.end);
      simple_.pop_back();
    }
  }

  /// w:fldChar, whose element ends at `end`.
  void fldChar(const Tag& t, std::size_t end) {
    const Attr* type = attrByLocal(t, "fldCharType");
    std::string ty = type ? std::string(type->value) : "";
    if (ty == "begin") {
      if (!stack_.empty() && !stack_.back().separated &&
          stack_.back().instr.find_first_not_of(" \t\r\n") == std::string::npos)
        stack_.back().nested_first = true;
      stack_.push_back({});
      stack_.back().ranges.push_back({t.begin, end});
    } else if (ty == "separate" && !stack_.empty()) {
      stack_.back().separated = true;
      stack_.back().ranges.push_back({t.begin, end});
    } else if (ty == "end" && !stack_.empty()) {
      stack_.back().ranges.push_back({t.begin, end});
      Field f = std::move(stack_.back());
      stack_.pop_back();
      finish(f);
    }
  }

  /// w:instrText or w:delInstrText, whose element ends at `end`: part of the open field's code.
  void instrText(const Tag& t, std::size_t end) {
    if (stack_.empty() || stack_.back().separated) return;
    std::size_t close = xml_.rfind('<', end - 1);
    if (t.kind == Tag::Kind::Open && close > t.end)
      stack_.back().instr += zip::xml::textContent(xml_.substr(t.end, close - t.end));
    stack_.back().ranges.push_back({t.begin, end});
  }

  /// w:fldSimple: a dangerous one loses its open tag (and, when it comes, its close tag).
  void fldSimple(const Tag& t) {
    if (t.kind == Tag::Kind::Open) simple_.push_back(false);
    const Attr* instr = attrByLocal(t, "instr");
    if (!instr || !dangerousField(decode(instr->value))) return;
    Field f;
    f.instr = decode(instr->value);
    f.ranges.push_back({t.begin, t.end});  // open tag only: the result runs inside stay
    if (t.kind == Tag::Kind::Open) simple_.back() = true;  // its close tag goes too
    finish(f);
  }

  /// Fields left open at the end of the part.
  void finishOpen() {
    while (!stack_.empty()) {
      Field f = std::move(stack_.back());
      stack_.pop_back();
      finish(f);
    }
  }

 private:
  struct Field {
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // fldChar and instrText elements
    std::string instr;
    bool separated = false;
    bool nested_first = false;
  };

  void finish(Field& f) {
    if (!f.nested_first && !dangerousField(f.instr)) return;
    for (auto& [b, e] : f.ranges) edits_.erase(b, e);
    std::string shown = f.instr.substr(0, 80);
    for (char& ch : shown) {
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    }
    cx_.findings.push_back({"neutralised", "field " + shown});
  }

  std::string_view xml_;
  Edits& edits_;
  Ctx& cx_;
  std::vector<Field> stack_;
  // Open w:fldSimple elements, innermost last: true when it is being unwrapped. A stack instead
  // of a look-ahead keeps nested fields linear.
  std::vector<bool> simple_;
};

/// Neutralises DDE/DDEAUTO/INCLUDETEXT/INCLUDEPICTURE/IMPORT/LINK fields in a WordprocessingML
/// part: the field code goes, the result runs (the text the reader saw) stay.
std::string neutraliseFields(std::string_view xml, Ctx& cx) {
  Edits edits;
  FieldScan fields(xml, edits, cx);
  Scanner s(xml);
  Tag t;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close) {
      fields.close(t);
      continue;
    }
    // By local name: the WordprocessingML namespace may be bound to any prefix (or none).
    std::string_view n = t.local();
    if (n == "fldChar" || n == "instrText" || n == "delInstrText") {
      std::size_t end = s.skipElement(t);
      if (end == std::string_view::npos) break;
      if (n == "fldChar") fields.fldChar(t, end);
      else fields.instrText(t, end);
    } else if (n == "fldSimple") {
      fields.fldSimple(t);
    }
  }
  if (s.malformed()) {
    cx.malformed = true;
    return std::string(xml);
  }
  fields.finishOpen();
  return edits.empty() ? std::string(xml) : edits.apply(xml);
}

/// Removes elements by qualified name (whole element), e.g. w:attachedTemplate.
std::string dropElements(std::string_view xml, const std::set<std::string, std::less<>>& names,
                         int* count, bool* malformed) {
  Edits edits;
  Scanner s(xml);
  Tag t;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close || !names.count(t.name)) continue;
    std::size_t end = s.skipElement(t);
    if (end == std::string_view::npos) break;
    edits.erase(t.begin, end);
    ++*count;
  }
  if (s.malformed()) {
    *malformed = true;
    return std::string(xml);
  }
  return edits.empty() ? std::string(xml) : edits.apply(xml);
}

std::string replaceExtension(const std::string& name, std::string_view ext) {
  std::size_t dot = name.rfind('.');
  return (dot == std::string::npos ? name : name.substr(0, dot)) + "." + std::string(ext);
}


/// Relationship types the rebuilder knows (ECMA-376 part 1 §15, MS-OFFCRYPTO/MS-DOCX/MS-XLSX/
/// MS-PPTX extensions), by the last segment of their URI. A part reached only through a type not
/// listed here goes with its relationship (a made-up type carried payload/setup.exe). Active
/// types (activeRelType) are listed there and removed whatever this says.
bool knownRelType(const std::string& tail) {
  static const std::set<std::string, std::less<>> kTypes = {
      // package
      "officedocument", "core-properties", "metadata/core-properties", "extended-properties",
      "custom-properties", "thumbnail", "origin", "signature", "customxml", "customxmlprops",
      // shared parts
      "theme", "themeoverride", "image", "hyperlink", "styles", "styleswitheffects", "settings", "websettings", "fonttable", "numbering", "footnotes",
      "endnotes", "comments", "commentsextended", "commentsids", "commentsextensible", "people",
      "header", "footer", "glossarydocument", "chart", "chartusershapes", "chartstyle",
      "chartcolorstyle", "diagramdata", "diagramlayout", "diagramquickstyle", "diagramcolors",
      "diagramdrawing", "drawing", "vmldrawing", "documenttasks",
      // SpreadsheetML
      "worksheet", "sharedstrings", "calcchain", "chartsheet", "dialogsheet", "table",
      "pivottable", "pivotcachedefinition", "pivotcacherecords", "sheetmetadata",
      "volatiledependencies", "slicer", "slicercache", "timeline", "timelinecache",
      "threadedcomment", "person", "namedsheetview", "revisionheaders", "revisionlog",
      "usernames", "tablesinglecells", "xmlmaps", "richvaluedata", "rdrichvalue",
      "rdrichvaluestructure", "rdrichvaluetypes", "rdarray", "rdsupportingpropertybag",
      "rdsupportingpropertybagstructure", "richstyles", "featurepropertybag",
      // PresentationML
      "slide", "slidelayout", "slidemaster", "notesslide", "notesmaster", "handoutmaster",
      "presprops", "viewprops", "tablestyles", "commentauthors", "tags", "authors",
      "slideupdateinfo"};
  return kTypes.count(tail) > 0;
}

/// Relationship types whose target must be a picture (sniffed and re-encoded).
bool pictureRelType(const std::string& tail) { return tail == "image" || tail == "thumbnail"; }

/// Windows metafiles Office uses for pictures and previews: EMF (record 1 with " EMF" at 40) and
/// WMF (placeable header, or a plain memory/disk metafile header). Not re-encoded: checked by
/// signature only (sanitizers/ooxml/README.md, known gaps).
bool isMetafile(std::string_view d) {
  if (d.size() >= 44 && d.substr(0, 4) == std::string_view("\x01\0\0\0", 4) &&
      d.substr(40, 4) == " EMF")
    return true;
  if (d.size() >= 22 && d.substr(0, 4) == "\xD7\xCD\xC6\x9A") return true;
  return d.size() >= 18 && (d[0] == 1 || d[0] == 2) && d.substr(1, 3) == std::string_view("\0\x09\0", 3);
}

/// Binary parts an .xlsb consists of (BIFF12 records: workbook, sheets, strings, styles ...),
/// copied as they are except for risky formulas (removeXlsbFormulas, xlsb.h).
bool biff12Type(std::string_view lct) {
  // Every .xlsb's workbook part has the "macroEnabled" main type, macros or not (its formulas
  // are read by removeXlsbFormulas); binary macro sheets ("...macrosheet") are not kept.
  if (lct == "application/vnd.ms-excel.sheet.binary.macroenabled.main") return true;
  return lct.starts_with("application/vnd.ms-excel.") && lct.find("xml") == std::string_view::npos &&
         lct.find("macro") == std::string_view::npos;
}

bool xmlPart(std::string_view type, std::string_view lname) {
  return type.find("xml") != std::string_view::npos || lname.ends_with(".xml") ||
         lname.ends_with(".rels") || lname.ends_with(".vml") || type.find("vml") != std::string_view::npos;
}

std::string shownName(std::string_view name) {
  std::string s(name.substr(0, 120));
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  return s;
}

struct Rel {
  std::string id, tail, target, resolved;
  bool external = false;
  std::size_t begin = 0, end = 0;
};

struct RelsPart {
  std::size_t entry;
  std::string source;  // lower-case source part name ("" = package)
  std::string xml;
  std::vector<Rel> rels;
};

/// One rebuild of one package, step by step (OoxmlSanitizer::rebuild runs them in order). Each
/// step that can fail returns the failed Outcome; members only ever go from kept to removed.
class Rebuild {
 public:
  using Step = std::optional<Outcome>;

  Rebuild(const Part& part, MessageContext& ctx, const Options& options)
      : part_(part), ctx_(ctx), options_(options) {}

  Step open();
  Step readRelationships();
  Step markRemoved();
  Step checkBinaryParts();
  Step removeFormulas();
  Step removeXlsbFormulas(std::size_t i, bool& removed_any);
  void rewriteRelationships();
  Step rewriteXmlParts();
  Step checkCopiedXml();
  Outcome write();

 private:
  std::string rewriteContentTypes(std::string_view xml, Ctx& cx);
  Step extract(std::size_t i, std::string* out) {
    if (auto f = archive_->extract(entries()[i], ctx_.budget, out))
      return Outcome::fail(f->reason, f->detail);
    return std::nullopt;
  }
  Step deadline() {
    if (auto r = ctx_.budget.checkDeadline()) return Outcome::fail(*r);
    return std::nullopt;
  }
  const std::vector<zip::Entry>& entries() const { return archive_->entries(); }
  std::string typeOf(const std::string& lname) const;
  bool kept(std::size_t i) const { return !removed_[i] && !entries()[i].directory(); }
  /// Takes a part out for `why` (a reported finding), once.
  void removeFor(std::size_t i, const std::string& why) {
    if (removed_[i]) return;
    removed_[i] = true;
    findings_.push_back({"removed", shownName(entries()[i].name) + " (" + why + ")",
                         archive_->sha256(entries()[i])});
    reported_[i] = true;
  }

  const Part& part_;
  MessageContext& ctx_;
  const Options& options_;
  std::optional<zip::Archive> archive_;
  std::map<std::string, std::size_t> index_;                 // part key -> entry
  std::map<std::string, std::string> overrides_, defaults_;  // part / extension -> type
  std::vector<std::string> lnames_;
  std::vector<bool> removed_, reached_, reported_;
  std::map<std::size_t, std::set<std::string>> reached_as_;  // entry -> relationship type tails
  std::vector<RelsPart> rels_parts_;
  std::vector<Finding> findings_;
  bool dropped_silently_ = false;  // directory entries: not parts, nothing to report
  std::map<std::size_t, std::string> formula_out_;  // entry -> part without the risky formulas
  std::map<std::size_t, std::string> rewritten_;    // entry -> new bytes
  std::map<std::string, std::set<std::string>> drop_ids_, strip_ids_, keep_ids_;
  std::string main_ext_, main_mime_;
};

std::string Rebuild::typeOf(const std::string& lname) const {
  auto o = overrides_.find(lname);
  if (o != overrides_.end()) return o->second;
  std::size_t dot = lname.rfind('.'), slash = lname.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  auto d = defaults_.find(lname.substr(dot + 1));
  return d == defaults_.end() ? "" : d->second;
}

/// [Content_Types].xml: Overrides for parts that are gone (or typed as active) go, Defaults typed
/// as active go, a macro-enabled main type becomes its plain one (and the file name follows).
std::string Rebuild::rewriteContentTypes(std::string_view xml, Ctx& cx) {
  Edits edits;
  Scanner s(xml);
  Tag t;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close) continue;
    const Attr* ct = t.attr("ContentType");
    if (!ct) continue;
    std::string lct = lower(decode(ct->value));
    std::size_t end = t.kind == Tag::Kind::Empty ? t.end : s.skipElement(t);
    if (end == std::string_view::npos) break;
    if (t.local() == "Override") {
      const Attr* pn = t.attr("PartName");
      std::string name = pn ? resolveTarget("", decode(pn->value)) : "";
      auto it = index_.find(name);
      if (it == index_.end() || removed_[it->second] || activeContentType(lct)) {
        edits.erase(t.begin, end);  // an Override for a part that is not (or no longer) there
        continue;
      }
    } else if (t.local() == "Default" && activeContentType(lct)) {
      edits.erase(t.begin, end);
      continue;
    }
    for (const MacroType& m : kMacroTypes) {
      if (lct == m.macro_main) {
        edits.replace(ct->begin, ct->end, " ContentType=\"" + std::string(m.plain_main) + "\"");
        main_ext_ = m.ext;
        main_mime_ = m.package_mime;
        findings_.push_back(
            {"converted", std::string(m.macro_main) + " -> " + std::string(m.plain_main)});
      }
    }
  }
  if (s.malformed()) cx.malformed = true;
  return edits.empty() ? std::string(xml) : edits.apply(xml);
}

/// The ZIP directory (limits first), one part per name, and [Content_Types].xml: a part typed as
/// VBA/ActiveX/OLE goes whatever its name; Word's XML parts are recognised by their type.
Rebuild::Step Rebuild::open() {
  // A password-protected OOXML document is an OLE2 compound file holding "EncryptedPackage":
  // say so instead of "not a ZIP" (the verdict is fail-closed either way).
  static constexpr std::string_view kOle2 = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
  static constexpr char kEncrypted[] = "E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";
  if (std::string_view(part_.data).starts_with(kOle2) &&
      part_.data.find(std::string_view(kEncrypted, sizeof kEncrypted - 1)) != std::string::npos)
    return Outcome::fail(Reason::ContentEncrypted, "password-protected Office document");
  zip::Failure failure;
  archive_ = zip::Archive::open(part_.data, zip::ReadLimits::fromLimits(ctx_.limits), &failure);
  if (!archive_) return Outcome::fail(failure.reason, failure.detail);
  const std::size_t n = entries().size();
  for (std::size_t i = 0; i < n; ++i) {
    // Two members naming one part ("a%41.xml" and "aa.xml"): which one a reader takes is its
    // choice, not ours.
    if (!index_.emplace(partKey(entries()[i].name), i).second)
      return Outcome::fail(Reason::ParseMalformed, "two members with the same part name");
  }
  if (!index_.count(std::string(kContentTypes)))
    return Outcome::fail(Reason::ParseMalformed,
                         "not an Office Open XML package (no [Content_Types].xml)");
  std::string ct_xml;
  if (auto f = extract(index_.at(std::string(kContentTypes)), &ct_xml)) return f;
  Scanner s(ct_xml);
  Tag t;
  while (s.next(t)) {
    const Attr* ct = t.attr("ContentType");
    if (t.kind == Tag::Kind::Close || !ct) continue;
    if (t.local() == "Override" && t.attr("PartName"))
      overrides_[resolveTarget("", decode(t.attr("PartName")->value))] = lower(decode(ct->value));
    if (t.local() == "Default" && t.attr("Extension"))
      defaults_[lower(decode(t.attr("Extension")->value))] = lower(decode(ct->value));
  }
  if (s.malformed()) return Outcome::fail(Reason::ParseMalformed, "malformed [Content_Types].xml");
  removed_.assign(n, false);
  reached_.assign(n, false);
  reported_.assign(n, false);
  lnames_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    lnames_[i] = partKey(entries()[i].name);
    if (activeByName(lnames_[i]) || activeContentType(typeOf(lnames_[i]))) removed_[i] = true;
  }
  return std::nullopt;
}

/// Every .rels part, read once.
Rebuild::Step Rebuild::readRelationships() {
  for (std::size_t i = 0; i < entries().size(); ++i) {
    auto source = relsSource(lnames_[i]);
    if (!source) continue;
    if (auto f = deadline()) return f;
    RelsPart rp{i, *source, {}, {}};
    if (auto f = extract(i, &rp.xml)) return f;
    Scanner s(rp.xml);
    Tag t;
    while (s.next(t)) {
      if (t.kind == Tag::Kind::Close || t.local() != "Relationship") continue;
      Rel rel;
      const Attr* id = t.attr("Id");
      const Attr* type = t.attr("Type");
      const Attr* target = t.attr("Target");
      const Attr* mode = t.attr("TargetMode");
      if (!id || !type || !target)
        return Outcome::fail(Reason::ParseMalformed, "relationship without Id/Type/Target");
      rel.id = decode(id->value);
      rel.tail = typeTail(decode(type->value));
      rel.target = decode(target->value);
      if (mode) {  // blanks around it are not enough to make it internal
        std::string m = lower(decode(mode->value));
        std::size_t b = m.find_first_not_of(" \t\r\n"), e = m.find_last_not_of(" \t\r\n");
        rel.external = b != std::string::npos && m.substr(b, e - b + 1) == "external";
      }
      if (!rel.external) rel.resolved = resolveTarget(rp.source, rel.target);
      rel.begin = t.begin;
      rel.end = t.kind == Tag::Kind::Empty ? t.end : s.skipElement(t);
      if (rel.end == std::string_view::npos) break;
      rp.rels.push_back(std::move(rel));
    }
    if (s.malformed()) return Outcome::fail(Reason::ParseMalformed, "malformed relationships part");
    rels_parts_.push_back(std::move(rp));
  }
  return std::nullopt;
}

/// What goes: targets of active relationship types and of types the rebuilder does not know (from
/// every relationships part, removed ones included, so a renamed ActiveX binary behind a removed
/// control goes too), the relationships parts of removed parts, then members nothing reaches.
Rebuild::Step Rebuild::markRemoved() {
  for (const RelsPart& rp : rels_parts_) {
    for (const Rel& rel : rp.rels) {
      if (rel.external) continue;
      bool active = activeRelType(rel.tail);
      if (!active && knownRelType(rel.tail)) continue;
      auto it = index_.find(rel.resolved);
      if (it == index_.end()) continue;
      if (active)
        removed_[it->second] = true;
      else
        removeFor(it->second, "relationship type \"" + shownName(rel.tail) + "\" not known");
    }
  }
  for (const RelsPart& rp : rels_parts_) {
    if (rp.source.empty()) continue;
    auto src = index_.find(rp.source);
    if (src != index_.end() && removed_[src->second]) removed_[rp.entry] = true;
  }
  // Members nothing refers to go as well (an .exe parked in word/media/ is not part of the
  // document): what stays is [Content_Types].xml, parts reachable from _rels/.rels through kept
  // internal relationships of known types, and the relationships parts of those. One pass over
  // the graph, each part entered once.
  std::map<std::string, const RelsPart*, std::less<>> rels_of;  // source part -> its .rels
  for (const RelsPart& rp : rels_parts_) {
    if (!removed_[rp.entry]) rels_of.emplace(rp.source, &rp);
  }
  auto root = rels_of.find("");
  if (root == rels_of.end())
    return Outcome::fail(Reason::ParseMalformed, "not an Office Open XML package (no _rels/.rels)");
  std::vector<const RelsPart*> todo{root->second};
  while (!todo.empty()) {
    const RelsPart* rp = todo.back();
    todo.pop_back();
    for (const Rel& rel : rp->rels) {
      if (rel.external || activeRelType(rel.tail) || !knownRelType(rel.tail)) continue;
      auto it = index_.find(rel.resolved);
      if (it == index_.end() || removed_[it->second]) continue;
      reached_as_[it->second].insert(rel.tail);
      if (reached_[it->second]) continue;
      reached_[it->second] = true;
      auto next = rels_of.find(rel.resolved);
      if (next != rels_of.end()) todo.push_back(next->second);
    }
  }
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (removed_[i] || reached_[i] || lnames_[i] == kContentTypes) continue;
    if (auto source = relsSource(lnames_[i])) {
      if (source->empty()) continue;
      auto src = index_.find(*source);
      if (src != index_.end() && reached_[src->second]) continue;
    }
    removed_[i] = true;
    dropped_silently_ = dropped_silently_ || entries()[i].directory();
  }
  return std::nullopt;
}

/// Parts that are not XML: a picture must be the picture it claims to be, and goes through the
/// image chain (sanitizers/image: decoded and re-encoded, metadata gone); EMF/WMF are checked by
/// signature; an .xlsb's BIFF12 parts stay; anything else that is not XML (an OLE2 Package behind
/// an image relationship, printer settings, embedded fonts, video) goes.
Rebuild::Step Rebuild::checkBinaryParts() {
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (!kept(i) || !reached_[i]) continue;
    const auto& tails = reached_as_[i];
    bool picture = std::any_of(tails.begin(), tails.end(), pictureRelType);
    const std::string type = typeOf(lnames_[i]);
    if (!picture && (xmlPart(type, lnames_[i]) || biff12Type(type))) continue;
    if (!picture) {
      removeFor(i, "neither XML nor a picture (" + shownName(type.empty() ? "no type" : type) + ")");
      continue;
    }
    if (auto f = deadline()) return f;
    std::string data;
    if (auto f = extract(i, &data)) return f;
    if (isMetafile(data)) continue;
    if (image::sniff(data) == image::Format::Unknown) {
      removeFor(i, "not the picture it claims to be");
      continue;
    }
    std::vector<Finding> image_findings;
    image::CodecResult r = image::rebuild(data, image::Options{}, ctx_.limits.image_pixel_limit,
                                          ctx_.budget, image_findings);
    if (r.failure) {
      if (r.failure->reason == Reason::LimitDecodedBytes || r.failure->reason == Reason::LimitTime)
        return Outcome::fail(r.failure->reason, r.failure->detail);
      removeFor(i, "picture that cannot be rebuilt: " + r.failure->detail.substr(0, 80));
      continue;
    }
    for (Finding& f : image_findings)
      findings_.push_back({f.key, shownName(entries()[i].name) + ": " + f.value});
    // A picture that comes out as it went in (one the chain already rebuilt) is copied raw: a
    // rebuilt package rebuilt again is kept.
    if (r.encoded.data != data) rewritten_[i] = std::move(r.encoded.data);
  }
  return std::nullopt;
}

/// Formulas that fetch, link or run (SpreadsheetML parts only; xlsb's binary sheets are not
/// read). Done before relationships are rewritten: when formulas go, so does xl/calcChain.xml.
Rebuild::Step Rebuild::removeFormulas() {
  bool formulas_removed = false;
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (removed_[i] || !reached_[i] || rewritten_.count(i)) continue;
    const std::string type = typeOf(lnames_[i]);
    const auto& tails = reached_as_[i];
    bool xml_part =
        type.find("xml") != std::string::npos || (type.empty() && lnames_[i].ends_with(".xml"));
    if (!xml_part) {
      if (auto f = removeXlsbFormulas(i, formulas_removed)) return f;
      continue;
    }
    std::optional<SheetPart> kind;
    if (type.find("spreadsheetml.worksheet") != std::string::npos || tails.count("worksheet"))
      kind = SheetPart::Worksheet;
    else if (type.find("spreadsheetml.table+") != std::string::npos || tails.count("table"))
      kind = SheetPart::Table;
    else if (isWorkbookType(type) ||
             (tails.count("officedocument") && type.find("wordprocessingml") == std::string::npos &&
              type.find("presentationml") == std::string::npos &&
              !type.starts_with("application/vnd.ms-word") &&
              !type.starts_with("application/vnd.ms-powerpoint")))
      kind = SheetPart::Workbook;
    if (!kind) continue;
    if (auto f = deadline()) return f;
    std::string xml;
    if (auto f = extract(i, &xml)) return f;
    FormulaEdit fe = removeRiskyFormulas(xml, *kind, ctx_.budget);
    std::string shown = entries()[i].name.substr(0, 120);
    if (fe.limit) return Outcome::fail(*fe.limit);
    if (fe.malformed) return Outcome::fail(Reason::ParseMalformed, "malformed XML in " + shown);
    if (!fe.refused.empty())
      return Outcome::fail(Reason::ContentActive, shown + ": " + fe.refused.substr(0, 80) +
                                                      " outside a cell cannot be removed");
    if (!fe.xml) continue;
    auto report = [&](const FormulaCounts& counts, const char* what) {
      for (const auto& [name, n] : counts)
        findings_.push_back(
            {"removed", shown + ": " + what + " " + name + " x" + std::to_string(n)});
    };
    report(fe.cells, "formula");
    report(fe.names, "definedName");
    report(fe.tables, "table formula");
    formulas_removed = formulas_removed || !fe.cells.empty() || !fe.tables.empty();
    formula_out_[i] = std::move(*fe.xml);
  }
  if (formulas_removed) {  // the calculation chain lists the cells that lost their formula
    for (std::size_t i = 0; i < entries().size(); ++i) {
      if (!removed_[i] && (typeOf(lnames_[i]).find("spreadsheetml.calcchain") != std::string::npos ||
                           reached_as_[i].count("calcchain")))
        removed_[i] = true;
    }
  }
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (removed_[i] && !reported_[i] && !relsSource(lnames_[i]) && !entries()[i].directory())
      findings_.push_back({"removed", entries()[i].name, archive_->sha256(entries()[i])});
  }
  return std::nullopt;
}

/// An .xlsb's binary sheets and workbook (xlsb.h): risky cell formulas become their values; a
/// risky defined name, or an Excel 4.0 macro sheet (whose sheet record sits in the binary
/// workbook, where we do not cut records out), fails the document closed.
Rebuild::Step Rebuild::removeXlsbFormulas(std::size_t i, bool& removed_any) {
  const std::string type = typeOf(lnames_[i]);
  const auto& tails = reached_as_[i];
  std::optional<XlsbPart> kind;
  if (type == "application/vnd.ms-excel.worksheet" || tails.count("worksheet"))
    kind = XlsbPart::Worksheet;
  else if (type.starts_with("application/vnd.ms-excel.sheet.binary") || tails.count("officedocument"))
    kind = XlsbPart::Workbook;
  if (!kind) return std::nullopt;
  std::string shown = shownName(entries()[i].name);
  if (*kind == XlsbPart::Workbook) {
    for (std::size_t k = 0; k < entries().size(); ++k)
      if (reached_as_[k].count("xlmacrosheet") || reached_as_[k].count("xlintlmacrosheet") ||
          typeOf(lnames_[k]).find("macrosheet") != std::string::npos)
        return Outcome::fail(Reason::ContentActive,
                             "an Excel 4.0 macro sheet in an .xlsb (" + shownName(entries()[k].name) +
                                 ") cannot be cut out of the binary workbook");
  }
  if (auto f = deadline()) return f;
  std::string data;
  if (auto f = extract(i, &data)) return f;
  XlsbEdit e = removeRiskyXlsbFormulas(data, *kind);
  if (e.malformed) return Outcome::fail(Reason::ParseMalformed, "malformed BIFF12 records in " + shown);
  if (!e.refused.empty())
    return Outcome::fail(Reason::ContentActive, shown + ": " + e.refused + " cannot be removed");
  if (!e.data) return std::nullopt;
  for (const auto& [what, n] : e.cells)
    findings_.push_back({"removed", shown + ": formula " + what + " x" + std::to_string(n)});
  removed_any = true;
  rewritten_[i] = std::move(*e.data);
  return std::nullopt;
}

/// Which relationships go, per source part (drop_ids_: the element goes; strip_ids_: only the
/// attribute; keep_ids_: web hyperlinks that stay, for hyperlink elements only), and the
/// rewritten .rels parts.
void Rebuild::rewriteRelationships() {
  auto shown = [](const std::string& target) {
    std::string s = target.substr(0, 200);
    for (char& ch : s)
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    return s;
  };
  for (RelsPart& rp : rels_parts_) {
    if (removed_[rp.entry]) continue;
    Edits edits;
    for (const Rel& rel : rp.rels) {
      bool drop = false, strip = false;
      if (rel.external) {
        if (rel.tail == "hyperlink" && webTarget(rel.target)) {
          strip = !options_.keep_hyperlinks;
        } else {  // file:, UNC, program paths ("Run program" actions): the element goes
          drop = true;
        }
        if (drop || strip) findings_.push_back({"neutralised", shown(rel.target)});
      } else {
        auto it = index_.find(rel.resolved);
        // A target that is no member of the package is nothing to keep, and may be an address
        // a reader takes as external (a TargetMode we did not read as "External").
        bool missing = it == index_.end();
        bool unwanted = activeRelType(rel.tail) || !knownRelType(rel.tail);
        drop = unwanted || missing || removed_[it->second];
        if (missing && !unwanted) findings_.push_back({"neutralised", "missing part " + shown(rel.target)});
      }
      if (rel.external && !drop && !strip) keep_ids_[rp.source].insert(rel.id);
      if (!drop && !strip) continue;
      edits.erase(rel.begin, rel.end);
      (strip ? strip_ids_ : drop_ids_)[rp.source].insert(rel.id);
    }
    if (!edits.empty()) rewritten_[rp.entry] = edits.apply(rp.xml);
  }
}

/// XML parts that change: users of dropped relationships, fields, settings, content types.
Rebuild::Step Rebuild::rewriteXmlParts() {
  Ctx cx{findings_};
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (removed_[i] || rewritten_.count(i) || entries()[i].directory()) continue;
    const std::string& ln = lnames_[i];
    auto pre = formula_out_.find(i);  // already without its risky formulas
    bool is_ct = ln == kContentTypes;
    auto drops = drop_ids_.find(ln);
    auto strips = strip_ids_.find(ln);
    auto keeps = keep_ids_.find(ln);
    bool refs = drops != drop_ids_.end() || strips != strip_ids_.end() || keeps != keep_ids_.end();
    std::string type = typeOf(ln);
    bool word_xml = type.find("wordprocessingml") != std::string::npos ||
                    type.starts_with("application/vnd.ms-word.");
    if (!is_ct && !refs && !word_xml && pre == formula_out_.end()) continue;
    // An .xlsb's binary parts name their relationships inside BIFF12 records we do not rewrite:
    // the relationship is gone from the .rels (nothing is loaded through it), the record stays.
    if (!is_ct && pre == formula_out_.end() && !xmlPart(type, ln)) continue;
    if (auto f = deadline()) return f;
    std::string xml;
    if (pre != formula_out_.end()) {
      xml = std::move(pre->second);
    } else if (auto f = extract(i, &xml)) {
      return f;
    }
    std::string out = xml;
    if (type.find("wordprocessingml.settings") != std::string::npos) {
      int n = 0;
      out = dropElements(out, {"w:attachedTemplate"}, &n, &cx.malformed);
      if (n) findings_.push_back({"removed", "w:attachedTemplate"});
    }
    if (refs) {
      static const std::set<std::string> kNone;
      int misused = 0;
      out = dropReferences(out, drops != drop_ids_.end() ? drops->second : kNone,
                           strips != strip_ids_.end() ? strips->second : kNone,
                           keeps != keep_ids_.end() ? keeps->second : kNone, &misused,
                           &cx.malformed);
      if (misused)
        findings_.push_back({"removed", entries()[i].name.substr(0, 120) +
                                            ": element using a hyperlink as a linked resource x" +
                                            std::to_string(misused)});
    }
    // The cheap pre-check must see every spelling the field reader handles: w:instrText,
    // w:delInstrText (a field code in a tracked deletion is still a field), w:fldSimple.
    if (word_xml && (out.find("instrText") != std::string::npos || out.find("InstrText") != std::string::npos ||
                     out.find("fldSimple") != std::string::npos))
      out = neutraliseFields(out, cx);
    if (is_ct) out = rewriteContentTypes(out, cx);
    if (cx.malformed)
      return Outcome::fail(Reason::ParseMalformed,
                           "malformed XML in " + entries()[i].name.substr(0, 120));
    if (out != xml || pre != formula_out_.end()) rewritten_[i] = std::move(out);
  }
  return std::nullopt;
}

/// Every XML part that stays, copied or rewritten, is read by a real parser (expat, no DTD): a
/// reader parses all of them, xml_lite only tokenised the ones we edit. Not well-formed, or a
/// DOCTYPE (billion laughs): the document fails closed.
Rebuild::Step Rebuild::checkCopiedXml() {
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (!kept(i)) continue;
    auto rw = rewritten_.find(i);
    const std::string type = typeOf(lnames_[i]);
    bool picture = std::any_of(reached_as_[i].begin(), reached_as_[i].end(), pictureRelType);
    if (picture || !xmlPart(type, lnames_[i])) continue;
    if (auto f = deadline()) return f;
    std::string copy;
    if (rw == rewritten_.end()) {
      if (auto f = extract(i, &copy)) return f;
    }
    if (auto why = zip::xml::checkWellFormed(rw == rewritten_.end() ? copy : rw->second))
      return Outcome::fail(Reason::ParseMalformed, shownName(entries()[i].name) + ": " + *why);
  }
  return std::nullopt;
}

/// Writes the package again, in the original order: members we did not touch are copied
/// compressed as they are (after a CRC check), changed ones are deflated.
Outcome Rebuild::write() {
  bool changed = !findings_.empty() || dropped_silently_;
  if (!changed && rewritten_.empty()) return Outcome::keep();
  if (auto r = ctx_.budget.chargeDecoded(part_.data.size())) return Outcome::fail(*r);
  zip::Writer writer(part_.data.size());
  for (std::size_t i = 0; i < entries().size(); ++i) {
    if (removed_[i]) continue;
    if (auto f = deadline()) return *f;
    auto rw = rewritten_.find(i);
    bool ok;
    if (rw != rewritten_.end()) {
      ok = writer.addDeflated(entries()[i].name, rw->second, (entries()[i].flags & 0x0800) != 0);
    } else {
      if (auto f = archive_->verify(entries()[i])) return Outcome::fail(f->reason, f->detail);
      ok = writer.copyRaw(*archive_, entries()[i]);
    }
    if (!ok) return Outcome::fail(Reason::CdrFailed, "package too large to write");
  }
  auto bytes = writer.finish();
  if (!bytes) return Outcome::fail(Reason::CdrFailed, "package too large to write");

  Part next = replacedPart(part_, std::move(*bytes));
  if (!main_mime_.empty()) {
    next.output_type = main_mime_;
    const std::string& fn = part_.filename.unverifiedValue();
    std::size_t dot = fn.rfind('.');
    if (dot != std::string::npos) {
      std::string ext = lower(fn.substr(dot + 1));
      static const std::set<std::string> kMacroExt = {"docm", "dotm", "xlsm", "xltm", "xlam",
                                                      "pptm", "potm", "ppsm", "ppam"};
      if (kMacroExt.count(ext))
        next.filename = Untrusted<std::string>(replaceExtension(fn, main_ext_));
    }
  }
  // "rebuilt" when something went or was neutralised; pictures that were only re-encoded make
  // the package "converted" (a notice must not say active content went when none did).
  bool removed_something = std::any_of(findings_.begin(), findings_.end(), [](const Finding& f) {
    return f.key == "removed" || f.key == "neutralised" || f.key == "converted";
  });
  Outcome o = Outcome::replace(std::move(next), removed_something || dropped_silently_
                                                    ? Reason::CdrRebuilt
                                                    : Reason::CdrConverted);
  if (!removed_something && !dropped_silently_)
    findings_.push_back({"applied", "pictures decoded and re-encoded"});
  o.findings = std::move(findings_);
  return o;
}

}  // namespace

Outcome OoxmlSanitizer::apply(const Part& part, MessageContext& ctx) const {
  try {
    return rebuild(part, ctx);
  } catch (const std::bad_alloc&) {
    return Outcome::fail(Reason::CdrFailed, "out of memory while rebuilding");
  } catch (const std::exception& e) {
    return Outcome::fail(Reason::CdrFailed, "rebuild failed");
  }
}

Outcome OoxmlSanitizer::rebuild(const Part& part, MessageContext& ctx) const {
  Rebuild r(part, ctx, options_);
  if (auto f = r.open()) return *f;
  if (auto f = r.readRelationships()) return *f;
  if (auto f = r.markRemoved()) return *f;
  if (auto f = r.checkBinaryParts()) return *f;
  if (auto f = r.removeFormulas()) return *f;
  r.rewriteRelationships();
  if (auto f = r.rewriteXmlParts()) return *f;
  if (auto f = r.checkCopiedXml()) return *f;
  return r.write();
}

}  // namespace mugai::sanitizers::ooxml
