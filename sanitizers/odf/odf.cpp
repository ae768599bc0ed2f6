// sanitizer.odf (see odf.h for Trust / Limits / Errors and README.md for what is removed).
//
// Shape of a rebuild: read the ZIP directory (limits first), refuse encrypted packages, drop the
// macro folders (Basic/, Scripts/, Dialogs/, Configurations2/), OLE objects and signatures,
// scrub every content.xml/styles.xml (scripts, event listeners, macro URLs, applets, DDE), fix
// META-INF/manifest.xml, and write `mimetype` first and stored, then the rest in order: members
// we did not touch are copied compressed as they are (after a CRC check), changed XML deflated.
#include "sanitizers/odf/odf.h"

#include <map>
#include <set>

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

/// Whole elements removed from content.xml/styles.xml.
const std::set<std::string, std::less<>>& removedElements(bool remove_odf_objects) {
  static const std::set<std::string, std::less<>> kBase = {
      "office:scripts",        "office:event-listeners",
      "script:event-listener", "presentation:event-listener",
      "draw:object-ole",       "draw:applet",
      "draw:plugin",           "text:script",
      "table:error-macro",     "text:dde-connection-decls",
      "table:dde-links",       "office:dde-source",
      "table:table-source",    "table:cell-range-source"};
  static const std::set<std::string, std::less<>> kWithObjects = [] {
    auto s = kBase;
    s.insert("draw:object");
    return s;
  }();
  return remove_odf_objects ? kWithObjects : kBase;
}

struct Scrub {
  std::string xml;
  std::map<std::string, int> removed;  // element (or attribute) -> count
  std::set<std::string> objects;       // package paths of removed OLE objects/applets/plug-ins
  bool malformed = false;
};

Scrub scrubXml(std::string_view xml, bool remove_odf_objects) {
  Scrub out;
  const auto& names = removedElements(remove_odf_objects);
  Edits edits;
  Scanner s(xml);
  Tag t;
  while (s.next(t)) {
    if (t.kind == Tag::Kind::Close) {
      if (t.name == "text:execute-macro") edits.erase(t.begin, t.end);
      continue;
    }
    if (names.count(t.name)) {
      std::size_t end = s.skipElement(t);
      if (end == std::string_view::npos) break;
      edits.erase(t.begin, end);
      ++out.removed[std::string(t.name)];
      // Whatever the removed object pointed at inside the package goes too, whatever its name.
      if (const Attr* href = t.attr("xlink:href")) {
        std::string h = decode(href->value);
        if (h.starts_with("./")) h.erase(0, 2);
        while (!h.empty() && h.back() == '/') h.pop_back();
        if (!h.empty() && h.find(':') == std::string::npos) out.objects.insert(h);
      }
      continue;
    }
    if (t.name == "text:execute-macro") {  // a field that runs a macro on click: keep its text
      ++out.removed[std::string(t.name)];
      edits.erase(t.begin, t.end);  // its close tag goes when it comes (no look-ahead: linear)
      continue;
    }
    for (const Attr& a : t.attrs) {
      std::size_t colon = a.name.find(':');
      std::string_view local = colon == std::string_view::npos ? a.name : a.name.substr(colon + 1);
      if (local == "href" && activeUrl(a.value)) {
        edits.erase(a.begin, a.end);
        ++out.removed[std::string(t.name) + " macro link"];
      } else if (local != "href" && embedsMacroUrl(a.value)) {
        // e.g. table:formula="of:=HYPERLINK(&quot;vnd.sun.star.script:...&quot;)": the formula
        // goes, the cell keeps its last value (office:value and its text).
        edits.erase(a.begin, a.end);
        ++out.removed[std::string(t.name) + " " + std::string(a.name) + " with a macro URL"];
      }
    }
  }
  if (s.malformed()) {
    out.malformed = true;
    return out;
  }
  out.xml = edits.empty() ? std::string(xml) : edits.apply(xml);
  return out;
}

}  // namespace

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

  const zip::Entry* mimetype = archive->find("mimetype");
  const zip::Entry* manifest = archive->find("META-INF/manifest.xml");
  if (!mimetype || !manifest)
    return Outcome::fail(Reason::ParseMalformed,
                         "not an OpenDocument package (no mimetype or manifest)");
  std::string mime;
  if (auto f = archive->extract(*mimetype, ctx.budget, &mime))
    return Outcome::fail(f->reason, f->detail);
  if (!mime.starts_with("application/vnd.oasis.opendocument.") || mime.size() > 100)
    return Outcome::fail(Reason::ParseMalformed, "not an OpenDocument mimetype");

  std::string manifest_xml;
  if (auto f = archive->extract(*manifest, ctx.budget, &manifest_xml))
    return Outcome::fail(f->reason, f->detail);
  // The manifest says which members are encrypted (ODF password protection) and which are OLE
  // objects whatever their name.
  std::set<std::string, std::less<>> ole_paths;  // without trailing '/'
  Edits manifest_edits;
  int manifest_dropped = 0;
  {
    Scanner s(manifest_xml);
    Tag t;
    while (s.next(t)) {
      if (t.name == "manifest:encryption-data")
        return Outcome::fail(Reason::ContentEncrypted, "password-protected OpenDocument package");
      if (t.kind == Tag::Kind::Close || t.name != "manifest:file-entry") continue;
      const Attr* path = t.attr("manifest:full-path");
      const Attr* type = t.attr("manifest:media-type");
      std::string p = path ? decode(path->value) : "";
      std::string ty = type ? lower(decode(type->value)) : "";
      bool ole = ty.find("oleobject") != std::string::npos ||
                 ty.starts_with("application/vnd.sun.star.ole") ||
                 ty == "application/x-openoffice-oleobject";
      if (ole) {
        std::string q = p;
        while (!q.empty() && q.back() == '/') q.pop_back();
        if (!q.empty()) ole_paths.insert(q);
      }
      if (ole || removedByName(p, drop_objects) ||
          (drop_objects && ty.starts_with("application/vnd.oasis.opendocument.") && p != "/")) {
        // The element is usually empty; when it has children (encryption data is refused
        // above), it goes as a whole.
        std::size_t end = t.kind == Tag::Kind::Empty ? t.end : s.skipElement(t);
        if (end == std::string_view::npos) break;
        manifest_edits.erase(t.begin, end);
        ++manifest_dropped;
      }
    }
    if (s.malformed())
      return Outcome::fail(Reason::ParseMalformed, "malformed META-INF/manifest.xml");
  }

  std::vector<Finding> findings;
  std::vector<bool> removed(entries.size(), false);
  std::set<std::string> shown_dirs;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& n = entries[i].name;
    if (!removedByName(n, drop_objects) && !underAny(n, ole_paths)) continue;
    removed[i] = true;
    if (!entries[i].directory()) findings.push_back({"removed", n});
  }

  // Scrub the XML that can hold scripts, listeners and macro links.
  std::map<std::size_t, std::string> rewritten;
  std::set<std::string, std::less<>> object_refs;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (removed[i] || entries[i].directory()) continue;
    const std::string& n = entries[i].name;
    bool xml_part = n == "content.xml" || n == "styles.xml" || n.ends_with("/content.xml") ||
                    n.ends_with("/styles.xml");
    if (!xml_part) continue;
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    std::string xml;
    if (auto f = archive->extract(entries[i], ctx.budget, &xml))
      return Outcome::fail(f->reason, f->detail);
    Scrub sc = scrubXml(xml, drop_objects);
    if (sc.malformed)
      return Outcome::fail(Reason::ParseMalformed, "malformed XML in " + n.substr(0, 120));
    std::string base = n.substr(0, n.rfind('/') + 1);  // "" or "Object 2/": hrefs are relative
    for (const std::string& r : sc.objects) object_refs.insert(base + r);
    for (const auto& [what, count] : sc.removed) {
      findings.push_back(
          {"removed", n + ": " + what + (count > 1 ? " x" + std::to_string(count) : "")});
    }
    if (sc.xml != xml) rewritten[i] = std::move(sc.xml);
  }
  // Members that removed elements pointed at (an OLE object under another name than "Object N").
  if (!object_refs.empty()) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string& n = entries[i].name;
      if (removed[i] || !underAny(n, object_refs)) continue;
      removed[i] = true;
      rewritten.erase(i);
      if (!entries[i].directory()) findings.push_back({"removed", n});
    }
    Scanner s(manifest_xml);
    Tag t;
    while (s.next(t)) {
      if (t.kind == Tag::Kind::Close || t.name != "manifest:file-entry") continue;
      const Attr* path = t.attr("manifest:full-path");
      if (!path || !underAny(decode(path->value), object_refs)) continue;
      std::size_t end = t.kind == Tag::Kind::Empty ? t.end : s.skipElement(t);
      if (end == std::string_view::npos) break;
      manifest_edits.erase(t.begin, end);
    }
  }
  if (!manifest_edits.empty()) {
    std::size_t mi = static_cast<std::size_t>(manifest - entries.data());
    rewritten[mi] = manifest_edits.apply(manifest_xml);
  }

  bool mimetype_first = &entries.front() == mimetype && mimetype->method == 0;
  if (findings.empty() && rewritten.empty() && mimetype_first) return Outcome::keep();

  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  zip::Writer writer(part.data.size());
  // mimetype first and stored, so `file` and office suites recognise the package by its head.
  bool ok = mimetype->method == 0 ? writer.copyRaw(*archive, *mimetype)
                                  : writer.addStored("mimetype", mime);
  if (ok && mimetype->method == 0) {
    if (auto f = archive->verify(*mimetype)) return Outcome::fail(f->reason, f->detail);
  }
  for (std::size_t i = 0; i < entries.size() && ok; ++i) {
    if (removed[i] || &entries[i] == mimetype) continue;
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    auto rw = rewritten.find(i);
    if (rw != rewritten.end()) {
      ok = writer.addDeflated(entries[i].name, rw->second, (entries[i].flags & 0x0800) != 0);
    } else {
      if (auto f = archive->verify(entries[i])) return Outcome::fail(f->reason, f->detail);
      ok = writer.copyRaw(*archive, entries[i]);
    }
  }
  auto bytes = ok ? writer.finish() : std::nullopt;
  if (!bytes) return Outcome::fail(Reason::CdrFailed, "package too large to write");
  (void)manifest_dropped;

  Part next = replacedPart(part, std::move(*bytes));
  Outcome o = Outcome::replace(std::move(next), Reason::CdrRebuilt);
  o.findings = std::move(findings);
  return o;
}

}  // namespace mugai::sanitizers::odf
