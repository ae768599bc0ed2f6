// sanitizer.ole2: see ole2.h and README.md.
//
// Two passes over libgsf's view of the compound file:
//   1. walk: every storage and stream, counted and sized against the limits, each node
//      classified (keep / drop as macro, embedded object, ActiveX state, signature);
//      the encryption markers of Word, Excel and PowerPoint are checked on the way;
//   2. copy: the kept nodes are written, byte for byte and under the same names and class ids,
//      into a fresh compound file (GsfOutfileMSOle). Unallocated sectors, slack space and
//      anything not reachable from the directory are left behind by construction.
#include "sanitizers/ole2/ole2.h"

#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-input.h>
#include <gsf/gsf-outfile-msole.h>
#include <gsf/gsf-outfile.h>
#include <gsf/gsf-output-memory.h>
#include <gsf/gsf-output.h>
#include <gsf/gsf-utils.h>

#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "mugai/core/digest.h"
#include "sanitizers/ole2/ppt.h"
#include "sanitizers/ole2/xls.h"
#include "src/office/compound_file.h"
#include "src/office/field_code.h"

namespace mugai::sanitizers::ole2 {
namespace {

struct Unref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// Names are untrusted: control characters (\x01Ole10Native) shown as \xNN, length capped.
std::string displayName(std::string_view name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name) {
    if (out.size() > 200) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

enum class Drop { Keep, Macro, Object, ActiveX, Signature, Link, Unknown };

struct Node {
  std::string name;
  std::string path;  // "ObjectPool/_1234"
  bool storage = false;
  std::uint64_t size = 0;
  GPtr<GsfInput> input;
  std::array<guint8, 16> clsid{};
  bool has_clsid = false;
  Drop drop = Drop::Keep;
  std::vector<Node> children;
  std::string rewritten;  ///< a stream we rewrote (input then reads from here)
};

struct Failure {
  Reason reason;
  std::string detail;
};

struct Walk {
  const Limits& limits;
  int max_depth;
  std::uint64_t objects = 0;
  std::uint64_t total = 0;
};

std::optional<Failure> walk(GsfInfile* dir, Node& node, int depth, Walk& w) {
  int n = gsf_infile_num_children(dir);
  for (int i = 0; i < n; ++i) {
    if (++w.objects > w.limits.document_object_limit)
      return Failure{Reason::LimitDocumentObjects, "more storages and streams than document_object_limit"};
    const char* name = gsf_infile_name_by_index(dir, i);
    GPtr<GsfInput> child(gsf_infile_child_by_index(dir, i));
    if (!child || !name) return Failure{Reason::ParseMalformed, "a directory entry cannot be opened"};
    Node c;
    c.name = name;
    c.path = node.path.empty() ? c.name : node.path + "/" + c.name;
    c.storage = GSF_IS_INFILE(child.get()) && gsf_infile_num_children(GSF_INFILE(child.get())) >= 0;
    gsf_off_t size = gsf_input_size(child.get());
    if (size < 0) return Failure{Reason::ParseMalformed, "negative stream size"};
    c.size = static_cast<std::uint64_t>(size);
    w.total += c.size;
    if (w.total > w.limits.expanded_size_limit)
      return Failure{Reason::LimitExpandedSize, "streams add up to more than expanded_size_limit"};
    if (c.storage) {
      if (depth + 1 > w.max_depth) return Failure{Reason::LimitArchiveDepth, "storages nested too deeply"};
      if (GSF_IS_INFILE_MSOLE(child.get()))
        c.has_clsid = gsf_infile_msole_get_class_id(GSF_INFILE_MSOLE(child.get()), c.clsid.data());
      if (auto f = walk(GSF_INFILE(child.get()), c, depth + 1, w)) return f;
    }
    c.input = std::move(child);
    node.children.push_back(std::move(c));
  }
  return std::nullopt;
}

const Node* findChild(const Node& n, std::string_view name, bool storage) {
  for (const Node& c : n.children)
    if (c.storage == storage && iequals(c.name, name)) return &c;
  return nullptr;
}

/// Reads up to `max` bytes of a stream from its start (the caller charged them).
std::optional<std::string> readHead(GsfInput* in, std::uint64_t max) {
  gsf_off_t size = gsf_input_size(in);
  std::uint64_t want = std::min<std::uint64_t>(max, static_cast<std::uint64_t>(size));
  if (gsf_input_seek(in, 0, G_SEEK_SET)) return std::nullopt;  // libgsf: TRUE means error
  std::string out;
  out.resize(want);
  std::uint64_t done = 0;
  while (done < want) {
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(want - done, 1 << 16));
    if (!gsf_input_read(in, chunk, reinterpret_cast<guint8*>(out.data() + done))) return std::nullopt;
    done += chunk;
  }
  gsf_input_seek(in, 0, G_SEEK_SET);
  return out;
}

bool isMbd(std::string_view name) {  // Excel embedded objects: MBD0001A2B3
  if (name.size() < 4 || !iequals(name.substr(0, 3), "MBD")) return false;
  for (char c : name.substr(3))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

/// Marks what goes. `root` tells the root level apart (Macros, MBD*, Ctls are root names).
void classify(Node& node, bool root) {
  bool vba_here = false;
  for (Node& c : node.children) {
    if (c.storage) {
      if (iequals(c.name, "Macros") || iequals(c.name, "_VBA_PROJECT_CUR") || iequals(c.name, "_VBA_PROJECT") ||
          iequals(c.name, "VBA")) {
        c.drop = Drop::Macro;
        vba_here = vba_here || iequals(c.name, "VBA");
      } else if (iequals(c.name, "ObjectPool") || (root && isMbd(c.name))) {
        c.drop = Drop::Object;
      } else if (root && (iequals(c.name, "_xmlsignatures") || iequals(c.name, "_signatures"))) {
        c.drop = Drop::Signature;
      } else {
        classify(c, false);
      }
    } else {
      if (iequals(c.name, "\x01Ole10Native") || iequals(c.name, "Package")) c.drop = Drop::Object;
      else if (iequals(c.name, "\x01Ole")) c.drop = Drop::Link;
      else if (root && iequals(c.name, "Ctls")) c.drop = Drop::ActiveX;
    }
  }
  // A bare VBA storage (no _VBA_PROJECT_CUR around it) leaves its PROJECT streams beside it.
  if (vba_here)
    for (Node& c : node.children)
      if (!c.storage && (iequals(c.name, "PROJECT") || iequals(c.name, "PROJECTwm"))) c.drop = Drop::Macro;
}

/// The three compound-file formats the rebuilder knows, told apart by their main stream.
enum class Format { Word, Excel, PowerPoint };

const char* formatName(Format f) {
  return f == Format::Word ? "Word" : f == Format::Excel ? "Excel" : "PowerPoint";
}

/// Which known format the root's main stream names; nullopt for anything else (一太郎, Publisher,
/// Visio, an Outlook item, a made-up file with a compound-file header). Two main streams at the
/// root (a Word/Excel polyglot) are ambiguous: which one a reader takes depends on the name.
std::optional<Format> knownFormat(const Node& root, bool* ambiguous) {
  std::optional<Format> found;
  int mains = 0;
  if (findChild(root, "WordDocument", false)) found = Format::Word, ++mains;
  if (findChild(root, "Workbook", false) || findChild(root, "Book", false)) found = Format::Excel, ++mains;
  if (findChild(root, "PowerPoint Document", false)) found = Format::PowerPoint, ++mains;
  *ambiguous = mains > 1;
  return found;
}

/// Root entries a known format needs ([MS-DOC] 2.1, [MS-XLS] 2.1.2, [MS-PPT] 2.1.1, plus the
/// property sets and CompObj every OLE document has). Everything else at the root is dropped
/// unless classify() already dropped it for a named reason: unknown streams are never copied.
/// Storages kept whole: Excel's pivot caches (_SX_DB_CUR / _SX_DB hold cache records only).
bool neededAtRoot(Format f, const Node& n) {
  static const char* kCommon[] = {"\x05SummaryInformation", "\x05" "DocumentSummaryInformation",
                                  "\x01" "CompObj", "\x01Ole"};
  static const char* kWord[] = {"WordDocument", "1Table", "0Table", "Data"};
  static const char* kExcel[] = {"Workbook", "Book"};
  static const char* kPpt[] = {"PowerPoint Document", "Current User", "Pictures"};
  auto in = [&](auto& list) {
    for (const char* name : list)
      if (iequals(n.name, name)) return true;
    return false;
  };
  if (n.storage)
    return f == Format::Excel && (iequals(n.name, "_SX_DB_CUR") || iequals(n.name, "_SX_DB"));
  if (in(kCommon)) return true;
  return f == Format::Word ? in(kWord) : f == Format::Excel ? in(kExcel) : in(kPpt);
}

/// What the refusal of an unknown compound file names: a few formats by their own marks, the
/// first root entries otherwise (escaped).
std::string describeUnknown(const Node& root) {
  static const guint8 kPublisher[16] = {0x01, 0x12, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
  if (findChild(root, "VisioDocument", false)) return "a Visio drawing";
  for (const Node& c : root.children) {  // JustSystems' "\x04JSRV_SegmentInformation" (src/detect)
    std::string_view n = c.name;
    if (!n.empty() && static_cast<unsigned char>(n[0]) < 0x20) n.remove_prefix(1);
    if (n == "JSRV_SegmentInformation" || n == "JSRV_SummaryInformation" || n == "JSCompDocument")
      return "a 一太郎 (Ichitaro) document";
  }
  if ((root.has_clsid && std::memcmp(root.clsid.data(), kPublisher, 16) == 0) || findChild(root, "Quill", true))
    return "a Publisher document";
  if (findChild(root, "__properties_version1.0", false)) return "an Outlook item (.msg)";
  if (findChild(root, "FileHeader", false) && findChild(root, "BodyText", true)) return "a Hangul (HWP) document";
  std::string names;
  int shown = 0;
  for (const Node& c : root.children) {
    if (shown++ == 4) {
      names += ", ...";
      break;
    }
    names += (names.empty() ? "" : ", ") + displayName(c.name);
  }
  return "a compound file with " + (names.empty() ? std::string("no entries") : names);
}

void dropUnneeded(Node& root, Format f) {
  for (Node& c : root.children)
    if (c.drop == Drop::Keep && !neededAtRoot(f, c)) c.drop = Drop::Unknown;
}

/// "\x01Ole" ([MS-OLEDS] 2.3.3 OLEStream): kept when it only says "embedded, no moniker" (LibreOffice
/// writes one at the root of every .doc); dropped when it describes a link (flags bit 0) or
/// carries a moniker (the URL moniker of CVE-2017-0199-style remote objects).
void keepPlainOleStreams(Node& node) {
  for (Node& c : node.children) {
    if (c.storage && c.drop == Drop::Keep) keepPlainOleStreams(c);
    if (c.storage || c.drop != Drop::Link || c.size != 20) continue;
    auto head = readHead(c.input.get(), 20);
    if (!head || head->size() != 20) continue;
    auto* b = reinterpret_cast<const unsigned char*>(head->data());
    if (le32(b) == 0x02000001u && (le32(b + 4) & 1u) == 0 && le32(b + 12) == 0) c.drop = Drop::Keep;
  }
}

/// SHA-256 (hex) of a stream's bytes, read in blocks: nothing kept, nothing charged (walk()
/// bounded the streams' total). "" when libgsf cannot read it.
std::string streamSha256(GsfInput* in) {
  gsf_off_t size = gsf_input_size(in);
  if (size < 0 || gsf_input_seek(in, 0, G_SEEK_SET)) return {};
  Sha256 h;
  guint8 block[1 << 14];
  auto left = static_cast<std::uint64_t>(size);
  while (left > 0) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof block));
    if (!gsf_input_read(in, n, block)) return {};
    h.update(block, n);
    left -= n;
  }
  gsf_input_seek(in, 0, G_SEEK_SET);
  return h.hex();
}

/// How many streams inside removed storages are listed with their SHA-256; the rest are counted.
constexpr std::size_t kHashedStreams = 256;

/// A storage has no bytes of its own: each stream inside one that goes is listed as
/// {"removed_object", path, sha256} (the vault's objects), the notice names only the storage.
void listStreams(const Node& storage, std::vector<Finding>& out, std::size_t& listed, std::size_t& more) {
  for (const Node& c : storage.children) {
    if (c.storage) {
      listStreams(c, out, listed, more);
    } else if (listed < kHashedStreams) {
      ++listed;
      out.push_back({"removed_object", displayName(c.path), streamSha256(c.input.get())});
    } else {
      ++more;
    }
  }
}

struct Collected {
  bool macros = false;
  std::size_t listed = 0;  // streams listed under removed storages
  std::size_t more = 0;    // and not listed past kHashedStreams
};

/// One "removed" finding per storage or stream that goes: a stream's with its SHA-256, a
/// storage's followed by its streams (listStreams).
void removed(const Node& c, const std::string& what, std::vector<Finding>& out, Collected& k) {
  if (!c.storage) {
    out.push_back({"removed", what, streamSha256(c.input.get())});
    return;
  }
  out.push_back({"removed", what});
  listStreams(c, out, k.listed, k.more);
}

void collectFindings(const Node& node, std::vector<Finding>& out, Collected& k) {
  for (const Node& c : node.children) {
    std::string shown = displayName(c.path);
    switch (c.drop) {
      case Drop::Keep:
        if (c.storage) collectFindings(c, out, k);
        break;
      case Drop::Macro:
        k.macros = true;
        removed(c, shown + " (VBA project)", out, k);
        break;
      case Drop::Object:
        if (c.storage && iequals(c.name, "ObjectPool")) {
          for (const Node& o : c.children) removed(o, displayName(o.path) + " (embedded object)", out, k);
        } else {
          removed(c, shown + " (embedded object)", out, k);
        }
        break;
      case Drop::ActiveX:
        removed(c, shown + " (ActiveX controls)", out, k);
        break;
      case Drop::Signature:
        removed(c, shown + " (digital signature)", out, k);
        break;
      case Drop::Link:
        removed(c, shown + " (OLE link)", out, k);
        break;
      case Drop::Unknown:
        removed(c, shown + (c.storage ? " (storage" : " (stream") + " the format does not use)", out, k);
        break;
    }
  }
}

/// Walks PowerPoint records (8-byte headers, containers have recVer 0xF) looking for what cannot
/// be cut out of the "PowerPoint Document" stream without rewriting its persist directory.
struct PptScan {
  bool encrypted = false;
  bool vba = false;
  bool objects = false;
  std::uint64_t records = 0;
};

void scanPpt(const unsigned char* p, std::size_t n, int depth, PptScan& s) {
  std::size_t pos = 0;
  while (pos + 8 <= n && s.records < 2000000) {
    ++s.records;
    std::uint16_t ver_inst = le16(p + pos);
    std::uint16_t type = le16(p + pos + 2);
    std::uint32_t len = le32(p + pos + 4);
    pos += 8;
    if (len > n - pos) len = static_cast<std::uint32_t>(n - pos);  // truncated: scan what is there
    if (type == 0x2F14) s.encrypted = true;             // CryptSession10Container
    // VBAInfoAtom ([MS-PPT] 2.4.10): persistIdRef (the VBA storage's ExOleObjStg), fHasMacros.
    // LibreOffice writes a VBAInfoContainer with a zero atom into every .ppt: that is no project
    // (a real one also needs its ExOleObjStg, which is refused below whatever it holds).
    if (type == 0x0400 && len >= 8 && (le32(p + pos) != 0 || le32(p + pos + 4) != 0)) s.vba = true;
    // ExOleObjStg (embedded objects, controls, VBA); one whose body is all zeros is a VBA
    // project stripPptVba cut out (ppt.h)
    if (type == 0x1011 && !pptEmptiedStorage(p + pos, len)) s.objects = true;
    if ((ver_inst & 0x0F) == 0x0F && depth < 16) scanPpt(p + pos, len, depth + 1, s);
    pos += len;
  }
}

/// Excel BIFF: FILEPASS (0x002F) in the workbook globals, before their EOF (0x000A).
std::optional<bool> excelEncrypted(GsfInput* in) {
  gsf_off_t size = gsf_input_size(in);
  gsf_off_t pos = 0;
  for (int records = 0; records < 100000 && pos + 4 <= size; ++records) {
    unsigned char h[4];
    if (gsf_input_seek(in, pos, G_SEEK_SET) || !gsf_input_read(in, 4, h)) return std::nullopt;
    std::uint16_t type = le16(h), len = le16(h + 2);
    if (type == 0x002F) return true;
    if (type == 0x000A) break;
    pos += 4 + len;
  }
  gsf_input_seek(in, 0, G_SEEK_SET);
  return false;
}

/// Excel BIFF: a SUPBOOK (0x01AE) longer than the 4-byte self or add-in reference names another
/// workbook or a DDE server ("cmd\x03/c calc"). The Workbook stream is copied as it is, so such a
/// link cannot be cut out: the file is refused (the OOXML rebuilder removes external links).
std::optional<std::string> excelExternalLink(GsfInput* in) {
  gsf_off_t size = gsf_input_size(in);
  gsf_off_t pos = 0;
  std::optional<std::string> found;
  for (int records = 0; records < 2000000 && pos + 4 <= size; ++records) {
    unsigned char h[4];
    if (gsf_input_seek(in, pos, G_SEEK_SET) || !gsf_input_read(in, 4, h)) break;
    std::uint16_t type = le16(h), len = le16(h + 2);
    if (type == 0x01AE && len > 4) {
      unsigned char d[64] = {};
      std::size_t n = std::min<std::size_t>(len, sizeof d);
      if (gsf_input_read(in, n, d)) {
        bool dde = std::memchr(d + 4, 0x03, n - 4) != nullptr &&
                   std::memchr(d + 4, 0x01, n - 4) == nullptr && std::memchr(d + 4, 0x02, n - 4) == nullptr;
        found = dde ? "a DDE link (SUPBOOK app<0x03>topic)" : "a link to another workbook (SUPBOOK)";
        if (dde) break;
      }
    }
    pos += 4 + len;
  }
  gsf_input_seek(in, 0, G_SEEK_SET);
  return found;
}

/// Word: a field whose code fetches, links, runs or queries something (the shared list of
/// src/office/field_code.h: DDE/DDEAUTO after a TAB or no-break space too, DATABASE, INCLUDE*,
/// IMPORT, LINK, HYPERLINK to a UNC path), found by its field-begin mark 0x13 in the text of the
/// WordDocument stream, 8-bit or UTF-16LE; a field whose code starts with another field (code
/// built at run time) too. The stream is copied as it is, so the file is refused.
std::optional<std::string> wordDangerousField(const std::string& s) {
  constexpr std::size_t kMaxInstr = 1024;
  for (std::size_t at = s.find('\x13'); at != std::string::npos; at = s.find('\x13', at + 1)) {
    for (int wide = 0; wide < 2; ++wide) {
      std::size_t step = wide ? 2 : 1;
      std::string instr;  // ASCII as it is, U+00A0 as the byte 0xA0, anything else '?'
      bool nested_first = false;
      for (std::size_t p = at + step; p < s.size() && instr.size() < kMaxInstr; p += step) {
        unsigned cu = static_cast<unsigned char>(s[p]);
        if (wide) {
          if (p + 1 >= s.size()) break;
          cu |= static_cast<unsigned>(static_cast<unsigned char>(s[p + 1])) << 8;
        }
        if (cu == 0x14 || cu == 0x15) break;
        if (cu == 0x13) {
          nested_first = instr.find_first_not_of(" \t\r\n\xA0") == std::string::npos;
          break;
        }
        instr += cu < 0x80 ? static_cast<char>(cu) : cu == 0xA0 ? '\xA0' : '?';
      }
      if (auto why = office::dangerousField(instr)) return "a " + *why;
      if (nested_first) return std::string("a field with a computed instruction");
    }
  }
  return std::nullopt;
}

/// Word: the attached template's path, SttbfAssoc[ibstAssocDot] in the table stream (FIB
/// fcSttbfAssoc/lcbSttbfAssoc at 0x19A/0x19E, [MS-DOC] 2.5.6 and 2.9.276). Word loads a remote
/// template on opening (template injection; a UNC path leaks NTLM credentials). "" when none.
std::string wordTemplatePath(const std::string& fib, const std::string& table) {
  if (fib.size() < 0x1A2) return {};
  auto* b = reinterpret_cast<const unsigned char*>(fib.data());
  std::uint32_t fc = le32(b + 0x19A), lcb = le32(b + 0x19E);
  if (lcb < 6 || fc > table.size() || lcb > table.size() - fc) return {};
  auto* t = reinterpret_cast<const unsigned char*>(table.data()) + fc;
  if (le16(t) != 0xFFFF) return {};  // SttbfAssoc is always extended (UTF-16)
  std::uint32_t count = le16(t + 2), extra = le16(t + 4);
  std::size_t pos = 6;
  for (std::uint32_t i = 0; i < count && i <= 1; ++i) {
    if (pos + 2 > lcb) return {};
    std::uint32_t cch = le16(t + pos);
    pos += 2;
    if (pos + 2ull * cch > lcb) return {};
    if (i == 1) {
      std::string path;
      for (std::uint32_t k = 0; k < cch; ++k) {
        unsigned cu = le16(t + pos + 2 * k);
        path += cu < 0x80 ? static_cast<char>(cu) : '?';
      }
      return path;
    }
    pos += 2ull * cch + extra;
  }
  return {};
}

/// Excel BIFF: an Excel 4.0 (XLM) macro sheet, a BOUNDSHEET (0x0085) of type dt = 1 in the
/// workbook globals (before their EOF). Its formulas run (Auto_Open names); the Workbook stream is
/// copied as it is and cutting a sheet out means renumbering every sheet reference, so the file
/// is refused.
std::optional<std::string> excelMacroSheet(GsfInput* in) {
  gsf_off_t size = gsf_input_size(in);
  gsf_off_t pos = 0;
  std::optional<std::string> found;
  for (int records = 0; records < 100000 && pos + 4 <= size; ++records) {
    unsigned char h[4];
    if (gsf_input_seek(in, pos, G_SEEK_SET) || !gsf_input_read(in, 4, h)) break;
    std::uint16_t type = le16(h), len = le16(h + 2);
    if (type == 0x000A && records > 0) break;  // EOF of the globals
    if (type == 0x0085 && len >= 6) {
      unsigned char d[6];
      if (gsf_input_read(in, 6, d) && d[5] == 0x01) {
        found = "an Excel 4.0 macro sheet (BOUNDSHEET of type macro)";
        break;
      }
    }
    pos += 4 + len;
  }
  gsf_input_seek(in, 0, G_SEEK_SET);
  return found;
}

/// Excel BIFF8: a HYPERLINK() call in a cell, shared or array formula, or a defined name:
/// ptgFuncVar (0x22/0x42/0x62) with iftab 359 (0x0167). The Workbook stream is copied as it is,
/// so such a file is refused (the OOXML rebuilder removes these formulas from .xlsx). Bytes are
/// matched in the record bodies (a constant that happens to hold the pattern fails closed too).
std::optional<std::string> excelHyperlinkFormula(GsfInput* in) {
  gsf_off_t size = gsf_input_size(in);
  gsf_off_t pos = 0;
  std::optional<std::string> found;
  std::string body;
  for (int records = 0; records < 2000000 && pos + 4 <= size; ++records) {
    unsigned char h[4];
    if (gsf_input_seek(in, pos, G_SEEK_SET) || !gsf_input_read(in, 4, h)) break;
    std::uint16_t type = le16(h), len = le16(h + 2);
    // FORMULA, SHRFMLA, ARRAY, NAME
    if ((type == 0x0006 || type == 0x04BC || type == 0x0221 || type == 0x0018) && len > 0 && pos + 4 + len <= size) {
      body.resize(len);
      if (!gsf_input_read(in, len, reinterpret_cast<guint8*>(body.data()))) break;
      for (std::size_t i = 0; i + 3 < body.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(body[i]);
        if ((c == 0x22 || c == 0x42 || c == 0x62) && body[i + 2] == '\x67' && body[i + 3] == '\x01') {
          found = type == 0x0018 ? "a HYPERLINK() formula in a defined name" : "a HYPERLINK() formula";
          break;
        }
      }
      if (found) break;
    }
    pos += 4 + len;
  }
  gsf_input_seek(in, 0, G_SEEK_SET);
  return found;
}

/// Windows Installer databases/patches/transforms are executables, never documents: the routing
/// removes application/x-msi by type, but libmagic may call one application/x-ole-storage.
/// Root CLSIDs {000C1084/1086/1082-0000-0000-C000-000000000046}, or the MSI name encoding
/// (code points U+3800..U+4840, UTF-8 E3 A0 80 .. E4 A1 80) on a root entry.
bool looksLikeInstaller(const Node& root) {
  static const guint8 tail[12] = {0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
  const guint8* c = root.clsid.data();
  if (root.has_clsid && c[2] == 0x0C && c[3] == 0x00 && (c[0] == 0x84 || c[0] == 0x86 || c[0] == 0x82) &&
      c[1] == 0x10 && std::memcmp(c + 4, tail, 12) == 0)
    return true;
  for (const Node& n : root.children) {
    auto* b = reinterpret_cast<const unsigned char*>(n.name.data());
    if (n.name.size() >= 3) {
      unsigned cp = ((b[0] & 0x0Fu) << 12) | ((b[1] & 0x3Fu) << 6) | (b[2] & 0x3Fu);
      if ((b[0] & 0xF0) == 0xE0 && cp >= 0x3800 && cp <= 0x4840) return true;
    }
  }
  return false;
}

struct Checks {
  bool encrypted = false;
  std::string encrypted_why;
  std::string active_why;  ///< a link or field in a stream that is copied as it is
  bool ppt_active = false;
  std::string ppt_why;
};

std::optional<Failure> checkRoot(const Node& root, MessageContext& ctx, Checks& k) {
  if (findChild(root, "EncryptionInfo", false) || findChild(root, "EncryptedPackage", false)) {
    k.encrypted = true;
    k.encrypted_why = "an encrypted OOXML package (EncryptionInfo/EncryptedPackage)";
    return std::nullopt;
  }
  if (findChild(root, "\x06" "DataSpaces", true) || findChild(root, "\x09" "DRMContent", false)) {
    k.encrypted = true;
    k.encrypted_why = "a rights-managed (IRM) document (\\x06DataSpaces / \\x09DRMContent)";
    return std::nullopt;
  }
  if (findChild(root, "EncryptedSummary", false)) {
    k.encrypted = true;
    k.encrypted_why = "an encrypted PowerPoint presentation (EncryptedSummary)";
    return std::nullopt;
  }
  if (const Node* wd = findChild(root, "WordDocument", false)) {
    // FibBase: wIdent at 0, flags at 0x0A; bit 0x0100 is fEncrypted (RC4 or XOR obfuscation).
    auto head = readHead(wd->input.get(), 12);
    if (!head || head->size() < 12) return Failure{Reason::ParseMalformed, "WordDocument stream too short"};
    auto* b = reinterpret_cast<const unsigned char*>(head->data());
    if (le16(b + 0x0A) & 0x0100) {
      k.encrypted = true;
      k.encrypted_why = "an encrypted Word document (FIB fEncrypted)";
      return std::nullopt;
    }
    auto text = readHead(wd->input.get(), static_cast<std::size_t>(gsf_input_size(wd->input.get())));
    if (!text) return Failure{Reason::ParseMalformed, "the WordDocument stream cannot be read"};
    if (auto why = wordDangerousField(*text)) k.active_why = *why;
    const bool table1 = (le16(b + 0x0A) & 0x0200) != 0;  // fWhichTblStm
    if (const Node* tn = findChild(root, table1 ? "1Table" : "0Table", false)) {
      if (auto r = ctx.budget.chargeDecoded(tn->size)) return Failure{*r, "Word table stream"};
      auto table = readHead(tn->input.get(), tn->size);
      if (!table) return Failure{Reason::ParseMalformed, "the Word table stream cannot be read"};
      std::string tpl = wordTemplatePath(*text, *table);
      if (office::remoteTarget(tpl)) k.active_why = "a remote attached template (SttbfAssoc)";
    }
  }
  for (const char* wb : {"Workbook", "Book"}) {
    if (const Node* n = findChild(root, wb, false)) {
      auto enc = excelEncrypted(n->input.get());
      if (!enc) return Failure{Reason::ParseMalformed, "the Workbook stream cannot be read"};
      if (*enc) {
        k.encrypted = true;
        k.encrypted_why = "an encrypted Excel workbook (FILEPASS)";
        return std::nullopt;
      }
      if (auto why = excelExternalLink(n->input.get())) k.active_why = *why;
      else if (auto hl = excelHyperlinkFormula(n->input.get())) k.active_why = *hl;
      else if (auto xlm = excelMacroSheet(n->input.get())) k.active_why = *xlm;
    }
  }
  if (const Node* cu = findChild(root, "Current User", false)) {
    // CurrentUserAtom.headerToken at 12: 0xF3D1C4DF means the presentation is encrypted.
    auto head = readHead(cu->input.get(), 16);
    if (head && head->size() == 16 && le32(reinterpret_cast<const unsigned char*>(head->data()) + 12) == 0xF3D1C4DFu) {
      k.encrypted = true;
      k.encrypted_why = "an encrypted PowerPoint presentation (CurrentUserAtom)";
      return std::nullopt;
    }
  }
  if (const Node* pd = findChild(root, "PowerPoint Document", false)) {
    if (auto r = ctx.budget.chargeDecoded(pd->size)) return Failure{*r, "PowerPoint Document stream"};
    auto all = readHead(pd->input.get(), pd->size);
    if (!all) return Failure{Reason::ParseMalformed, "the PowerPoint Document stream cannot be read"};
    PptScan s;
    scanPpt(reinterpret_cast<const unsigned char*>(all->data()), all->size(), 0, s);
    if (s.encrypted) {
      k.encrypted = true;
      k.encrypted_why = "an encrypted PowerPoint presentation (CryptSession10Container)";
    } else if (s.vba || s.objects) {
      k.ppt_active = true;
      k.ppt_why = s.vba ? "a PowerPoint VBA project (VBAInfoContainer)"
                        : "PowerPoint embedded OLE objects or controls (ExOleObjStg)";
    }
  }
  return std::nullopt;
}

/// A stream we rewrote: the node reads from the new bytes from now on, so every check below
/// sees what will be written.
std::optional<Failure> replaceStream(Node& n, std::string bytes) {
  n.rewritten = std::move(bytes);
  n.size = n.rewritten.size();
  n.input.reset(gsf_input_memory_new(reinterpret_cast<const guint8*>(n.rewritten.data()),
                                     static_cast<gsf_off_t>(n.rewritten.size()), FALSE));
  if (!n.input) return Failure{Reason::CdrFailed, "libgsf cannot wrap the rewritten " + displayName(n.name)};
  return std::nullopt;
}

/// Excel: a Workbook stream with Excel 4.0 macro sheets is rewritten without them (xls.h).
/// A macro sheet we cannot cut out refuses the file (content.active).
std::optional<Failure> rewriteWorkbook(Node& root, MessageContext& ctx, std::vector<Finding>& findings) {
  for (Node& n : root.children) {
    if (n.storage || !(iequals(n.name, "Workbook") || iequals(n.name, "Book"))) continue;
    if (auto r = ctx.budget.chargeDecoded(n.size)) return Failure{*r, "Excel Workbook stream"};
    auto all = readHead(n.input.get(), n.size);
    if (!all) return Failure{Reason::ParseMalformed, "the Workbook stream cannot be read"};
    XlsMacroEdit e = removeXlsMacroSheets(*all);
    if (e.unchanged) continue;
    if (e.failure) return Failure{*e.failure, e.detail};
    if (auto f = replaceStream(n, std::move(e.stream))) return f;
    for (Finding& f : e.findings) findings.push_back(std::move(f));
  }
  return std::nullopt;
}

/// PowerPoint: a VBA project is cut out of the "PowerPoint Document" stream in place (ppt.h).
/// One that cannot be located refuses the file (content.active).
std::optional<Failure> rewritePresentation(Node& root, MessageContext& ctx, std::vector<Finding>& findings) {
  Node* pd = nullptr;
  for (Node& n : root.children)
    if (!n.storage && iequals(n.name, "PowerPoint Document")) pd = &n;
  if (!pd) return std::nullopt;
  const Node* cu = findChild(root, "Current User", false);
  if (auto r = ctx.budget.chargeDecoded(pd->size)) return Failure{*r, "PowerPoint Document stream"};
  auto doc = readHead(pd->input.get(), pd->size);
  if (!doc) return Failure{Reason::ParseMalformed, "the PowerPoint Document stream cannot be read"};
  std::string user;
  if (cu) {
    auto head = readHead(cu->input.get(), std::min<std::uint64_t>(cu->size, 4096));
    if (head) user = std::move(*head);
  }
  PptVbaEdit e = stripPptVba(*doc, user);
  if (e.unchanged) return std::nullopt;
  if (e.refused) return Failure{Reason::ContentActive, *e.refused + " cannot be cut out of the presentation"};
  if (auto f = replaceStream(*pd, std::move(e.stream))) return f;
  for (Finding& f : e.findings) findings.push_back(std::move(f));
  return std::nullopt;
}

/// Streams rewritten before the checks: what was cut out, and of which kind.
struct Rewrites {
  std::vector<Finding> findings;
  bool xlm = false;      ///< Excel 4.0 macro sheets were cut out
  bool ppt_vba = false;  ///< a PowerPoint VBA project was cut out
};

std::optional<Failure> rewriteStreams(Node& root, MessageContext& ctx, Rewrites& rw) {
  if (auto f = rewriteWorkbook(root, ctx, rw.findings)) return f;
  rw.xlm = !rw.findings.empty();
  const std::size_t before = rw.findings.size();
  if (auto f = rewritePresentation(root, ctx, rw.findings)) return f;
  rw.ppt_vba = rw.findings.size() > before;
  return std::nullopt;
}

std::optional<Failure> copy(const Node& node, GsfOutfile* out, MessageContext& ctx, std::string& buf) {
  for (const Node& c : node.children) {
    if (c.drop != Drop::Keep) continue;
    if (auto r = ctx.budget.checkDeadline()) return Failure{*r, {}};
    GPtr<GsfOutput> o(gsf_outfile_new_child(out, c.name.c_str(), c.storage));
    if (!o) return Failure{Reason::CdrFailed, "libgsf cannot create " + displayName(c.path)};
    if (c.storage) {
      if (c.has_clsid && GSF_IS_OUTFILE_MSOLE(o.get()))
        gsf_outfile_msole_set_class_id(GSF_OUTFILE_MSOLE(o.get()), c.clsid.data());
      if (auto f = copy(c, GSF_OUTFILE(o.get()), ctx, buf)) return f;
    } else {
      if (auto r = ctx.budget.chargeDecoded(c.size)) return Failure{*r, {}};
      GsfInput* in = c.input.get();
      if (gsf_input_seek(in, 0, G_SEEK_SET)) return Failure{Reason::CdrFailed, "seek " + displayName(c.path)};
      std::uint64_t left = c.size;
      while (left > 0) {
        std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
        if (!gsf_input_read(in, chunk, reinterpret_cast<guint8*>(buf.data())))
          return Failure{Reason::ParseMalformed, "cannot read stream " + displayName(c.path)};
        if (!gsf_output_write(o.get(), chunk, reinterpret_cast<const guint8*>(buf.data())))
          return Failure{Reason::CdrFailed, "libgsf cannot write " + displayName(c.path)};
        left -= chunk;
      }
    }
    if (!gsf_output_close(o.get())) return Failure{Reason::CdrFailed, "libgsf cannot close " + displayName(c.path)};
  }
  return std::nullopt;
}

Outcome failWith(const Failure& f) { return Outcome::fail(f.reason, f.detail); }

Outcome run(const Part& part, MessageContext& ctx, const Options& options) {
  if (auto f = office::precheckCompoundFile(part.data, ctx.limits)) return Outcome::fail(f->first, f->second);
  GError* err = nullptr;
  GPtr<GsfInput> input(gsf_input_memory_new(reinterpret_cast<const guint8*>(part.data.data()),
                                            static_cast<gsf_off_t>(part.data.size()), FALSE));
  if (!input) return Outcome::fail(Reason::CdrFailed, "libgsf cannot wrap the input");
  GPtr<GsfInfile> ole(gsf_infile_msole_new(input.get(), &err));
  if (!ole) {
    std::string why = err && err->message ? err->message : "not a compound file";
    if (err) g_error_free(err);
    return Outcome::fail(Reason::ParseMalformed, "OLE2: " + displayName(why));
  }
  Node root;
  if (GSF_IS_INFILE_MSOLE(ole.get()))
    root.has_clsid = gsf_infile_msole_get_class_id(GSF_INFILE_MSOLE(ole.get()), root.clsid.data());
  Walk w{ctx.limits, options.max_storage_depth};
  if (auto f = walk(ole.get(), root, 0, w)) return failWith(*f);
  // Shared sector chains can make a small file claim huge streams (a "sector bomb").
  if (w.total > (1u << 20) && w.total / std::max<std::size_t>(part.data.size(), 1) > ctx.limits.expansion_ratio_limit)
    return Outcome::fail(Reason::LimitExpansionRatio, "streams claim far more bytes than the file holds");

  if (looksLikeInstaller(root))
    return Outcome::fail(Reason::ContentActive, "a Windows Installer package, not a document");
  Rewrites rw;
  if (auto f = rewriteStreams(root, ctx, rw)) return failWith(*f);
  std::vector<Finding> findings = std::move(rw.findings);
  Checks k;
  if (auto f = checkRoot(root, ctx, k)) return failWith(*f);
  if (k.encrypted) return Outcome::fail(Reason::ContentEncrypted, k.encrypted_why);
  if (k.ppt_active) return Outcome::fail(Reason::ContentActive, k.ppt_why + " cannot be cut out of the presentation");
  if (!k.active_why.empty())
    return Outcome::fail(Reason::ContentActive, k.active_why + " cannot be cut out of the document");

  bool ambiguous = false;
  std::optional<Format> format = knownFormat(root, &ambiguous);
  if (ambiguous)
    return Outcome::fail(Reason::ParseMalformed, "more than one of WordDocument, Workbook and PowerPoint Document");
  if (!format)
    return Outcome::fail(Reason::TypeRemoved,
                         describeUnknown(root) + ": not a Word, Excel or PowerPoint document");

  classify(root, true);
  keepPlainOleStreams(root);
  dropUnneeded(root, *format);
  Collected collected;
  collectFindings(root, findings, collected);
  if (collected.more > 0)
    findings.push_back({"removed_object", std::to_string(collected.more) + " more streams (not hashed)"});
  const bool macros = collected.macros;
  if ((macros || rw.xlm || rw.ppt_vba) && options.remove_on_macros) {
    Outcome o = Outcome::fail(Reason::ContentActive, std::string(macros || rw.ppt_vba ? "VBA project" : "Excel 4.0 macro sheet") +
                                                         " present (macros: remove)");
    o.findings = std::move(findings);
    return o;
  }

  GPtr<GsfOutput> sink(gsf_output_memory_new());
  GPtr<GsfOutfile> outfile(sink ? gsf_outfile_msole_new(sink.get()) : nullptr);
  if (!outfile) return Outcome::fail(Reason::CdrFailed, "libgsf cannot create the output");
  if (root.has_clsid) gsf_outfile_msole_set_class_id(GSF_OUTFILE_MSOLE(outfile.get()), root.clsid.data());
  std::string buf(1 << 16, '\0');
  if (auto f = copy(root, outfile.get(), ctx, buf)) return failWith(*f);
  if (!gsf_output_close(GSF_OUTPUT(outfile.get()))) return Outcome::fail(Reason::CdrFailed, "libgsf cannot finish the output");
  gsf_off_t out_size = gsf_output_size(sink.get());
  const guint8* bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(sink.get()));
  if (out_size <= 0 || !bytes) return Outcome::fail(Reason::CdrFailed, "libgsf produced no output");

  Part next = replacedPart(
      part, std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(out_size)));
  // The rebuild always changes bytes (fresh allocation, no slack, nothing unreachable), so it is
  // always a replacement; "rebuilt" only when a storage or stream went, "converted" (a fresh
  // compound file with the same streams) otherwise.
  bool changed = !findings.empty();
  Outcome o = Outcome::replace(std::move(next), changed ? Reason::CdrRebuilt : Reason::CdrConverted);
  if (!changed)
    findings.push_back({"applied", std::string(formatName(*format)) +
                                       " compound file written anew: every stream kept, unallocated space dropped"});
  o.findings = std::move(findings);
  return o;
}

}  // namespace

Outcome Ole2Sanitizer::apply(const Part& part, MessageContext& ctx) const {
  try {
    return run(part, ctx, options_);
  } catch (const std::exception& e) {
    return Outcome::fail(Reason::CdrFailed, std::string("OLE2 rebuild: ") + e.what());
  } catch (...) {
    return Outcome::fail(Reason::CdrFailed, "OLE2 rebuild failed");
  }
}

std::string writeCompoundFile(const std::vector<CompoundEntry>& entries) {
  office::initGsf();
  GPtr<GsfOutput> sink(gsf_output_memory_new());
  GPtr<GsfOutfile> root(gsf_outfile_msole_new(sink.get()));
  if (!root) return {};
  std::map<std::string, GsfOutfile*> dirs{{"", root.get()}};
  std::vector<GPtr<GsfOutput>> open;  // storages, closed children-first at the end
  auto storage = [&](const std::string& path, auto& self) -> GsfOutfile* {
    auto it = dirs.find(path);
    if (it != dirs.end()) return it->second;
    auto slash = path.rfind('/');
    GsfOutfile* parent = self(slash == std::string::npos ? std::string() : path.substr(0, slash), self);
    std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    GsfOutput* o = gsf_outfile_new_child(parent, leaf.c_str(), TRUE);
    open.emplace_back(o);
    dirs[path] = GSF_OUTFILE(o);
    return GSF_OUTFILE(o);
  };
  for (const CompoundEntry& e : entries) {
    if (e.is_storage) {
      storage(e.path, storage);
      continue;
    }
    auto slash = e.path.rfind('/');
    GsfOutfile* parent = storage(slash == std::string::npos ? std::string() : e.path.substr(0, slash), storage);
    std::string leaf = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
    GPtr<GsfOutput> s(gsf_outfile_new_child(parent, leaf.c_str(), FALSE));
    if (!s) return {};
    if (!e.data.empty() && !gsf_output_write(s.get(), e.data.size(), reinterpret_cast<const guint8*>(e.data.data())))
      return {};
    gsf_output_close(s.get());
  }
  for (auto it = open.rbegin(); it != open.rend(); ++it) gsf_output_close(it->get());
  gsf_output_close(GSF_OUTPUT(root.get()));
  gsf_off_t size = gsf_output_size(sink.get());
  const guint8* bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(sink.get()));
  if (size <= 0 || !bytes) return {};
  return std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
}

std::optional<std::string> readCompoundStream(std::string_view file, const std::string& name) {
  office::initGsf();
  GPtr<GsfInput> input(gsf_input_memory_new(reinterpret_cast<const guint8*>(file.data()),
                                            static_cast<gsf_off_t>(file.size()), FALSE));
  if (!input) return std::nullopt;
  GPtr<GsfInfile> ole(gsf_infile_msole_new(input.get(), nullptr));
  if (!ole) return std::nullopt;
  GPtr<GsfInput> child(gsf_infile_child_by_name(ole.get(), name.c_str()));
  if (!child) return std::nullopt;
  return readHead(child.get(), static_cast<std::uint64_t>(gsf_input_size(child.get())));
}

}  // namespace mugai::sanitizers::ole2
