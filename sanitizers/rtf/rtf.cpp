// sanitizer.rtf: see rtf.h and README.md.
//
// One pass over the input with an explicit group stack. Every token we keep is copied verbatim;
// a group is written to the output as it is read and, when it closes and turns out to be
// dangerous, the output is cut back to where the group began (out.resize), which keeps the
// whole rebuild linear however deep the nesting. A group is dangerous when a dangerous control
// word appears ANYWHERE directly inside it (not only first: Word is lenient about what precedes
// a destination, and malicious RTF exploits that).
#include "sanitizers/rtf/rtf.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "mugai/core/digest.h"
#include "src/office/field_code.h"

namespace mugai::sanitizers::rtf {
namespace {

constexpr std::size_t kMaxWordLetters = 32;  // RTF 1.9.1: "a control word ... 32 characters"
constexpr std::size_t kMaxParamDigits = 10;
constexpr std::size_t kMaxCollected = 4096;  // field instruction / object class text kept

enum class Kind { Plain, Object, ObjClass, ObjData, Field, FldInst, FldRslt, Result, Pict, Sp, Sn, Sv };

/// Groups whose text is collected for a decision: field instructions, object classes, shape
/// property names and values.
bool collects(Kind k) { return k == Kind::FldInst || k == Kind::ObjClass || k == Kind::Sn || k == Kind::Sv; }

struct Frame {
  std::size_t out_start = 0;    // where '{' was written
  std::size_t inner_start = 0;  // Result/FldRslt: output position after the destination word
  Kind kind = Kind::Plain;
  bool drop = false;
  std::string drop_word;  // the control word that condemned the group
  bool in_pict = false;   // this group or an ancestor is a \pict
  bool nested_field = false;  // Field: its instruction holds another field (computed)
  int collect = -1;       // index of the FldInst/ObjClass frame collecting text, or -1
  std::string text;       // FldInst/ObjClass/Field/Sn/Sv: collected text; Sp: its \sv
  std::string sn;         // Sp: its \sn (property name)
  std::string saved;      // Object: inner \result output; Field: inner \fldrslt output
  bool has_saved = false;
  std::string objdata_sha;  // Object (or a stray \objdata group): SHA-256 of its \objdata bytes
};

bool isDangerousWord(std::string_view w) {
  static constexpr std::array<std::string_view, 22> kWords = {
      "object",  "objdata",  "objemb",  "objlink",  "objautlink", "objupdate", "objclass", "objname",
      "objocx",  "objhtml",  "objicemb", "objpub",  "objsub",     "objalias",  "objsect",  "objsetsize",
      "oleclsid", "datastore", "template", "mailmerge", "linkself", "objattph"};
  if (std::find(kWords.begin(), kWords.end(), w) != kWords.end()) return true;
  // Mail merge data sources open connections (\mmconnectstr, \mmquery, \mmdatasource,
  // \mmodso...). Not every "mm" word: Office Math's \mmathPr, \mmathFont stay.
  return w.starts_with("mmconnectstr") || w == "mmdatasource" || w == "mmheadersource" || w == "mmquery" ||
         w.starts_with("mmodso");
}

/// Shape properties that name a picture file the reader loads (linked picture, fill picture).
bool linkedPictureProperty(std::string_view sn) {
  std::string l;
  for (char c : sn) {
    if (std::isalpha(static_cast<unsigned char>(c))) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return l == "pibname" || l == "fillblipname" || l == "pibfullname" || l == "fillblipfullname";
}

/// The first word of a field instruction, upper-cased (letters only).
std::string firstWord(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && !std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  std::string w;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])) && w.size() < 32)
    w += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i++])));
  return w;
}

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') out += c;
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Rebuilder {
 public:
  Rebuilder(std::string_view in, const Options& o, const Budget* b) : in_(in), opt_(o), budget_(b) {}

  RebuildResult run() {
    RebuildResult r;
    std::size_t lead = 0;
    if (in_.size() >= 3 && std::memcmp(in_.data(), "\xEF\xBB\xBF", 3) == 0) lead = 3;
    if (in_.substr(lead, 5) != "{\\rtf") return fail(Reason::ParseMalformed, "does not start with {\\rtf");
    out_.reserve(in_.size());
    pos_ = lead;
    std::uint64_t tokens = 0;
    while (pos_ < in_.size() && !done_) {
      if ((++tokens & 0xFFFF) == 0 && budget_ && budget_->checkDeadline())
        return fail(Reason::LimitTime, "RTF rebuild ran out of time");
      char c = in_[pos_];
      bool ok = c == '{' ? open() : c == '}' ? close() : c == '\\' ? control() : text();
      if (!ok) return fail(Reason::CdrFailed, error_);
    }
    if (!done_) {  // ran out of input with groups open
      if (stack_.size() > static_cast<std::size_t>(opt_.max_unclosed))
        return fail(Reason::CdrFailed, std::to_string(stack_.size()) + " groups left open");
      while (!stack_.empty()) closeFrame();
    }
    std::size_t trailing = 0;
    for (std::size_t i = pos_; i < in_.size(); ++i)
      if (!std::isspace(static_cast<unsigned char>(in_[i])) && in_[i] != '\0') ++trailing;
    if (trailing) findings_.push_back({"removed", "data after the end of the document (" + std::to_string(in_.size() - pos_) + " bytes)"});
    if (garbage_ > 16 + in_.size() / 1000)
      return fail(Reason::CdrFailed, "binary garbage in the text (" + std::to_string(garbage_) + " control bytes)");
    if (out_.empty()) return fail(Reason::CdrFailed, "nothing left once the document root was removed");
    if (bin_bytes_ || bin_count_)
      findings_.push_back({"removed", "\\bin data outside pictures (" + std::to_string(bin_count_) + " runs, " +
                                          std::to_string(bin_bytes_) + " bytes)"});
    r.ok = true;
    r.rtf = std::move(out_);
    r.findings = std::move(findings_);
    return r;
  }

 private:
  RebuildResult fail(Reason reason, std::string detail) {
    RebuildResult r;
    r.reason = reason;
    r.detail = std::move(detail);
    return r;
  }

  Frame* top() { return stack_.empty() ? nullptr : &stack_.back(); }

  void startObjData() {
    stack_.back().kind = Kind::ObjData;
    objdata_.emplace();
    objdata_depth_ = stack_.size();
    nibble_ = -1;
  }

  /// One character of \objdata text: hex digits pair into bytes (readers skip anything else).
  void hexDigit(char c) {
    int v = hexValue(c);
    if (v < 0) return;
    if (nibble_ < 0) {
      nibble_ = v;
      return;
    }
    objbuf_.push_back(static_cast<char>(nibble_ * 16 + v));
    nibble_ = -1;
    if (objbuf_.size() >= 4096) flushObjData();
  }

  void flushObjData() {
    objdata_->update(objbuf_);
    objbuf_.clear();
  }

  /// True when the group being read will vanish anyway (an ancestor is dropped or an object).
  bool insideRemoved() const {
    for (const Frame& f : stack_)
      if (f.drop || f.kind == Kind::Object) return true;
    return false;
  }

  bool open() {
    if (stack_.size() >= static_cast<std::size_t>(opt_.max_depth)) {
      error_ = "groups nested deeper than " + std::to_string(opt_.max_depth);
      return false;
    }
    Frame f;
    f.out_start = out_.size();
    if (Frame* p = top()) {
      f.in_pict = p->in_pict;
      f.collect = collects(p->kind) ? static_cast<int>(stack_.size() - 1) : p->collect;
    }
    stack_.push_back(std::move(f));
    out_ += '{';
    ++pos_;
    return true;
  }

  bool close() {
    ++pos_;
    if (stack_.empty()) return true;  // cannot happen: parsing stops when the root closes
    closeFrame();
    if (stack_.empty()) done_ = true;
    return true;
  }

  void closeFrame() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    out_ += '}';
    Frame* p = top();
    if (f.kind == Kind::ObjData && objdata_ && objdata_depth_ == stack_.size() + 1) {
      flushObjData();
      f.objdata_sha = objdata_->hex();
      objdata_.reset();
      if (p && p->kind == Kind::Object) p->objdata_sha = std::move(f.objdata_sha);
    }
    if (p) {
      if (f.kind == Kind::Result && p->kind == Kind::Object && !f.drop) {
        p->saved.assign(out_, f.inner_start, out_.size() - 1 - f.inner_start);
        p->has_saved = true;
      } else if (f.kind == Kind::FldRslt && p->kind == Kind::Field && !f.drop) {
        p->saved.assign(out_, f.inner_start, out_.size() - 1 - f.inner_start);
        p->has_saved = true;
      } else if (f.kind == Kind::ObjClass && p->kind == Kind::Object) {
        p->text = f.text;
      } else if (f.kind == Kind::Sn && p->kind == Kind::Sp) {
        p->sn = f.text;
      } else if (f.kind == Kind::Sv && p->kind == Kind::Sp) {
        p->text = f.text;
      } else if (f.kind == Kind::FldInst && p->kind == Kind::Field) {
        p->text += f.text;
        p->nested_field = p->nested_field || f.nested_field;
      }
      if (f.kind == Kind::Field && f.collect >= 0) stack_[static_cast<std::size_t>(f.collect)].nested_field = true;
    }
    bool quiet = insideRemoved();  // an enclosing removal reports for the whole
    if (f.drop) {
      out_.resize(f.out_start);
      if (f.kind == Kind::Object) {
        if (f.has_saved) out_ += "{" + f.saved + "}";  // the object's last rendering stays
        std::string cls = printable(f.text, 64);
        if (!quiet)
          findings_.push_back({"removed", "\\object (embedded object" + (cls.empty() ? std::string() : ", class " + cls) + ")",
                               f.objdata_sha});
      } else if (!quiet) {
        findings_.push_back({"removed", "{\\" + f.drop_word + "} group", f.objdata_sha});
      }
      return;
    }
    if (f.kind == Kind::Sp && linkedPictureProperty(f.sn) && office::remoteTarget(f.text)) {
      // A shape whose picture (or fill picture) is linked from another machine: Word fetches it
      // on opening (and sends NTLM credentials to a UNC host). The property goes, the shape stays.
      out_.resize(f.out_start);
      if (!quiet) findings_.push_back({"removed", "shape property " + printable(f.sn, 32) + " (picture linked from another host)"});
      return;
    }
    if (f.kind == Kind::Field) {
      // The shared list and tokenizer (src/office/field_code.h), from the first letter on:
      // readers skip what precedes the keyword ("\\*", stray punctuation).
      std::size_t first = 0;
      while (first < f.text.size() && !std::isalpha(static_cast<unsigned char>(f.text[first]))) ++first;
      auto risk = office::dangerousField(std::string_view(f.text).substr(first));
      std::string word = risk ? firstWord(f.text) : std::string();
      if (risk || f.nested_field) {
        out_.resize(f.out_start);
        if (f.has_saved) out_ += "{" + f.saved + "}";  // what the field showed stays as text
        if (!quiet)
          findings_.push_back({"removed", "field " + (f.nested_field ? std::string("with a computed instruction") : word) +
                                              " (its shown result kept)"});
      }
    }
  }

  void collect(char c) {
    Frame* f = top();
    if (!f) return;
    int idx = collects(f->kind) ? static_cast<int>(stack_.size() - 1) : f->collect;
    if (idx < 0) return;
    std::string& t = stack_[static_cast<std::size_t>(idx)].text;
    if (t.size() < kMaxCollected) t += c;
  }

  /// A control word as read: its letters, and its numeric parameter if it has one.
  struct ControlWord {
    std::string_view name;
    bool has_param = false;
    long long param = 0;
  };

  bool control() {
    std::size_t start = pos_;
    ++pos_;  // the backslash
    if (pos_ >= in_.size()) return true;  // a lone backslash at the end: dropped
    if (!std::isalpha(static_cast<unsigned char>(in_[pos_]))) return controlSymbol(start);
    ControlWord w;
    if (!readControlWord(w)) return false;
    if (w.name == "bin") return binData(start, w);
    if (Frame* f = top()) {
      markGroup(*f, w.name, pos_ - start + out_.size());
      collectWord(w);
    }
    out_.append(in_, start, pos_ - start);
    return true;
  }

  /// \'hh, \\ \{ \}, \~, \* and the other symbols: copied, and what readers see of them collected.
  bool controlSymbol(std::size_t start) {
    char c = in_[pos_++];
    if (c == '\'') {
      int hi = pos_ < in_.size() ? hexValue(in_[pos_]) : -1;
      int lo = pos_ + 1 < in_.size() ? hexValue(in_[pos_ + 1]) : -1;
      if (hi >= 0 && lo >= 0) {
        if (uc_skip_ > 0) {
          --uc_skip_;  // the ANSI fallback of a \uN: readers skip it
        } else {
          collect(static_cast<char>(hi * 16 + lo));
        }
        pos_ += 2;
      }
    } else if (c == '\\' || c == '{' || c == '}') {
      collect(c);
    } else if (c == '~') {
      collect('\xA0');  // \~ is a no-break space: a field-code separator for Word
    } else if (c == '*') {
      // {\*\bkmkstart x} inside a field instruction: an ignorable destination, not part of the
      // instruction readers see (Word reads "{\*\bkmkstart x}DDEAUTO" as DDEAUTO).
      if (Frame* g = top(); g && g->kind != Kind::FldInst) g->collect = -1;
    } else if (c == '\0') {
      ++garbage_;
    }
    out_.append(in_, start, pos_ - start);
    return true;
  }

  /// The word's letters (at most 32), its parameter (at most 10 digits) and the space that
  /// ends it; false with error_ when either is too long.
  bool readControlWord(ControlWord& w) {
    std::size_t name_start = pos_;
    while (pos_ < in_.size() && std::isalpha(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    w.name = in_.substr(name_start, pos_ - name_start);
    if (w.name.size() > kMaxWordLetters) {
      error_ = "a control word longer than 32 letters";
      return false;
    }
    bool negative = false;
    if (pos_ < in_.size() && in_[pos_] == '-' && pos_ + 1 < in_.size() && std::isdigit(static_cast<unsigned char>(in_[pos_ + 1]))) {
      negative = true;
      ++pos_;
    }
    std::size_t digits = 0;
    while (pos_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[pos_]))) {
      if (++digits > kMaxParamDigits) {
        error_ = "a control word parameter longer than 10 digits";
        return false;
      }
      w.param = w.param * 10 + (in_[pos_] - '0');
      w.has_param = true;
      ++pos_;
    }
    if (negative) w.param = -w.param;
    if (pos_ < in_.size() && in_[pos_] == ' ') ++pos_;  // the delimiter belongs to the word
    return true;
  }

  /// \binN: N raw bytes, kept inside a picture, hashed inside an object's data, dropped (and
  /// counted) anywhere else.
  bool binData(std::size_t start, const ControlWord& w) {
    std::uint64_t n = w.has_param && w.param > 0 ? static_cast<std::uint64_t>(w.param) : 0;
    if (w.has_param && w.param < 0) {
      error_ = "\\bin with a negative length";
      return false;
    }
    if (n > in_.size() - pos_) {
      error_ = "\\bin longer than the rest of the file";
      return false;
    }
    if (objdata_ && stack_.size() == objdata_depth_) {
      flushObjData();
      objdata_->update(in_.data() + pos_, n);
    }
    pos_ += n;
    Frame* f = top();
    if (f && f->in_pict) {
      out_.append(in_, start, pos_ - start);  // picture data in binary form stays
    } else if (!insideRemoved()) {
      ++bin_count_;
      bin_bytes_ += n;
    }
    return true;
  }

  /// What the group `f` is, from its first destination word (an object, a field, a picture, a
  /// shape property ...), and whether a dangerous word drops it. `inner_start` is where the
  /// group's content begins in out_.
  void markGroup(Frame& f, std::string_view name, std::size_t inner_start) {
    if (f.kind == Kind::Plain) {
      if (name == "object") f.kind = Kind::Object;
      else if (name == "objclass") f.kind = Kind::ObjClass;
      else if (name == "objdata" && !objdata_) startObjData();
      else if (name == "field") f.kind = Kind::Field;
      else if (name == "fldinst") f.kind = Kind::FldInst;
      else if (name == "fldrslt") f.kind = Kind::FldRslt, f.inner_start = inner_start;
      else if (name == "result") f.kind = Kind::Result, f.inner_start = inner_start;
      else if (name == "pict") f.kind = Kind::Pict, f.in_pict = true;
      else if (name == "sp") f.kind = Kind::Sp;
      else if (name == "sn") f.kind = Kind::Sn;
      else if (name == "sv") f.kind = Kind::Sv;
    }
    if (!f.drop && isDangerousWord(name)) {
      f.drop = true;
      f.drop_word = std::string(name);
    }
  }

  /// The text a reader sees of a word (a tab, a space, a line break, a \uN character), collected
  /// for field instructions and object classes; \ucN sets how many fallback characters follow.
  void collectWord(const ControlWord& w) {
    if (w.name == "tab") {
      collect('\t');  // what Word reads in a field instruction: DDE\tab cmd is DDE, TAB, cmd
    } else if (w.name == "emspace" || w.name == "enspace" || w.name == "qmspace") {
      collect(' ');
    } else if (w.name == "line" || w.name == "par") {
      collect('\n');
    } else if (w.name == "u" && w.has_param) {  // \uN in an instruction: the ASCII range matters
      long long cp = w.param < 0 ? w.param + 65536 : w.param;
      // Every other character as UTF-8: the shared field tokenizer (src/office) decides which
      // are separators (no-break, em, ideographic space ...), as for .doc and .docx.
      if (cp > 0 && cp < 128) {
        collect(static_cast<char>(cp));
      } else if (cp >= 128 && cp < 0x800) {
        collect(static_cast<char>(0xC0 | (cp >> 6)));
        collect(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
        collect(static_cast<char>(0xE0 | (cp >> 12)));
        collect(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        collect(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      uc_skip_ = uc_;  // then its fallback characters, which readers skip ("DDE\u65 ?UTO")
    } else if (w.name == "uc" && w.has_param) {
      uc_ = w.param >= 0 && w.param < 8 ? static_cast<std::size_t>(w.param) : 1;
    }
  }

  bool text() {
    std::size_t start = pos_;
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == '{' || c == '}' || c == '\\') break;
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 && c != '\t' && c != '\r' && c != '\n') {
        out_.append(in_, start, pos_ - start);  // control bytes are not RTF text: not copied
        ++garbage_;
        start = ++pos_;
        continue;
      }
      if (objdata_ && stack_.size() == objdata_depth_) hexDigit(c);
      if (c != '\r' && c != '\n') {
        if (uc_skip_ > 0) {
          --uc_skip_;
        } else {
          collect(c);
        }
      }
      ++pos_;
    }
    out_.append(in_, start, pos_ - start);
    return true;
  }

  std::string_view in_;
  const Options& opt_;
  const Budget* budget_;
  std::size_t pos_ = 0;
  bool done_ = false;
  std::string out_;
  std::vector<Frame> stack_;
  std::vector<Finding> findings_;
  std::string error_;
  std::uint64_t garbage_ = 0, bin_count_ = 0, bin_bytes_ = 0;
  std::size_t uc_ = 1, uc_skip_ = 0;  // \ucN: fallback characters after each \uN
  // The \objdata being read (one at a time): its hex digits decoded into a hash as they pass,
  // nothing kept. objdata_depth_ is its frame's depth; nested groups inside do not count.
  std::optional<Sha256> objdata_;
  std::size_t objdata_depth_ = 0;
  int nibble_ = -1;
  std::string objbuf_;  // decoded bytes not yet hashed
};

}  // namespace

RebuildResult rebuildRtf(std::string_view in, const Options& options, const Budget* budget) {
  return Rebuilder(in, options, budget).run();
}

Outcome RtfSanitizer::apply(const Part& part, MessageContext& ctx) const {
  try {
    if (part.data.size() > options_.max_input_bytes)
      return Outcome::fail(Reason::CdrFailed, "RTF larger than max_input_bytes");
    if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
    RebuildResult r = rebuildRtf(part.data, options_, &ctx.budget);
    if (!r.ok) return Outcome::fail(r.reason, r.detail);
    if (r.rtf == part.data) return Outcome::keep();
    Part next = replacedPart(part, std::move(r.rtf));
    Outcome o = Outcome::replace(std::move(next), Reason::CdrRebuilt);
    o.findings = std::move(r.findings);
    return o;
  } catch (const std::exception& e) {
    return Outcome::fail(Reason::CdrFailed, std::string("RTF rebuild: ") + e.what());
  } catch (...) {
    return Outcome::fail(Reason::CdrFailed, "RTF rebuild failed");
  }
}

}  // namespace mugai::sanitizers::rtf
