// sanitizer.pdf, rebuild mode: qpdf parses the document, every object (reachable or not) is
// scrubbed by key and by action/annotation type, and qpdf writes what is left.
//
// Trust: every object, name, string and count comes from the sender; the object graph may have
//        cycles (we never follow indirect references while walking: each indirect object is visited
//        once from QPDF::getAllObjects(), and only its direct children are walked, depth-bounded).
// Limits: document_object_limit (limit.document_objects) before and after qpdf builds its object
//         table; deadline every 256 objects and inside the writer (limit.time); the input size is
//         charged for qpdf's in-memory model and the output size before it is kept.
// Errors: qpdf exceptions -> cdr.failed, a wrong password -> content.encrypted, no pages after
//         recovery -> cdr.failed. Nothing escapes.
#include <cctype>
#include <map>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <set>

#include "mugai/core/digest.h"
#include "sanitizers/pdf/pdf.h"
#include "sanitizers/pdf/prescan.h"
#include "sanitizers/pdf/qpdf_support.h"

namespace mugai::sanitizers::pdf {
namespace {

/// Deeper nesting of direct objects than this is refused (qpdf itself stops at 500); real files
/// nest direct dictionaries a handful of levels.
constexpr int kMaxDirectDepth = 100;

struct TooDeep {};

/// Counts the decoded bytes of a page content stream and throws once they pass the limit, so a
/// flate bomb in a content stream stops early instead of inflating to the end.
class BoundedDiscard : public Pipeline {
 public:
  BoundedDiscard(std::uint64_t limit, const Budget& budget)
      : Pipeline("content check", nullptr), limit_(limit), budget_(budget) {}
  void write(unsigned char const*, size_t len) override {
    total_ += len;
    if (total_ > limit_) throw BudgetHit{Reason::LimitExpandedSize};
    if ((total_ >> 24) != checked_) {  // every 16 MiB
      checked_ = total_ >> 24;
      if (auto r = budget_.checkDeadline()) throw BudgetHit{*r};
    }
  }
  void finish() override {}

 private:
  std::uint64_t limit_, total_ = 0, checked_ = 0;
  const Budget& budget_;
};

/// Hashes a stream's data as qpdf pipes it (decoded), counting like BoundedDiscard: past the
/// limit it gives up (Over) and the object is listed without a hash rather than inflated on.
class HashSink : public Pipeline {
 public:
  struct Over {};
  HashSink(std::uint64_t limit, const Budget& budget)
      : Pipeline("object hash", nullptr), limit_(limit), budget_(budget) {}
  void write(unsigned char const* data, size_t len) override {
    total_ += len;
    if (total_ > limit_) throw Over{};
    if ((total_ >> 24) != checked_) {  // every 16 MiB
      checked_ = total_ >> 24;
      if (auto r = budget_.checkDeadline()) throw BudgetHit{*r};
    }
    hash_.update(data, len);
  }
  void finish() override {}
  std::string hex() { return hash_.hex(); }

 private:
  std::uint64_t limit_, total_ = 0, checked_ = 0;
  const Budget& budget_;
  Sha256 hash_;
};

/// SHA-256 of a stream's data, decoded through its standard filters (as stored when its filters
/// are not ones qpdf decodes); "" when it does not decode or passes expanded_size_limit.
std::string streamSha256(QPDFObjectHandle st, MessageContext& ctx) {
  HashSink sink(ctx.limits.expanded_size_limit, ctx.budget);
  try {
    bool attempted = false;
    if (!st.pipeStreamData(&sink, &attempted, 0, qpdf_dl_generalized, true, false)) return {};
  } catch (const HashSink::Over&) {
    return {};
  } catch (const std::exception&) {  // qpdf's own; BudgetHit (the deadline) goes on up
    return {};
  }
  return sink.hex();
}

/// The bytes a removed object carries, hashed: a script (/JS, a string or a stream), an
/// embedded file (/EF's /F or /UF stream, the /EmbeddedFile stream itself, a file attachment
/// annotation's /FS), a launched
/// program (/Launch's /F or /Win /F string). "" for what has none of its own (an /AA
/// dictionary, a names tree, an annotation without a file).
std::string payloadSha256(QPDFObjectHandle v, MessageContext& ctx, int depth = 0) {
  if (depth > 4) return {};
  if (v.isStream()) return streamSha256(v, ctx);
  if (v.isString()) return sha256Hex(v.getStringValue());
  if (!v.isDictionary()) return {};
  if (v.hasKey("/JS")) return payloadSha256(v.getKey("/JS"), ctx, depth + 1);
  if (v.hasKey("/EF")) return payloadSha256(v.getKey("/EF"), ctx, depth + 1);
  if (v.hasKey("/FS")) return payloadSha256(v.getKey("/FS"), ctx, depth + 1);  // a file attachment annotation
  for (const char* k : {"/F", "/UF"}) {  // an /EF dictionary: the file's stream
    if (QPDFObjectHandle f = v.getKey(k); f.isStream()) return streamSha256(f, ctx);
  }
  QPDFObjectHandle s = v.getKey("/S");
  if (s.isName() && s.getName() == "/Launch") {
    for (QPDFObjectHandle spec : {v.getKey("/F"), v.getKey("/Win").isDictionary()
                                                      ? v.getKey("/Win").getKey("/F")
                                                      : QPDFObjectHandle::newNull()}) {
      if (spec.isString()) return sha256Hex(spec.getStringValue());
      if (spec.isDictionary()) return payloadSha256(spec, ctx, depth + 1);
    }
  }
  return {};
}

/// Page content that cannot be decoded would come out as a blank or half page: the document is
/// damaged beyond what a rebuild should hide, so it fails closed. Only the page content streams
/// are decoded (into a counter, nothing kept); images and fonts are never touched.
/// @return the 1-based number of the first page whose content does not decode, or 0.
std::size_t firstUndecodablePage(std::vector<QPDFPageObjectHelper>& pages, MessageContext& ctx) {
  BoundedDiscard sink(ctx.limits.expanded_size_limit, ctx.budget);
  for (std::size_t i = 0; i < pages.size(); ++i) {
    if (auto r = ctx.budget.checkDeadline()) throw BudgetHit{*r};
    QPDFObjectHandle contents = pages[i].getObjectHandle().getKey("/Contents");
    std::vector<QPDFObjectHandle> streams;
    if (contents.isStream()) {
      streams.push_back(contents);
    } else if (contents.isArray()) {
      streams = contents.getArrayAsVector();
    }
    for (auto& st : streams) {
      if (!st.isStream()) continue;
      bool attempted = false;
      if (!st.pipeStreamData(&sink, &attempted, 0, qpdf_dl_generalized, true, false)) return i + 1;
    }
  }
  return 0;
}

/// Action types (/S) that run code, reach outside the document, send or load data, or play media.
/// GoTo, Named, Hide, SetOCGState, Trans, Thread within the document and (by default) URI stay:
/// they only navigate. A Thread action with /F opens another file (badKind).
const std::set<std::string>& badActions() {
  static const std::set<std::string> s = {
      "/JavaScript", "/Launch",    "/SubmitForm", "/ImportData", "/ResetForm",  "/GoToR",
      "/GoToE",      "/Rendition", "/Sound",      "/Movie",      "/GoTo3DView", "/RichMediaExecute",
      "/ECMAScript"};
  return s;
}

/// Annotation subtypes that carry media, 3D, attachments or scripts; removed whole.
const std::set<std::string>& badAnnotations() {
  static const std::set<std::string> s = {"/RichMedia", "/3D",    "/FileAttachment",
                                          "/Screen",    "/Movie", "/Sound"};
  return s;
}

/// A /URI target that only opens a web page or a mail form. Anything else (file:, UNC paths
/// that leak NTLM credentials, javascript:, data:, custom app schemes) goes even with links: keep.
bool webLink(QPDFObjectHandle uri) {
  if (!uri.isString()) return false;
  std::string u = uri.getStringValue();
  std::size_t i = 0;
  while (i < u.size() && (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' || u[i] == '\n')) ++i;
  std::string head;
  for (; i < u.size() && head.size() < 8; ++i)
    head.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(u[i]))));
  return head.rfind("http://", 0) == 0 || head.rfind("https://", 0) == 0 ||
         head.rfind("mailto:", 0) == 0;
}

class Scrubber {
 public:
  Scrubber(QPDF& pdf, const Options& options, MessageContext& ctx, RemovedLog& log)
      : pdf_(pdf), options_(options), ctx_(ctx), log_(log) {}

  void run(const std::vector<QPDFPageObjectHelper>& pages) {
    for (std::size_t i = 0; i < pages.size(); ++i)
      pageIndex_[pages[i].getObjectHandle().getObjGen()] = i + 1;
    root_ = pdf_.getRoot().getObjGen();
    std::vector<QPDFObjectHandle> all = pdf_.getAllObjects();
    if (all.size() > ctx_.limits.document_object_limit)
      throw BudgetHit{Reason::LimitDocumentObjects};
    scrubDict(pdf_.getTrailer(), 0, QPDFObjGen());
    std::size_t n = 0;
    for (QPDFObjectHandle& oh : all) {
      if ((++n & 255) == 0) {
        if (auto r = ctx_.budget.checkDeadline()) throw BudgetHit{*r};
      }
      if (oh.isStream() || oh.isDictionary()) {
        QPDFObjectHandle dict = oh.isStream() ? oh.getDict() : oh;
        std::string kind = badKind(dict);
        if (!kind.empty()) {
          // Indirect: every reference to it, wherever it is (names trees, outlines, /Next
          // chains, unknown keys), now points to null.
          logOnce(oh, kind, kind);
          pdf_.replaceObject(oh.getObjGen(), QPDFObjectHandle::newNull());
          continue;
        }
        if (oh.isStream()) dropExternalStreamData(dict);
        scrubDict(dict, 0, oh.getObjGen());
      } else if (oh.isArray()) {
        scrubArray(oh, 0, oh.getObjGen(), false);
      }
    }
  }

 private:
  /// Why a dictionary (or a stream's dictionary) must go as a whole; "" when it may stay.
  std::string badKind(QPDFObjectHandle d) const {
    if (d.isStream()) d = d.getDict();
    if (!d.isDictionary()) return {};
    QPDFObjectHandle s = d.getKey("/S");
    if (s.isName()) {
      std::string a = s.getName();
      if (badActions().count(a)) return a.substr(1) + " action";
      if (a == "/URI" && (options_.remove_links || !webLink(d.getKey("/URI")))) return "URI action";
      if (a == "/Thread" && d.hasKey("/F")) return "Thread action to another file";
    }
    if (d.hasKey("/JS")) return "JavaScript action";
    QPDFObjectHandle sub = d.getKey("/Subtype");
    if (sub.isName() && badAnnotations().count(sub.getName())) {
      QPDFObjectHandle type = d.getKey("/Type");
      if (!type.isName() || type.getName() == "/Annot")
        return sub.getName().substr(1) + " annotation";
    }
    QPDFObjectHandle type = d.getKey("/Type");
    if (type.isName() && type.getName() == "/EmbeddedFile") return "embedded file stream";
    // PostScript XObjects (and forms carrying a PostScript alternative) run code on printers.
    QPDFObjectHandle sub2 = d.getKey("/Subtype2");
    if ((sub.isName() && sub.getName() == "/PS") || (sub2.isName() && sub2.getName() == "/PS"))
      return "PostScript XObject";
    return {};
  }

  /// A stream whose data lives in another file (/F file specification, PDF 32000 7.3.8.2: a URL
  /// file spec makes the reader fetch it): /F, /FFilter and /FDecodeParms go, the stream keeps
  /// the (usually empty) data it holds itself.
  void dropExternalStreamData(QPDFObjectHandle dict) {
    if (!dict.hasKey("/F")) return;
    for (const char* k : {"/F", "/FFilter", "/FDecodeParms"}) dict.removeKey(k);
    log_.add("external stream data", "external stream data (/F)");
  }

  /// "catalog", "page 3", "annotation on page 3" or "" for the report.
  std::string where(const QPDFObjGen& owner, QPDFObjectHandle dict) const {
    if (owner == root_) return "catalog";
    if (auto it = pageIndex_.find(owner); it != pageIndex_.end())
      return "page " + std::to_string(it->second);
    QPDFObjectHandle p = dict.getKey("/P");
    if (p.isIndirect()) {
      if (auto it = pageIndex_.find(p.getObjGen()); it != pageIndex_.end())
        return "annotation on page " + std::to_string(it->second);
    }
    return {};
  }

  /// One finding per removed object: an indirect action or annotation is met once where it is
  /// referenced (with its page) and once on its own in getAllObjects(); count it once.
  void logOnce(QPDFObjectHandle object, const std::string& kind, const std::string& detail) {
    const QPDFObjGen og = object.getObjGen();
    if (og.isIndirect() && !logged_.insert(og).second) return;
    log_.add(kind, detail, payloadSha256(object, ctx_));
  }

  static std::string on(const std::string& what, const std::string& place) {
    return place.empty() ? what : what + " on " + place;
  }

  /// Removes the key `key` of `d` if it is one we never keep. @return true when removed.
  bool dropKey(QPDFObjectHandle d, const std::string& key, const QPDFObjGen& owner) {
    std::string kind;
    std::string detail;
    if (key == "/JS") {
      kind = detail = "JavaScript";
    } else if (key == "/AA") {
      kind = "/AA";
      detail = on("/AA", where(owner, d));
    } else if (key == "/OpenAction") {
      kind = detail = "/OpenAction";
    } else if (key == "/JavaScript") {
      kind = detail = "/JavaScript (names tree)";
    } else if (key == "/EmbeddedFiles") {
      kind = detail = "/EmbeddedFiles (names tree)";
    } else if (key == "/XFA") {
      kind = detail = "/XFA (XML form)";
    } else if (key == "/NeedsRendering") {
      kind = detail = "/NeedsRendering (XFA)";
    } else if (key == "/AF") {
      kind = detail = "/AF (associated files)";
    } else if (key == "/EF") {
      kind = "embedded file";
      QPDFObjectHandle name = d.getKey("/UF");
      if (!name.isString()) name = d.getKey("/F");
      detail =
          name.isString() ? "embedded file " + reportable(name.getUTF8Value()) : "embedded file";
    } else if (key == "/RichMediaContent" || key == "/RichMediaSettings" || key == "/3DD") {
      kind = detail = key;
    } else if (key == "/Ref" || key == "/OPI") {
      // A reference XObject's page from another file, an OPI proxy's full image from another
      // file (PDF 32000 8.10.4, 14.11.7): a file specification the reader or printer fetches.
      kind = "external file reference";
      detail = on(key + " (content from another file)", where(owner, d));
    } else {
      return false;
    }
    QPDFObjectHandle removed = d.getKey(key);
    d.removeKey(key);
    if (key == "/AA" && removed.isDictionary()) {
      // Several actions, no bytes of its own: the entry is named, each script it held hashed.
      log_.add(kind, detail);
      for (const std::string& trigger : removed.getKeys()) {
        std::string sha = payloadSha256(removed.getKey(trigger), ctx_);
        if (!sha.empty()) log_.addObject(detail + " " + reportable(trigger), sha);
      }
      return true;
    }
    log_.add(kind, detail, key == "/JavaScript" || key == "/EmbeddedFiles" || key == "/AF"
                               ? std::string()  // a names tree or a list: its entries are objects
                               : payloadSha256(removed, ctx_));
    return true;
  }

  void scrubDict(QPDFObjectHandle d, int depth, const QPDFObjGen& owner) {
    if (depth > kMaxDirectDepth) throw TooDeep{};
    for (const std::string& key : d.getKeys()) {
      if (dropKey(d, key, owner)) continue;
      QPDFObjectHandle v = d.getKey(key);
      if (v.isDictionary() || v.isStream()) {
        std::string kind = badKind(v);
        if (!kind.empty()) {
          d.removeKey(key);
          logOnce(v, kind, on(kind, where(owner, d)));
        } else if (!v.isIndirect()) {
          scrubDict(v, depth + 1, owner);
        }
      } else if (v.isArray()) {
        // An indirect array is also visited on its own; /Annots still needs its nulls dropped.
        if (!v.isIndirect() || key == "/Annots") scrubArray(v, depth + 1, owner, key == "/Annots");
      }
    }
  }

  void scrubArray(QPDFObjectHandle a, int depth, const QPDFObjGen& owner, bool annots) {
    if (depth > kMaxDirectDepth) throw TooDeep{};
    for (int i = a.getArrayNItems() - 1; i >= 0; --i) {
      QPDFObjectHandle e = a.getArrayItem(i);
      if (e.isDictionary() || e.isStream()) {
        std::string kind = badKind(e);
        if (!kind.empty()) {
          a.eraseItem(i);
          logOnce(e, kind, on(kind, where(owner, e)));
        } else if (!e.isIndirect()) {
          scrubDict(e, depth + 1, owner);
        }
      } else if (annots && e.isNull()) {
        a.eraseItem(i);  // an annotation we nulled (or a dangling reference): leave no hole
      } else if (e.isArray() && !e.isIndirect()) {
        scrubArray(e, depth + 1, owner, false);
      }
    }
  }

  QPDF& pdf_;
  const Options& options_;
  MessageContext& ctx_;
  RemovedLog& log_;
  std::map<QPDFObjGen, std::size_t> pageIndex_;
  std::set<QPDFObjGen> logged_;
  QPDFObjGen root_;
};

}  // namespace

Outcome rebuildPdf(const Part& part, const Options& options, MessageContext& ctx) {
  // qpdf keeps its object model (and decrypted strings) in memory: about the input's size.
  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  // Before qpdf sees it: qpdf 11.3 would build whatever xref table the file declares.
  if (std::uint64_t declared = declaredObjectCount(part.data);
      declared > ctx.limits.document_object_limit + 1)
    return Outcome::fail(Reason::LimitDocumentObjects,
                         "pdf: declares " + std::to_string(declared) + " objects");
  RemovedLog log;
  std::string output;
  bool decrypted = false;
  std::size_t page_count = 0;
  try {
    QPDF pdf;
    makeQuiet(pdf);
    // The empty password: a document that opens without asking is decrypted and rebuilt in the
    // clear; one that needs a password throws qpdf_e_password.
    pdf.processMemoryFile(part.path.empty() ? "pdf" : part.path.c_str(), part.data.data(),
                          part.data.size(), "");
    decrypted = pdf.isEncrypted();
    // The highest object number (qpdf 11.3 resolves the xref table to answer; the pre-scan above
    // bounded what it could declare). Checked before our own walk and the writer.
    if (pdf.getObjectCount() > ctx.limits.document_object_limit)
      return Outcome::fail(Reason::LimitDocumentObjects,
                           "pdf: " + std::to_string(pdf.getObjectCount()) + " objects");
    std::vector<QPDFPageObjectHelper> pages = QPDFPageDocumentHelper(pdf).getAllPages();
    if (pages.empty()) return Outcome::fail(Reason::CdrFailed, "pdf: no pages");
    page_count = pages.size();
    if (std::size_t bad = firstUndecodablePage(pages, ctx))
      return Outcome::fail(Reason::CdrFailed,
                           "pdf: the content of page " + std::to_string(bad) + " is damaged");

    Scrubber(pdf, options, ctx, log).run(pages);

    QPDFWriter w(pdf);
    // The rebuild is about as large as the input: one allocation, written once.
    output.reserve(part.data.size() + part.data.size() / 16 + 4096);
    StringSink sink(output);
    w.setOutputPipeline(&sink);
    w.setObjectStreamMode(qpdf_o_preserve);
    // Copy stream data as it is: no decoding, no recompression (speed, and fidelity of images).
    w.setStreamDataMode(qpdf_s_preserve);
    w.setPreserveEncryption(false);
    w.setLinearization(false);
    w.registerProgressReporter(deadlineReporter(ctx.budget));
    w.write();
  } catch (const BudgetHit& hit) {
    return Outcome::fail(hit.reason, "pdf: limit reached while rebuilding");
  } catch (const TooDeep&) {
    return Outcome::fail(Reason::CdrFailed, "pdf: objects nested too deeply");
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password)
      return Outcome::fail(Reason::ContentEncrypted, "pdf: a password is needed to open it");
    return Outcome::fail(Reason::CdrFailed, "pdf: qpdf: " + reportable(e.getMessageDetail(), 160));
  } catch (const std::exception& e) {
    return Outcome::fail(Reason::CdrFailed, "pdf: qpdf: " + reportable(e.what(), 160));
  }
  if (output.empty()) return Outcome::fail(Reason::CdrFailed, "pdf: empty output");
  if (auto r = ctx.budget.chargeDecoded(output.size())) return Outcome::fail(*r);

  Part next = replacedPart(part, std::move(output));
  Outcome o = Outcome::replace(std::move(next), Reason::CdrRebuilt);
  o.findings.push_back({"pages", std::to_string(page_count)});
  if (decrypted) o.findings.push_back({"decrypted", "empty user password"});
  log.appendTo(o.findings);
  if (log.empty()) o.findings.push_back({"active_content", "none"});
  return o;
}

}  // namespace mugai::sanitizers::pdf
