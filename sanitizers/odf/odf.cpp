// sanitizer.odf (see odf.h for Trust / Limits / Errors and README.md for what is removed).
//
// Shape of a rebuild: read the ZIP directory (limits first), refuse encrypted packages, drop the
// macro folders (Basic/, Scripts/, Dialogs/, Configurations2/), OLE objects and signatures,
// scrub every content.xml/styles.xml/meta.xml (scripts, event listeners, macro URLs, applets,
// DDE, references to anything outside the package), drop the members no kept part refers to,
// fix META-INF/manifest.xml, and write `mimetype` first and stored, then the rest in order:
// members we did not touch are copied compressed as they are (after a CRC check), changed XML
// deflated.
#include "sanitizers/odf/odf.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "mugai/text/charset.h"
#include "sanitizers/image/image.h"
#include "sanitizers/odf/formula.h"
#include "src/zip/xml_check.h"
#include "src/zip/xml_lite.h"
#include "src/zip/zip.h"

namespace mugai::sanitizers::odf {
namespace {

using zip::xml::Attr;
using zip::xml::decode;
using zip::xml::Edits;
using zip::xml::lower;
using zip::xml::Scanner;
using zip::xml::Tag;

/// Folders that hold macros, dialogs and UI bindings (toolbars/menus can call macros).
bool activeFolder(std::string_view component) {
  std::string c = lower(component);
  return c == "basic" || c == "scripts" || c == "dialogs" || c == "configurations2";
}

/// "Object 12": how LibreOffice names embedded objects (a folder for an ODF sub-document, a file
/// for an OLE storage). Pictures elsewhere that happen to start with "Object" are not objects.
bool objectName(std::string_view comp) {
  if (!comp.starts_with("Object ") || comp.size() == 7) return false;
  for (char c : comp.substr(7)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/// True when a member (or manifest full-path) is removed by name. `objects` also removes
/// embedded ODF sub-documents ("Object 1/...").
bool removedByName(std::string_view name, bool remove_odf_objects) {
  std::size_t start = 0;
  bool first = true;
  std::string_view parent;
  while (start < name.size()) {
    std::size_t slash = name.find('/', start);
    std::string_view comp = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    bool is_dir = slash != std::string_view::npos;
    if (is_dir && activeFolder(comp)) return true;
    // An OLE object is a file called "Object N" (a sub-document is a folder of that name); its
    // picture lives in ObjectReplacements/ and stays.
    if (objectName(comp) && (first || objectName(parent))) {
      if (!is_dir) return true;
      if (remove_odf_objects && first) return true;
    }
    if (!is_dir) break;
    first = false;
    parent = comp;
    start = slash + 1;
  }
  std::string l = lower(name);
  return l == "meta-inf/macrosignatures.xml" || l == "meta-inf/documentsignatures.xml";
}

/// True when `name` or one of its parent folders is in `paths` (entries without a trailing '/').
bool underAny(std::string_view name, const std::set<std::string, std::less<>>& paths) {
  if (paths.empty()) return false;
  std::string_view n = name;
  while (!n.empty() && n.back() == '/') n.remove_suffix(1);
  if (paths.count(n)) return true;
  for (std::size_t slash = n.find('/'); slash != std::string_view::npos;
       slash = n.find('/', slash + 1)) {
    if (paths.count(n.substr(0, slash))) return true;
  }
  return false;
}

/// URL schemes that run something instead of opening a page.
bool activeUrl(std::string_view raw) {
  std::string v = lower(decode(raw));
  std::size_t b = v.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return false;
  std::string_view u = std::string_view(v).substr(b);
  for (std::string_view scheme :
       {"vnd.sun.star.script:", "vnd.sun.star.basic:", "macro:", "javascript:", "vbscript:",
        "service:", ".uno:", "vnd.sun.star.cmd:", "slot:"}) {
    if (u.starts_with(scheme)) return true;
  }
  return false;
}

/// A macro URL anywhere inside an attribute value (formulas, conditions).
bool embedsMacroUrl(std::string_view raw) {
  if (raw.find(':') == std::string_view::npos) return false;
  std::string v = lower(decode(raw));
  for (std::string_view needle :
       {"vnd.sun.star.script:", "vnd.sun.star.basic:", "macro:///", "vnd.sun.star.cmd:"}) {
    if (v.find(needle) != std::string::npos) return true;
  }
  return false;
}

/// Attribute value with entities decoded, character references as UTF-8 (member names are
/// UTF-8, so a reference written as "&#x65E5;.png" must still match its picture).
std::string decodeValue(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    unsigned long v = 0;
    std::size_t len = raw[i] == '&' ? zip::xml::reference(raw, i, &v) : 0;
    if (len == 0) {  // not a reference; the look stops where it stops being one (linear)
      out.push_back(raw[i]);
      continue;
    }
    i += len - 1;
    text::appendUtf8(out, static_cast<char32_t>(v));
  }
  return out;
}

std::string percentDecode(std::string_view s) {
  auto hexval = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// Where a reference (xlink:href and the like) points: into the package, or outside it.
struct Target {
  bool external = false;
  bool web = false;   ///< http:, https:, mailto: (what a clicked hyperlink may keep)
  std::string label;  ///< external: "http://...", "file://...", "\\\\...", "/...", "../..."
  std::vector<std::string> paths;  ///< internal: the member it names, resolved against the part's
                                   ///< folder (as written and percent-decoded); none for "#x"
};

/// Resolves `rel` (already cut at '?'/'#', '\' read as '/') against `base` ("" or "Object 1/");
/// false when it climbs out of the package.
bool resolveInPackage(std::string_view base, std::string_view rel, std::string* out) {
  std::vector<std::string_view> segs;
  auto push = [&](std::string_view path) {
    std::size_t st = 0;
    while (st <= path.size()) {
      std::size_t sl = path.find('/', st);
      if (sl == std::string_view::npos) sl = path.size();
      std::string_view seg = path.substr(st, sl - st);
      st = sl + 1;
      if (seg.empty() || seg == ".") continue;
      if (seg == "..") {
        if (segs.empty()) return false;
        segs.pop_back();
        continue;
      }
      segs.push_back(seg);
    }
    return true;
  };
  if (!push(base) || !push(rel)) return false;
  out->clear();
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (i) out->push_back('/');
    out->append(segs[i]);
  }
  return true;
}

/// Index of the first byte after leading ASCII blanks and controls.
std::size_t leadingBlanks(std::string_view v) {
  std::size_t w = 0;
  while (w < v.size() && static_cast<unsigned char>(v[w]) <= 0x20) ++w;
  return w;
}

/// Classifies a reference found in a part whose folder is `base`. External means anything an
/// office suite would fetch from outside the package: a scheme (http:, file:, smb:, C:...), an
/// absolute or UNC path (/x, \\host, //host), or a relative path climbing out with "../".
/// Only vnd.sun.star.Package: (LibreOffice's own name for a member) counts as internal.
Target classifyRef(std::string_view raw, std::string_view base) {
  Target t;
  std::string v;
  for (char c : decodeValue(raw)) {
    if (c != '\t' && c != '\r' && c != '\n') v.push_back(c);  // URL parsers drop these
  }
  // What could sit before a scheme and be ignored by a lenient parser (spaces, controls,
  // non-ASCII blanks): skipped for the scheme test only.
  std::size_t b = 0;
  while (b < v.size()) {
    unsigned char c = static_cast<unsigned char>(v[b]);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '/' || c == '\\' || c == '#' || c == '%' || c == '_' ||
                 c == '-' || c == '~' || c == '?';
    if (plain) break;
    ++b;
  }
  std::string_view u = std::string_view(v).substr(b);
  std::size_t s = 0;
  if (!u.empty() && ((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z'))) {
    s = 1;
    while (s < u.size() &&
           ((u[s] >= 'a' && u[s] <= 'z') || (u[s] >= 'A' && u[s] <= 'Z') ||
            (u[s] >= '0' && u[s] <= '9') || u[s] == '+' || u[s] == '-' || u[s] == '.')) {
      ++s;
    }
  }
  std::string_view rel = std::string_view(v).substr(std::min(leadingBlanks(v), v.size()));
  while (!rel.empty() && static_cast<unsigned char>(rel.back()) <= 0x20) rel.remove_suffix(1);
  if (s > 0 && s < u.size() && u[s] == ':') {
    std::string scheme = lower(u.substr(0, s));
    if (scheme != "vnd.sun.star.package") {
      t.external = true;
      t.web = scheme == "http" || scheme == "https" || scheme == "mailto";
      t.label = (scheme.size() > 24 ? scheme.substr(0, 24) : scheme) + ":" +
                (u.substr(s + 1).starts_with("//") ? "//" : "") + "...";
      return t;
    }
    rel = u.substr(s + 1);
  }
  // Absolute paths: after ASCII blanks and controls; UNC (\\host, //host) after anything skipped.
  std::size_t w = leadingBlanks(v);
  auto slash = [](char c) { return c == '/' || c == '\\'; };
  bool unc = u.size() > 1 && slash(u[0]) && slash(u[1]);
  if (unc || (w < v.size() && slash(v[w]))) {
    t.external = true;
    t.label = !unc ? "/..." : u[0] == '\\' ? "\\\\..." : "//...";
    return t;
  }
  std::string path(rel.substr(0, rel.find_first_of("?#")));
  for (char& c : path) {
    if (c == '\\') c = '/';
  }
  std::string decoded = percentDecode(path);
  for (char& c : decoded) {
    if (c == '\\') c = '/';
  }
  std::string as_written, unescaped;
  if (!resolveInPackage(base, path, &as_written) || !resolveInPackage(base, decoded, &unescaped) ||
      decoded.starts_with('/')) {
    t.external = true;
    t.label = decoded.starts_with('/') ? "/..." : "../...";
    return t;
  }
  if (!as_written.empty()) t.paths.push_back(as_written);
  if (!unescaped.empty() && unescaped != as_written) t.paths.push_back(unescaped);
  return t;
}

/// Hyperlinks: followed only when the user clicks, so web and mail targets stay.
bool hyperlinkElement(std::string_view local) {
  return local == "a" || local == "area-rectangle" || local == "area-circle" ||
         local == "area-polygon";
}

/// Elements that make no sense without their (external) target: removed as a whole. Other
/// elements with an external reference (style:background-image, draw:fill-image,
/// text:list-level-style-image, form controls, chart:chart...) only lose the attribute.
bool linkedElement(std::string_view local) {
  for (std::string_view n :
       {"image", "object", "object-ole", "floating-frame", "section-source", "font-face-uri",
        "definition-src", "sound", "audio", "auto-reload", "template", "plugin", "applet"}) {
    if (local == n) return true;
  }
  return false;
}

/// Attributes that name a resource by URL: `*:href` (xlink, whatever the prefix), XForms `src`,
/// form controls' `form:image-data` (a button picture) and `form:datasource` (a database).
bool referenceAttr(std::string_view local) {
  return local == "href" || local == "src" || local == "image-data" || local == "datasource";
}

/// Whole elements removed from content.xml/styles.xml/meta.xml, by local name: the prefix is
/// the document's choice (`<d:plugin xmlns:d="...drawing:1.0">` is a draw:plugin), so any
/// prefix matches.
bool removedElement(std::string_view local, bool remove_odf_objects) {
  for (std::string_view n : {"scripts", "event-listeners", "event-listener", "object-ole", "applet",
                             "plugin", "script", "error-macro", "dde-connection-decls", "dde-links",
                             "dde-source", "table-source", "cell-range-source"}) {
    if (local == n) return true;
  }
  return remove_odf_objects && local == "object";
}

std::string_view localName(std::string_view qname) {
  std::size_t colon = qname.find(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

/// A package path some kept element refers to; `object` when it is a draw:object's target (a
/// sub-document folder).
struct Ref {
  std::string path;
  bool object = false;
};

struct Scrub {
  std::string xml;
  std::map<std::string, int> removed;  // element (or attribute) -> count
  std::set<std::string> objects;       // package paths of removed OLE objects/applets/plug-ins
  std::vector<Ref> refs;               // members the kept elements use (hyperlinks excluded)
  bool malformed = false;
};

/// Notes in `out` what a removed object pointed at inside the package (it goes too, whatever
/// its name).
void noteObjectTarget(const Tag& t, Scrub& out) {
  if (const Attr* href = t.attr("xlink:href")) {
    std::string h = decode(href->value);
    if (h.starts_with("./")) h.erase(0, 2);
    while (!h.empty() && h.back() == '/') h.pop_back();
    if (!h.empty() && h.find(':') == std::string::npos) out.objects.insert(h);
  }
}

/// The label of the first reference of a linked element (a draw:image ...) that points outside
/// the package, or "" when all its references stay inside.
std::string externalLinkLabel(const Tag& t, std::string_view base) {
  for (const Attr& a : t.attrs) {
    std::string_view al = localName(a.name);
    if (!referenceAttr(al) || (al == "href" && activeUrl(a.value))) continue;
    Target tg = classifyRef(a.value, base);
    if (tg.external) return tg.label;
  }
  return "";
}

/// The attributes of a kept start tag: xml:base, macro links, references outside the package
/// (a hyperlink keeps its web target), formulas that reach outside or run something, and macro
/// URLs go; references inside the package are collected in out.refs.
void scrubAttributes(const Tag& t, std::string_view base, bool hyperlink, Edits& edits, Scrub& out) {
  std::string_view local = t.local();
  for (const Attr& a : t.attrs) {
    std::string_view al = localName(a.name);
    if (a.name == "xml:base") {  // would move every relative reference below it elsewhere
      edits.erase(a.begin, a.end);
      ++out.removed[std::string(t.name) + " xml:base"];
      continue;
    }
    if (al == "href" && activeUrl(a.value)) {
      edits.erase(a.begin, a.end);
      ++out.removed[std::string(t.name) + " macro link"];
      continue;
    }
    if (referenceAttr(al)) {
      Target tg = classifyRef(a.value, base);
      if (tg.external) {
        if (hyperlink && tg.web && al == "href") continue;
        edits.erase(a.begin, a.end);
        ++out.removed[std::string(t.name) + " " + std::string(a.name) + " (linked " + tg.label +
                      ")"];
        continue;
      }
      if (!hyperlink) {
        for (std::string& p : tg.paths) out.refs.push_back({std::move(p), local == "object"});
      }
      if (al == "href") continue;
    }
    // A formula has a namespace prefix ("of:"); its ':' may be written as a reference.
    // Attributes that hold formulas (cells, named expressions, validation and conditional
    // format conditions: table:condition, style:condition, calcext:value), whatever prefix.
    bool formula_attr = al == "formula" || al == "expression" || al == "condition" ||
                        (al == "value" && local == "condition");
    if (std::string risk = formula_attr ? formulaRisk(decodeValue(a.value)) : ""; !risk.empty()) {
      // of:=COM.MICROSOFT.WEBSERVICE(...), ['file:///x.ods'#$Sheet1.A1], DDE(...): the formula
      // (or condition, or named expression) goes; a cell keeps its last value.
      edits.erase(a.begin, a.end);
      ++out.removed[std::string(t.name) + " " + std::string(a.name) + " (" + risk + ")"];
      continue;
    }
    if (embedsMacroUrl(a.value)) {
      // e.g. table:formula="of:=HYPERLINK(&quot;vnd.sun.star.script:...&quot;)": the formula
      // goes, the cell keeps its last value (office:value and its text).
      edits.erase(a.begin, a.end);
      ++out.removed[std::string(t.name) + " " + std::string(a.name) + " with a macro URL"];
    }
  }
}

/// `base` is the folder of the part ("" or "Object 1/"): references are relative to it.
Scrub scrubXml(std::string_view xml, std::string_view base, bool remove_odf_objects) {
  Scrub out;
  Edits edits;
  Scanner s(xml);
  Tag t;
  while (s.next(t)) {
    std::string_view local = t.local();
    if (t.kind == Tag::Kind::Close) {
      if (local == "execute-macro") edits.erase(t.begin, t.end);
      continue;
    }
    if (removedElement(local, remove_odf_objects)) {
      std::size_t end = s.skipElement(t);
      if (end == std::string_view::npos) break;
      edits.erase(t.begin, end);
      ++out.removed[std::string(t.name)];
      noteObjectTarget(t, out);
      continue;
    }
    if (local == "execute-macro") {  // a field that runs a macro on click: keep its text
      ++out.removed[std::string(t.name)];
      edits.erase(t.begin, t.end);  // its close tag goes when it comes (no look-ahead: linear)
      continue;
    }
    // External references (see classifyRef): nothing may be fetched from outside the package
    // when the document opens. Hyperlinks are followed only on a click and keep web targets.
    const bool hyperlink = hyperlinkElement(local);
    if (!hyperlink && linkedElement(local)) {
      if (std::string label = externalLinkLabel(t, base); !label.empty()) {
        // e.g. a linked draw:image: its frame stays, with any other child
        std::size_t end = s.skipElement(t);
        if (end == std::string_view::npos) break;
        edits.erase(t.begin, end);
        ++out.removed[std::string(t.name) + " (linked " + label + ")"];
        continue;
      }
    }
    scrubAttributes(t, base, hyperlink, edits, out);
  }
  if (s.malformed()) {
    out.malformed = true;
    return out;
  }
  out.xml = edits.empty() ? std::string(xml) : edits.apply(xml);
  return out;
}

/// One manifest:file-entry (by local names: the prefix is the package's choice).
struct ManifestEntry {
  std::string path;  ///< decoded full-path
  std::string type;  ///< decoded, lower case media-type
  bool ole = false;
};

ManifestEntry manifestEntry(const Tag& t) {
  ManifestEntry me;
  for (const Attr& a : t.attrs) {
    std::string_view al = localName(a.name);
    if (al == "full-path") me.path = decodeValue(a.value);
    if (al == "media-type") me.type = lower(decode(a.value));
  }
  me.ole = me.type.find("oleobject") != std::string::npos ||
           me.type.starts_with("application/vnd.sun.star.ole") ||
           me.type == "application/x-openoffice-oleobject";
  return me;
}

/// Cuts a plain document type declaration (xml::plainDoctype: OpenOffice.org 2 manifests carry
/// one) out of a part; true when there was one. Any other DOCTYPE makes the scanner refuse.
bool cutDoctype(std::string& xml) {
  auto [begin, end] = zip::xml::plainDoctype(xml);
  if (begin == std::string_view::npos) return false;
  xml.erase(begin, end - begin);
  return true;
}

/// XML members of a package by name (parts, manifest, RDF metadata).
bool xmlMember(std::string_view n) { return n.ends_with(".xml") || n.ends_with(".rdf"); }

/// A member that holds a picture: under Pictures/, Thumbnails/ or ObjectReplacements/ (of the
/// document or of a sub-document).
bool pictureMember(std::string_view n) {
  for (std::string_view dir : {"Pictures/", "Thumbnails/", "ObjectReplacements/"}) {
    std::size_t at = n.find(dir);
    if (at != std::string_view::npos && (at == 0 || n[at - 1] == '/')) return true;
  }
  return false;
}

/// Metafiles LibreOffice writes for pictures and object previews, checked by signature: SVM
/// ("VCLMTF"), EMF (" EMF" at 40), WMF (placeable or plain header). Not re-encoded.
bool metafile(std::string_view d) {
  if (d.starts_with("VCLMTF")) return true;
  if (d.size() >= 44 && d.substr(0, 4) == std::string_view("\x01\0\0\0", 4) &&
      d.substr(40, 4) == " EMF")
    return true;
  if (d.size() >= 22 && d.substr(0, 4) == "\xD7\xCD\xC6\x9A") return true;
  return d.size() >= 18 && (d[0] == 1 || d[0] == 2) &&
         d.substr(1, 3) == std::string_view("\0\x09\0", 3);
}

/// An SVG picture (LibreOffice inserts pictures as SVG; its own templates carry them) may stay
/// when a real parser reads it (no DOCTYPE) and it holds nothing active or linked: no script,
/// foreignObject or handler element, no on* attribute, no href/src but a fragment ("#id") or an
/// inline raster (data:image/png|jpeg|gif). "" when it may stay, else why not.
std::string svgProblem(std::string_view svg) {
  if (auto why = zip::xml::checkWellFormed(svg)) return *why;
  Scanner s(svg);
  Tag t;
  bool root_seen = false;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close) continue;
    std::string local = lower(t.local());
    if (!root_seen) {
      if (local != "svg") return "not an SVG document";
      root_seen = true;
    }
    if (local == "script" || local == "foreignobject" || local == "handler" || local == "listener")
      return "SVG " + local + " element";
    for (const Attr& a : t.attrs) {
      std::size_t colon = a.name.find(':');
      std::string an = lower(colon == std::string_view::npos ? a.name : a.name.substr(colon + 1));
      if (an.starts_with("on")) return "SVG event attribute";
      if (an != "href" && an != "src") continue;
      std::string v = lower(decode(a.value));
      std::size_t b = v.find_first_not_of(" \t\r\n");
      v = b == std::string::npos ? "" : v.substr(b);
      if (!v.starts_with("#") && !v.starts_with("data:image/png") &&
          !v.starts_with("data:image/jpeg") && !v.starts_with("data:image/gif"))
        return "SVG link to another resource";
    }
  }
  if (s.malformed() || !root_seen) return "malformed SVG";
  return {};
}

}  // namespace

/// Members that are not XML must be pictures, and are what they claim: rasters go through the
/// image chain (sanitizers/image), metafiles are checked by signature, anything else goes (a PE
/// as a picture or thumbnail, VBScript in layout-cache, audio/video, fonts). layout-cache is a
/// cache LibreOffice rebuilds: it always goes.
std::optional<Outcome> OdfSanitizer::checkMembers(const zip::Archive& archive,
                                                  std::vector<bool>& removed,
                                                  std::map<std::size_t, std::string>& rewritten,
                                                  std::vector<Finding>& findings,
                                                  MessageContext& ctx) const {
  const auto& entries = archive.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& n = entries[i].name;
    if (removed[i] || entries[i].directory() || n == "mimetype" || xmlMember(n)) continue;
    // What is not what it claims goes. A picture a kept element shows cannot go alone (its
    // reference would dangle, and the reader would look for it elsewhere): the document fails
    // closed. Only the thumbnail is shown by nothing inside the package.
    std::optional<Outcome> refused;
    auto drop = [&](const std::string& why) {
      if (pictureMember(n) && n != "Thumbnails/thumbnail.png") {
        refused = Outcome::fail(Reason::CdrFailed, n.substr(0, 120) + ": " + why);
        return;
      }
      removed[i] = true;
      rewritten.erase(i);
      findings.push_back({"removed", n.substr(0, 120) + " (" + why + ")", archive.sha256(entries[i])});
    };
    if (n == "layout-cache") {
      drop("a layout cache LibreOffice rebuilds");
      continue;
    }
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    std::string data;
    if (auto f = archive.extract(entries[i], ctx.budget, &data))
      return Outcome::fail(f->reason, f->detail);
    bool raster = image::sniff(data) != image::Format::Unknown;
    if (!raster && pictureMember(n) && metafile(data)) continue;
    // Embedded fonts (LibreOffice's "embed fonts", referenced by svg:font-face-uri): kept when
    // they are TrueType/OpenType by signature (not parsed; README.md, known gaps).
    if (!raster && n.starts_with("Fonts/") &&
        (data.starts_with(std::string_view("\0\x01\0\0", 4)) || data.starts_with("OTTO") ||
         data.starts_with("true") || data.starts_with("ttcf")))
      continue;
    if (!raster && pictureMember(n) && lower(n.substr(n.size() > 4 ? n.size() - 4 : 0)) == ".svg") {
      std::string why = svgProblem(data);
      if (why.empty()) continue;
      drop("picture with " + why);
      if (refused) return refused;
      continue;
    }
    if (!raster) {
      drop(pictureMember(n) ? "not the picture it claims to be" : "neither XML nor a picture");
      if (refused) return refused;
      continue;
    }
    std::vector<Finding> image_findings;
    image::CodecResult r = image::rebuild(data, image::Options{}, ctx.limits.image_pixel_limit,
                                          ctx.budget, image_findings);
    if (r.failure) {
      if (r.failure->reason == Reason::LimitDecodedBytes || r.failure->reason == Reason::LimitTime)
        return Outcome::fail(r.failure->reason, r.failure->detail);
      drop("picture that cannot be rebuilt: " + r.failure->detail.substr(0, 80));
      if (refused) return refused;
      continue;
    }
    for (Finding& f : image_findings)
      findings.push_back({f.key, n.substr(0, 120) + ": " + f.value});
    if (r.encoded.data != data) rewritten[i] = std::move(r.encoded.data);
  }
  return std::nullopt;
}

/// Every XML member that stays, copied or rewritten, parsed by expat (no DTD): not well-formed,
/// or a DOCTYPE left (a plain one was cut before), fails the document closed.

namespace {

/// Which folders of the package the removals left empty (kept and removed names, sorted).
class Folders {
 public:
  Folders(const std::vector<zip::Entry>& entries, const std::vector<bool>& removed) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      by_name_.emplace(entries[i].name, i);
      if (!entries[i].directory()) (removed[i] ? gone_ : kept_).push_back(entries[i].name);
    }
    std::sort(kept_.begin(), kept_.end());
    std::sort(gone_.begin(), gone_.end());
  }
  /// Nothing kept under `folder` ("Pictures/") and something removed from it.
  bool emptied(std::string_view folder) const {
    return !anyUnder(kept_, folder) && anyUnder(gone_, folder);
  }
  /// Marks the directory entries that only held removed members; true when there was one.
  bool dropEmptied(const std::vector<zip::Entry>& entries, std::vector<bool>& removed) const {
    bool dropped = false;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (removed[i] || !entries[i].directory() || !emptied(entries[i].name)) continue;
      removed[i] = true;
      dropped = true;
    }
    return dropped;
  }
  /// The index of the member named `name`, if any.
  std::optional<std::size_t> find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }

 private:
  static bool anyUnder(const std::vector<std::string_view>& sorted, std::string_view folder) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), folder);
    return it != sorted.end() && it->starts_with(folder);
  }
  std::vector<std::string_view> kept_, gone_;
  std::map<std::string_view, std::size_t> by_name_;
};

/// The manifest's file-entry elements of what went (removed members, OLE objects, emptied folders).
Edits manifestEdits(std::string_view manifest_xml, bool drop_objects,
                    const std::set<std::string, std::less<>>& object_refs, const Folders& folders,
                    const std::vector<bool>& removed) {
  Edits edits;
  Scanner s(manifest_xml);
  Tag t;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close || t.local() != "file-entry") continue;
    ManifestEntry me = manifestEntry(t);
    bool drop = me.ole || removedByName(me.path, drop_objects) ||
                (drop_objects && me.type.starts_with("application/vnd.oasis.opendocument.") &&
                 me.path != "/") ||
                underAny(me.path, object_refs);
    if (!drop && me.path != "/" && !me.path.empty()) {
      std::string q = me.path;
      while (!q.empty() && q.back() == '/') q.pop_back();
      if (auto e = folders.find(q))
        drop = removed[*e];
      else if (!q.empty())
        drop = folders.emptied(q + "/");  // "Object 3/", "Pictures/"
    }
    if (!drop) continue;
    // The element is usually empty; when it has children (encryption data is refused above),
    // it goes as a whole.
    std::size_t end = t.kind == Tag::Kind::Empty ? t.end : s.skipElement(t);
    if (end == std::string_view::npos) break;
    edits.erase(t.begin, end);
  }
  return edits;
}

/// The package's head, read before anything else: its mimetype, its manifest and the members the
/// manifest calls OLE objects whatever their name.
struct Head {
  const zip::Entry* mimetype = nullptr;
  const zip::Entry* manifest = nullptr;
  std::string mime, manifest_xml;
  bool manifest_doctype = false;
  std::set<std::string, std::less<>> ole_paths;  // without trailing '/'
};

std::optional<Outcome> readHead(const zip::Archive& archive, MessageContext& ctx, Head& h) {
  h.mimetype = archive.find("mimetype");
  h.manifest = archive.find("META-INF/manifest.xml");
  if (!h.mimetype || !h.manifest)
    return Outcome::fail(Reason::ParseMalformed,
                         "not an OpenDocument package (no mimetype or manifest)");
  if (auto f = archive.extract(*h.mimetype, ctx.budget, &h.mime))
    return Outcome::fail(f->reason, f->detail);
  if (!h.mime.starts_with("application/vnd.oasis.opendocument.") || h.mime.size() > 100)
    return Outcome::fail(Reason::ParseMalformed, "not an OpenDocument mimetype");
  if (auto f = archive.extract(*h.manifest, ctx.budget, &h.manifest_xml))
    return Outcome::fail(f->reason, f->detail);
  h.manifest_doctype = cutDoctype(h.manifest_xml);
  // The manifest says which members are encrypted (ODF password protection) and which are OLE
  // objects whatever their name. It never keeps a member: a package lists whatever it carries.
  Scanner s(h.manifest_xml);
  Tag t;
  while (s.next(t)) {
    if (t.local() == "encryption-data")
      return Outcome::fail(Reason::ContentEncrypted, "password-protected OpenDocument package");
    if (t.kind == Tag::Kind::Close || t.local() != "file-entry") continue;
    ManifestEntry me = manifestEntry(t);
    if (!me.ole) continue;
    std::string q = me.path;
    while (!q.empty() && q.back() == '/') q.pop_back();
    if (!q.empty()) h.ole_paths.insert(q);
  }
  if (s.malformed())
    return Outcome::fail(Reason::ParseMalformed, "malformed META-INF/manifest.xml");
  return std::nullopt;
}

/// The members that go by their name or place: macros and objects (removedByName), whatever is
/// under an OLE object's path, and a folder entry that carries bytes.
std::vector<bool> removedByPlace(const zip::Archive& archive, bool drop_objects,
                                 const std::set<std::string, std::less<>>& ole_paths,
                                 std::vector<Finding>& findings) {
  const auto& entries = archive.entries();
  std::vector<bool> removed(entries.size(), false);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& n = entries[i].name;
    // A folder entry holds nothing; one with bytes is a member parked under a folder's name
    // (zipfile and others hand the bytes out). An empty deflate stream is 2 bytes.
    bool dir_data =
        entries[i].directory() && (entries[i].uncompressed_size > 0 ||
                                   entries[i].compressed_size > (entries[i].method == 0 ? 0u : 2u));
    if (!dir_data && !removedByName(n, drop_objects) && !underAny(n, ole_paths)) continue;
    removed[i] = true;
    if (!entries[i].directory() || dir_data)
      findings.push_back({"removed", n, archive.sha256(entries[i])});
  }
  return removed;
}

/// The scrubbed XML parts (content, styles, meta of the document and of each sub-document), what
/// each refers to inside the package, and the objects whose elements were removed.
struct Scrubbed {
  struct XmlPart {
    std::size_t index;
    std::vector<Ref> refs;
  };
  std::vector<XmlPart> parts;
  std::map<std::string, std::vector<std::size_t>, std::less<>> docs;  // "" or "Object 1/" -> parts
  std::map<std::size_t, std::string> rewritten;
  std::set<std::string, std::less<>> object_refs;
};

std::optional<Outcome> scrubParts(const zip::Archive& archive, bool drop_objects,
                                  const std::vector<bool>& removed, MessageContext& ctx,
                                  Scrubbed& out, std::vector<Finding>& findings) {
  const auto& entries = archive.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (removed[i] || entries[i].directory()) continue;
    const std::string& n = entries[i].name;
    std::size_t slash = n.rfind('/');
    std::string_view leaf = std::string_view(n).substr(slash == std::string::npos ? 0 : slash + 1);
    if (leaf != "content.xml" && leaf != "styles.xml" && leaf != "meta.xml") continue;
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    std::string xml;
    if (auto f = archive.extract(entries[i], ctx.budget, &xml))
      return Outcome::fail(f->reason, f->detail);
    std::string base = n.substr(0, n.size() - leaf.size());  // hrefs are relative to it
    const bool doctype = cutDoctype(xml);
    if (doctype) findings.push_back({"removed", n + ": DOCTYPE"});
    Scrub sc = scrubXml(xml, base, drop_objects);
    if (sc.malformed)
      return Outcome::fail(Reason::ParseMalformed, "malformed XML in " + n.substr(0, 120));
    for (const std::string& r : sc.objects) out.object_refs.insert(base + r);
    for (const auto& [what, count] : sc.removed) {
      findings.push_back(
          {"removed", n + ": " + what + (count > 1 ? " x" + std::to_string(count) : "")});
    }
    if (doctype || sc.xml != xml) out.rewritten[i] = std::move(sc.xml);
    out.docs[base].push_back(out.parts.size());
    out.parts.push_back({i, std::move(sc.refs)});
  }
  return std::nullopt;
}

/// The members a kept document uses. A member stays when it is a standard part of the document
/// or of a kept sub-document, or when a kept element of a kept part refers to it. A sub-document
/// is kept when a draw:object of a kept part names its folder; each folder is walked once, from
/// the main document.
std::set<std::string, std::less<>> usedMembers(const Scrubbed& sc,
                                               const std::vector<bool>& removed) {
  std::set<std::string, std::less<>> used = {
      "mimetype",     "content.xml",  "styles.xml",
      "meta.xml",     "settings.xml", "META-INF/manifest.xml",
      "manifest.rdf", "layout-cache", "Thumbnails/thumbnail.png"};
  std::set<std::string, std::less<>> kept_docs = {""};
  std::vector<std::string> todo = {""};
  while (!todo.empty()) {
    std::string folder = std::move(todo.back());
    todo.pop_back();
    if (!folder.empty()) {
      for (const char* leaf : {"content.xml", "styles.xml", "meta.xml", "settings.xml"})
        used.insert(folder + leaf);
    }
    auto d = sc.docs.find(folder);
    if (d == sc.docs.end()) continue;
    for (std::size_t pi : d->second) {
      if (removed[sc.parts[pi].index]) continue;
      for (const Ref& r : sc.parts[pi].refs) {
        if (!r.object) {
          used.insert(r.path);
          continue;
        }
        // A draw:object names a sub-document folder; anything else there (a stream: an OLE
        // object under a made-up name) is not kept through it.
        std::string sub = r.path + "/";
        if (!sc.docs.count(sub) || !kept_docs.insert(sub).second) continue;
        todo.push_back(sub);
        // Its picture: LibreOffice looks it up by the object's name.
        std::size_t sl = r.path.rfind('/');
        std::size_t cut = sl == std::string::npos ? 0 : sl + 1;
        used.insert(r.path.substr(0, cut) + "ObjectReplacements/" + r.path.substr(cut));
      }
    }
  }
  return used;
}

/// The package written anew: mimetype first and stored (so `file` and office suites recognise it
/// by its head), kept members copied raw after their CRC is checked, rewritten ones deflated.
std::optional<Outcome> writePackage(const zip::Archive& archive, const zip::Entry* mimetype,
                                    const std::string& mime, const std::vector<bool>& removed,
                                    const std::map<std::size_t, std::string>& rewritten,
                                    MessageContext& ctx, std::size_t size_hint,
                                    std::optional<std::string>& bytes) {
  const auto& entries = archive.entries();
  zip::Writer writer(size_hint);
  bool ok = mimetype->method == 0 ? writer.copyRaw(archive, *mimetype)
                                  : writer.addStored("mimetype", mime);
  if (ok && mimetype->method == 0) {
    if (auto f = archive.verify(*mimetype)) return Outcome::fail(f->reason, f->detail);
  }
  for (std::size_t i = 0; i < entries.size() && ok; ++i) {
    if (removed[i] || &entries[i] == mimetype) continue;
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    auto rw = rewritten.find(i);
    if (rw != rewritten.end()) {
      ok = writer.addDeflated(entries[i].name, rw->second, (entries[i].flags & 0x0800) != 0);
    } else {
      if (auto f = archive.verify(entries[i])) return Outcome::fail(f->reason, f->detail);
      ok = writer.copyRaw(archive, entries[i]);
    }
  }
  bytes = ok ? writer.finish() : std::nullopt;
  if (!bytes) return Outcome::fail(Reason::CdrFailed, "package too large to write");
  return std::nullopt;
}

}  // namespace

std::optional<Outcome> OdfSanitizer::checkXml(const zip::Archive& archive,
                                              const std::vector<bool>& removed,
                                              const std::map<std::size_t, std::string>& rewritten,
                                              MessageContext& ctx) const {
  const auto& entries = archive.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (removed[i] || entries[i].directory() || !xmlMember(entries[i].name)) continue;
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    auto rw = rewritten.find(i);
    std::string copy;
    if (rw == rewritten.end()) {
      if (auto f = archive.extract(entries[i], ctx.budget, &copy))
        return Outcome::fail(f->reason, f->detail);
    }
    if (auto why = zip::xml::checkWellFormed(rw == rewritten.end() ? copy : rw->second))
      return Outcome::fail(Reason::ParseMalformed, entries[i].name.substr(0, 120) + ": " + *why);
  }
  return std::nullopt;
}

Outcome OdfSanitizer::apply(const Part& part, MessageContext& ctx) const {
  try {
    return rebuild(part, ctx);
  } catch (const std::bad_alloc&) {
    return Outcome::fail(Reason::CdrFailed, "out of memory while rebuilding");
  } catch (const std::exception&) {
    return Outcome::fail(Reason::CdrFailed, "rebuild failed");
  }
}

Outcome OdfSanitizer::rebuild(const Part& part, MessageContext& ctx) const {
  const bool drop_objects = !options_.keep_odf_objects;
  zip::Failure failure;
  auto archive = zip::Archive::open(part.data, zip::ReadLimits::fromLimits(ctx.limits), &failure);
  if (!archive) return Outcome::fail(failure.reason, failure.detail);
  const auto& entries = archive->entries();

  // 1. The package's head: mimetype and manifest, and the OLE objects the manifest names.
  Head head;
  if (auto f = readHead(*archive, ctx, head)) return *f;
  std::vector<Finding> findings;
  if (head.manifest_doctype) findings.push_back({"removed", "META-INF/manifest.xml: DOCTYPE"});
  // 2. Members that go by their name or place (macros, OLE objects, bytes under a folder entry).
  std::vector<bool> removed = removedByPlace(*archive, drop_objects, head.ole_paths, findings);
  // 3. The XML that can hold scripts, listeners, macro links and external references, scrubbed.
  Scrubbed sc;
  if (auto f = scrubParts(*archive, drop_objects, removed, ctx, sc, findings)) return *f;
  // 4. Members that removed elements pointed at (an OLE object under another name).
  if (!sc.object_refs.empty()) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string& n = entries[i].name;
      if (removed[i] || !underAny(n, sc.object_refs)) continue;
      removed[i] = true;
      sc.rewritten.erase(i);
      if (!entries[i].directory())
        findings.push_back({"removed", n, archive->sha256(entries[i])});
    }
  }
  // 5. Members nothing uses go (an .exe parked in Pictures/, a sub-document no frame shows).
  const auto used = usedMembers(sc, removed);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& n = entries[i].name;
    if (removed[i] || entries[i].directory() || used.count(n)) continue;
    removed[i] = true;
    sc.rewritten.erase(i);
    findings.push_back({"removed", n, archive->sha256(entries[i])});
  }
  // 6. What is kept is checked: pictures through the image chain, XML well-formed.
  if (auto f = checkMembers(*archive, removed, sc.rewritten, findings, ctx)) return *f;
  // Folders (directory entries, manifest folder entries) left empty by what was removed go too.
  const Folders folders(entries, removed);
  const bool dirs_dropped = folders.dropEmptied(entries, removed);
  // META-INF/manifest.xml loses the entries of what went.
  Edits manifest_edits =
      manifestEdits(head.manifest_xml, drop_objects, sc.object_refs, folders, removed);
  if (!manifest_edits.empty() || head.manifest_doctype) {
    std::size_t mi = static_cast<std::size_t>(head.manifest - entries.data());
    sc.rewritten[mi] = manifest_edits.apply(head.manifest_xml);
  }
  if (auto f = checkXml(*archive, removed, sc.rewritten, ctx)) return *f;
  // 7. The package written anew, unless nothing changed.
  bool mimetype_first = &entries.front() == head.mimetype && head.mimetype->method == 0;
  if (findings.empty() && sc.rewritten.empty() && !dirs_dropped && mimetype_first)
    return Outcome::keep();

  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  std::optional<std::string> bytes;
  if (auto f = writePackage(*archive, head.mimetype, head.mime, removed, sc.rewritten, ctx,
                            part.data.size(), bytes)) {
    return *f;
  }
  Part next = replacedPart(part, std::move(*bytes));
  // "rebuilt" when something went; pictures only re-encoded: "converted".
  bool removed_something =
      dirs_dropped || std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
        return f.key == "removed" || f.key == "neutralised" || f.key == "converted";
      });
  Outcome o = Outcome::replace(std::move(next), removed_something || !mimetype_first
                                                    ? Reason::CdrRebuilt
                                                    : Reason::CdrConverted);
  if (!removed_something && mimetype_first)
    findings.push_back({"applied", "pictures decoded and re-encoded"});
  o.findings = std::move(findings);
  return o;
}

}  // namespace mugai::sanitizers::odf
