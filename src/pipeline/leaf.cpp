// One leaf through the policy: scan the original, route by true type, run the chain, scan the
// output, make the name safe. Every decision lands in the report.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <optional>

#include "mugai/core/digest.h"
#include "mugai/detect/type_detector.h"
#include "mugai/text/filename.h"
#include "src/pipeline/walker.h"
#include "src/zip/zip.h"

namespace mugai::pipeline {
namespace {

using policy::Action;

/// SHA-256 of `data`: what WalkState::judged holds ("" when it cannot be computed: such bytes
/// are never taken as judged).
std::string contentKey(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

struct ChainRun {
  Part part;
  Verdict verdict = Verdict::Pass;
  Reason reason = Reason::Kept;
  std::string step;
  std::string detail;
  bool modified = false;
  Reason modify_reason = Reason::Kept;
  std::vector<Finding> findings;
};

Verdict effectiveVerdict(const WalkState& s, Reason r, Verdict proposed) {
  const auto* ov = s.override_rules;
  if (ov) {
    auto it = ov->actions.find(r);
    if (it != ov->actions.end()) return it->second;
  }
  auto it = s.policy.actions.find(r);
  if (it != s.policy.actions.end()) return it->second;
  return proposed;
}

void recordDetections(const Outcome& o, const Part& part, WalkState& s) {
  for (const auto& d : o.detections) {
    s.report.detections.push_back(
        {part.path, part.filename.unverifiedValue(), d.signature, d.stage});
  }
}

/// Whether a chain's result must hold the part when no step changed it.
enum class Keep { Part, OnlyChanges };

/// Runs `chain` over `in`. Exceptions from a step become internal.error (TempFail). The part is
/// copied only when it must be: the scan chain only judges (Keep::OnlyChanges: `part` stays
/// empty unless a step replaced it), and a 1 MB attachment was copied four times on its way
/// (bench/README.md, issue 11).
ChainRun runChain(const policy::Chain& chain, const Part& in, WalkState& s,
                  Keep keep = Keep::Part) {
  ChainRun run;
  std::optional<Part> changed;  // the part as the last step that replaced it left it
  auto current = [&]() -> const Part& { return changed ? *changed : in; };
  auto finish = [&]() {
    if (changed) {
      run.part = std::move(*changed);
    } else if (keep == Keep::Part) {
      run.part = in;
    }
  };
  for (const auto& step : chain.steps) {
    if (auto late = s.budget.checkDeadline()) {
      run.verdict = effectiveVerdict(s, *late, reasonInfo(*late).default_verdict);
      run.reason = *late;
      run.step = step.sanitizer;
      finish();
      return run;
    }
    Outcome o;
    try {
      o = step.instance->apply(current(), s.ctx);
    } catch (const std::exception& e) {
      o = Outcome::fail(Reason::InternalError, e.what());
      o.verdict = Verdict::TempFail;
    } catch (...) {
      o = Outcome::fail(Reason::InternalError, "unknown exception");
      o.verdict = Verdict::TempFail;
    }
    recordDetections(o, current(), s);
    for (auto& f : o.findings) run.findings.push_back(std::move(f));
    if (o.verdict == Verdict::Modified && o.replacement) {
      changed = std::move(*o.replacement);
      run.modified = true;
      if (run.modify_reason == Reason::Kept || o.reason == Reason::HtmlConverted) {
        run.modify_reason = o.reason;
      }
      continue;
    }
    if (o.verdict >= Verdict::PartRemoved) {
      run.verdict = effectiveVerdict(s, o.reason, o.verdict);
      if (reasonInfo(o.reason).fail_closed && run.verdict < Verdict::PartRemoved) {
        run.verdict = Verdict::PartRemoved;  // defence in depth: the loader already refuses this
      }
      run.reason = o.reason;
      run.step = step.sanitizer;
      run.detail = o.detail;
      finish();
      return run;
    }
  }
  finish();
  return run;
}

/// Detections recorded since `before` came from scanning a chain's output.
void markOutputStage(WalkState& s, std::size_t before) {
  for (std::size_t i = before; i < s.report.detections.size(); ++i)
    s.report.detections[i].stage = "output";
}


ActionRecord baseRecord(const Part& part, bool body) {
  ActionRecord rec;
  rec.part = part.path;
  rec.filename = part.filename.unverifiedValue();
  rec.declared_type = part.declared_type.unverifiedValue();
  rec.detected_type = part.detected.mime;
  rec.body = body;
  rec.bytes_in = part.data.size();
  return rec;
}

/// Removes or blocks the part for `reason`; returns a Gone leaf.
LeafResult refuse(const Part& part, bool body, Verdict v, Reason reason, const std::string& step,
                  const std::string& detail, std::vector<Finding> findings, WalkState& s) {
  ActionRecord rec = baseRecord(part, body);
  rec.action = v >= Verdict::TempFail ? "blocked" : "removed";
  rec.reason = std::string(reasonInfo(reason).name);
  rec.sanitizer = step;
  rec.detail = detail;
  rec.sha256 = sha256Hex(part.data);
  rec.findings = std::move(findings);
  s.report.actions.push_back(std::move(rec));
  s.raise(std::max(v, Verdict::PartRemoved), reason);
  s.any_notice_item = true;
  return {};
}

std::string outputName(const Part& original, const Part& result) {
  std::string name = result.filename.unverifiedValue();
  if (name.empty()) return name;
  // Converted to text: the name says so, whatever libmagic called the input. Text converted from
  // HTML may contain "<script>" as words; under its old .html name a browser would run it.
  bool converted = original.output_type.empty() && result.output_type == "text/plain";
  if (converted && text::lastExtension(name) != "txt") {
    name += ".txt";
  }
  return name;
}

/// Declared type or extension disagreeing with the true type (PyCIRCLean's two-way check).
/// Formats the notice names instead of "a file type that is not allowed" when a types rule
/// blocks or removes them (一太郎, DocuWorks: rules/default.yaml, docs/verdicts.md).
std::optional<Reason> namedFormatReason(std::string_view mime) {
  if (mime.starts_with("application/x-ichitaro")) return Reason::TypeIchitaro;
  if (mime.starts_with("application/vnd.fujixerox.docuworks")) return Reason::TypeDocuworks;
  return std::nullopt;
}

std::optional<std::string> mismatch(const Part& part) {
  const std::string& detected = part.detected.mime;
  const std::string& declared = part.declared_type.unverifiedValue();
  if (detected.empty() || detected == "inode/x-empty" || detected == "application/x-empty") {
    return std::nullopt;
  }
  std::string ext = text::lastExtension(part.filename.unverifiedValue());
  std::string by_ext = typeFromExtension(ext);
  if (detected == "application/octet-stream") {  // unknown bytes: only a named type can disagree
    if (by_ext.empty()) return std::nullopt;
    return "name ." + ext + " suggests " + by_ext + ", content is not recognised";
  }
  if (!by_ext.empty() && !policy::mimeMatches(by_ext, detected)) {
    return "name ." + ext + " suggests " + by_ext + ", content is " + detected;
  }
  auto family = [](const std::string& m) { return m.substr(0, m.find('/')); };
  if (!declared.empty() && declared != "application/octet-stream" &&
      family(declared) != family(detected) &&
      !(family(declared) == "text" && isBodyTextType(detected))) {
    return "declared " + declared + ", content is " + detected;
  }
  return std::nullopt;
}

/// The name or declared type says markup a client would render (and run).
bool claimsMarkup(const Part& part) {
  static const std::array<std::string_view, 12> kExt = {
      "html", "htm", "xhtml", "shtml", "xht", "svg", "svgz", "mht", "mhtml", "xml", "xsl", "xslt"};
  std::string ext = text::lastExtension(text::sanitizeFilename(part.filename.unverifiedValue()));
  if (std::find(kExt.begin(), kExt.end(), ext) != kExt.end()) return true;
  const std::string& declared = part.declared_type.unverifiedValue();
  return declared == "text/html" || declared == "application/xhtml+xml" ||
         declared == "image/svg+xml" || declared == "text/xml" || declared == "application/xml" ||
         declared == "multipart/related" || declared == "message/rfc822";
}

/// Text that Outlook would open as a calendar or contact although libmagic calls it plain text
/// (lower-case "begin:vcalendar", a leading blank line, an .ics/.vcf name, a calendar label):
/// "text/calendar" or "text/vcard", else "". Its chain refuses what is not a real one.
std::string calendarLike(const Part& part) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string ext = text::lastExtension(text::sanitizeFilename(part.filename.unverifiedValue()));
  std::string declared = part.declared_type.unverifiedValue();
  std::size_t start = part.data.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  std::string head = lower(part.data.substr(start == std::string::npos ? 0 : start, 15));
  if (ext == "vcf" || ext == "vcard" || declared == "text/vcard" || declared == "text/x-vcard" ||
      declared == "text/directory" || head.rfind("begin:vcard", 0) == 0) {
    return "text/vcard";
  }
  if (ext == "ics" || ext == "ical" || ext == "icalendar" || ext == "ifb" || ext == "vcs" ||
      declared == "text/calendar" || declared == "application/ics" ||
      declared == "text/x-vcalendar" || head.rfind("begin:vcalendar", 0) == 0) {
    return "text/calendar";
  }
  return "";
}

/// What a rebuilt output is, for the output-scan rule (docs/scanning.md, "One scan per byte").
enum class OutputKind { Zip, Streams, Leaf };

/// Zip: a package or archive we wrote (OOXML, ODF, the archive chain's ZIP): its members are
/// judged one by one. Streams: a PDF (qpdf) or a compound file (OLE2) rebuilt from the streams
/// of an original that libclamav scanned with those streams decoded: not scanned again. Leaf:
/// everything else (text, converted HTML, CSV, calendar, RTF, a re-encoded image): new bytes,
/// scanned whole. Decided by what the original was as well as by the output's first bytes: text
/// (converted HTML whose words start with "%PDF-", a text routed to the PDF chain) is always a
/// Leaf, and Streams needs an original of the same format.
OutputKind outputKind(const Part& original, std::string_view out) {
  const std::string& was = original.detected.mime;
  if (was.rfind("text/", 0) == 0) return OutputKind::Leaf;
  if (out.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return OutputKind::Zip;
  if (out.substr(0, 5) == "%PDF-" && was == "application/pdf") return OutputKind::Streams;
  static const std::string_view kOle2[] = {"application/msword", "application/vnd.ms-excel",
                                           "application/vnd.ms-powerpoint",
                                           "application/x-ole-storage", "application/CDFV2"};
  if (out.substr(0, 8) == std::string_view("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) &&
      std::find(std::begin(kOle2), std::end(kOle2), was) != std::end(kOle2)) {
    return OutputKind::Streams;
  }
  return OutputKind::Leaf;
}

/// Runs the scan chain over `out`; returns the refusal when it does not let it pass.
std::optional<LeafResult> scanWhole(const Part& original, const Part& out, bool body,
                                    WalkState& s) {
  ChainRun again = runChain(s.policy.scan, out, s, Keep::OnlyChanges);
  if (again.verdict < Verdict::PartRemoved) {
    s.judge(contentKey(out.data));
    return std::nullopt;
  }
  return refuse(original, body, again.verdict, again.reason, again.step, again.detail,
                std::move(again.findings), s);
}

/// A ZIP we wrote: each member not judged in this item yet goes through the scan chain on its
/// own (the scanner's cache answers for the bytes libclamav already saw inside the original);
/// the package itself is not scanned again. A package our reader cannot open is scanned whole.
std::optional<LeafResult> scanZipMembers(const Part& original, const Part& out, bool body,
                                         WalkState& s) {
  zip::Failure failure;
  auto archive = zip::Archive::open(out.data, zip::ReadLimits::fromLimits(s.ctx.limits), &failure);
  if (!archive) return scanWhole(original, out, body, s);
  Budget own(s.ctx.limits);  // our own output: its bytes were charged when they were read
  for (const auto& e : archive->entries()) {
    if (e.directory()) continue;
    Part member;
    member.path = original.path;
    member.depth = original.depth;
    if (archive->extract(e, own, &member.data)) return scanWhole(original, out, body, s);
    std::string key = contentKey(member.data);
    if (!key.empty() && s.judged.count(key)) continue;
    ChainRun run = runChain(s.policy.scan, member, s, Keep::OnlyChanges);
    if (run.verdict >= Verdict::PartRemoved) {
      return refuse(original, body, run.verdict, run.reason, run.step, run.detail,
                    std::move(run.findings), s);
    }
    s.judge(std::move(key));
  }
  s.judge(contentKey(out.data));
  return std::nullopt;
}

/// When a chain changed the part (and scan_output is on), what it produced is scanned where it
/// is new (outputKind); `always` (the original carried macros) scans it whole, to see them gone.
/// Returns the refusal when the scan does not let it pass.
std::optional<LeafResult> rescanOutput(const Part& original, const ChainRun& run, bool body,
                                       WalkState& s, bool always = false) {
  if (!run.modified || (!s.policy.scan_output && !always)) return std::nullopt;
  std::size_t before = s.report.detections.size();
  std::optional<LeafResult> refused;
  switch (always ? OutputKind::Leaf : outputKind(original, run.part.data)) {
    case OutputKind::Zip:
      refused = scanZipMembers(original, run.part, body, s);
      break;
    case OutputKind::Streams:
      s.judge(contentKey(run.part.data));
      break;
    case OutputKind::Leaf:
      refused = scanWhole(original, run.part, body, s);
      break;
  }
  markOutputStage(s, before);
  return refused;
}

LeafResult keepAttachment(const Part& original, ChainRun& run, WalkState& s) {
  // Files and PGP messages written into a plain-text attachment are judged as files and taken
  // out, as in a text body (body_blocks.cpp): a .txt carrying a uuencoded .exe is not a text.
  const std::string& kept_type =
      run.part.output_type.empty() ? run.part.detected.mime : run.part.output_type;
  if (kept_type == "text/plain") {
    std::string without_blocks;
    if (!takeBodyBlocks(run.part, s, without_blocks)) return {};
    if (!without_blocks.empty()) {
      run.part.data = std::move(without_blocks);
      run.findings.push_back(
          {"removed", "encoded files written into the text (taken out, judged as files)"});
      if (!run.modified) run.modified = true, run.modify_reason = Reason::CdrRebuilt;
    }
  }
  ActionRecord rec = baseRecord(original, false);
  rec.findings = std::move(run.findings);
  Part& out = run.part;
  rec.action = run.modified ? (run.modify_reason == Reason::HtmlConverted ? "converted" : "rebuilt")
                            : "kept";
  rec.reason = std::string(reasonInfo(run.modified ? run.modify_reason : Reason::Kept).name);
  if (run.modified) {
    rec.sha256 = sha256Hex(original.data);
    s.raise(Verdict::Modified, run.modify_reason);
    s.any_notice_item = true;
  }
  std::string name = outputName(original, out);
  // Delivered under a name that opens it as the type it was judged as: kept text as text
  // (.rdp, .iqy, .theme -> + ".txt"), a rebuilt PDF named .html as a PDF (-> + ".pdf").
  const std::string& delivered_type = out.output_type.empty() ? out.detected.mime : out.output_type;
  if (std::string safe = textSafeName(name, delivered_type); safe != name) {
    name = std::move(safe);
    if (delivered_type.rfind("text/", 0) == 0 && name.ends_with(".txt"))
      rec.findings.push_back({"opens_as_text", "kept as text under a name that opens as text"});
    else
      rec.findings.push_back({"opens_as_type", "delivered under a name that opens it as " + delivered_type});
    if (!run.modified) {
      rec.action = "renamed";
      rec.reason = std::string(reasonInfo(Reason::FilenameChanged).name);
    }
    s.raise(Verdict::Modified, Reason::FilenameChanged);
    s.any_notice_item = true;
  }
  // The name made safe for the other side (the core's own function, text/filename.h).
  const bool renamed = !name.empty() && text::sanitizeFilename(name) != name;
  if (renamed) {
    name = text::sanitizeFilename(name);
    rec.findings.push_back({"renamed_to", name});
    if (!run.modified) {
      rec.action = "renamed";
      rec.reason = std::string(reasonInfo(Reason::FilenameChanged).name);
    }
    s.raise(Verdict::Modified, Reason::FilenameChanged);
    s.any_notice_item = true;
  }
  // A new name the sanitizing chose (.docm -> .docx, page.html -> page.html.txt) is said in the
  // report and the notice, so that the recipient recognises the attachment.
  if (!name.empty() && name != original.filename.unverifiedValue() && !renamed)
    rec.findings.push_back({"delivered_as", name});
  LeafResult r;
  r.kind = LeafResult::Kind::Attachment;
  r.part.mime_type = out.output_type.empty() ? out.detected.mime : out.output_type;
  if (r.part.mime_type.rfind("text/", 0) == 0 && !run.modified) {
    r.part.charset = out.charset.unverifiedValue();  // kept as is: declare what it was
  }
  r.part.filename = name.empty() ? std::string() : name;
  r.part.disposition = "attachment";
  rec.bytes_out = out.data.size();
  r.part.data = std::move(out.data);
  s.report.actions.push_back(std::move(rec));
  return r;
}

LeafResult processBody(const Part& part, ChainRun& run, bool html, WalkState& s) {
  // Files and PGP messages written into a text body are judged as files and taken out.
  if (!html) {
    std::string without_blocks;
    if (!takeBodyBlocks(run.part, s, without_blocks)) return {};
    if (!without_blocks.empty()) run.part.data = std::move(without_blocks);
  }
  ChainRun body = runChain(html ? s.policy.html_body : s.policy.text_body, run.part, s);
  if (body.verdict >= Verdict::PartRemoved) {
    return refuse(part, true, body.verdict, body.reason, body.step, body.detail,
                  std::move(body.findings), s);
  }
  // An HTML body can carry the same blocks (in <pre>): they are looked for in its text.
  if (html) {
    std::string without_blocks;
    if (!takeBodyBlocks(body.part, s, without_blocks)) return {};
    if (!without_blocks.empty()) body.part.data = std::move(without_blocks);
  }
  // A converted body is scanned again: a charset or markup layer can hide what the scanner would
  // find in the text (UTF-16, UTF-7, HTML).
  if (auto refused = rescanOutput(part, body, true, s)) return *refused;
  ActionRecord rec = baseRecord(part, true);
  rec.findings = std::move(run.findings);
  for (auto& f : body.findings) rec.findings.push_back(std::move(f));
  body.part.data = presentBodyText(body.part.data, s, rec.findings);
  bool converted = body.modify_reason == Reason::HtmlConverted;
  // Re-encoding a body to UTF-8 (every ISO-2022-JP mail) changes bytes, not what it says: the
  // report shows it, the message stays clean and no notice announces it.
  rec.action = converted ? "converted" : body.modified ? "reencoded" : "kept";
  rec.reason = std::string(reasonInfo(body.modified ? body.modify_reason : Reason::Kept).name);
  rec.sanitizer = html ? "chains.html_body" : "chains.text_body";
  rec.bytes_out = body.part.data.size();
  if (converted) {
    rec.sha256 = sha256Hex(part.data);
    s.raise(Verdict::Modified, Reason::HtmlConverted);
    bool hidden_text = std::any_of(rec.findings.begin(), rec.findings.end(),
                                   [](const Finding& f) { return f.key == "removed_hidden_text"; });
    if (s.policy.notice.on_conversion || hidden_text) s.any_notice_item = true;
  }
  s.report.actions.push_back(std::move(rec));
  LeafResult r;
  r.kind = LeafResult::Kind::Body;
  r.part.mime_type = "text/plain";
  r.part.data = std::move(body.part.data);
  return r;
}

}  // namespace

bool isBodyTextType(const std::string& m) {
  return m.rfind("text/", 0) == 0 || m == "application/octet-stream" || m == "inode/x-empty" ||
         m == "application/x-empty";
}

namespace {

/// The part's extension as the sender wrote it and as it would be delivered (sanitized name), and
/// which of them is denied by the rules, if any.
struct Extensions {
  std::string ext, safe_ext;
  bool denied = false;
};

Extensions extensionsOf(const Part& part, const std::vector<std::string>& denied) {
  // Checked on the name as the sender wrote it and on the name it would be delivered under, so
  // trailing invisible or control characters ("run.vbs<U+200B>") cannot slip past the list.
  auto isDenied = [&](const std::string& e) {
    return !e.empty() && std::find(denied.begin(), denied.end(), e) != denied.end();
  };
  Extensions x;
  x.ext = text::lastExtension(part.filename.unverifiedValue());
  x.safe_ext = text::lastExtension(text::sanitizeFilename(part.filename.unverifiedValue()));
  if (!isDenied(x.ext) && isDenied(x.safe_ext)) x.ext = x.safe_ext;
  if (part.filename.unverifiedValue().empty()) x.ext.clear();
  x.denied = isDenied(x.ext);
  return x;
}

/// The type a part is routed by. Evidence may only tighten: text that a browser would render as
/// active markup because of its name or declared type (report.html, image.svg, page.mht detected
/// as text/plain) is routed as HTML, never kept as plain text.
struct Route {
  std::string type;
  std::string ext;        ///< routed to another format's chain: the name must say that format
  std::string disguised;  ///< non-empty: a format hidden behind text (refused, with this reason)
};

Route routeOf(const Part& part, const Extensions& x, std::vector<Finding>& findings) {
  Route r{part.detected.mime, "", ""};
  if (r.type.rfind("text/", 0) == 0 && r.type != "text/rtf") {
    if (auto fmt = embeddedFormat(part.data)) {
      if (fmt->disguised) {
        r.disguised = fmt->why;
        return r;
      }
      if (fmt->route_type != r.type && !(fmt->route_type == "text/html" && r.type == "text/xml")) {
        r.type = fmt->route_type;
        findings.push_back({"routed_as", r.type + " (" + fmt->why + ")"});
        if (r.type == "application/pdf") r.ext = "pdf";
        if (r.type == "text/rtf") r.ext = "rtf";
      }
    }
  }
  // Comma/tab separated text goes to the CSV rules (formula cells neutralised), whatever
  // libmagic called its text.
  if ((r.type == "text/plain" || r.type == "application/csv") &&
      (x.ext == "csv" || x.ext == "tsv" || x.safe_ext == "csv" || x.safe_ext == "tsv")) {
    r.type = "text/csv";
  }
  if (r.type.rfind("text/", 0) == 0 && r.type != "text/html" && claimsMarkup(part)) {
    r.type = "text/html";
    findings.push_back({"routed_as", "text/html (name or declared type is markup)"});
  }
  // Word opens as RTF anything that starts with "{\rt" (libmagic wants "{\rtf"): such text goes
  // to the RTF rules, whose rebuilder refuses what is not proper RTF.
  if (r.type.rfind("text/", 0) == 0 && r.type != "text/rtf" && part.data.rfind("{\\rt", 0) == 0) {
    r.type = "text/rtf";
    findings.push_back({"routed_as", "text/rtf (starts like RTF)"});
  }
  if (r.type.rfind("text/", 0) == 0 && r.type != "text/calendar" && r.type != "text/vcard") {
    if (std::string cal = calendarLike(part); !cal.empty()) {
      r.type = cal;
      findings.push_back({"routed_as", cal + " (name, label or content is a calendar/card)"});
    }
  }
  return r;
}

/// A part whose scan found macros (content.active) is refused when no rebuilder took them out.
LeafResult refuseActive(const Part& part, ChainRun& active, const std::string& why, WalkState& s) {
  return refuse(part, false, active.verdict, Reason::ContentActive, active.step,
                active.detail + ": " + why, std::move(active.findings), s);
}

/// Step 4: the rule's sanitize chain, then its output scanned where it is new; kept when both pass.
LeafResult sanitizeLeaf(const Part& part, const policy::TypeRule& rule, const Route& route,
                        ChainRun& scanned, bool active_pending, ChainRun& active, WalkState& s) {
  auto it = s.policy.chains.find(rule.chain);
  ChainRun run = runChain(it->second, part, s);
  for (auto& f : scanned.findings) run.findings.insert(run.findings.begin(), std::move(f));
  if (run.verdict >= Verdict::PartRemoved) {
    return refuse(part, false, run.verdict, run.reason, run.step, run.detail,
                  std::move(run.findings), s);
  }
  if (active_pending && !run.modified)
    return refuseActive(part, active, "the rebuilder left the file as it was", s);
  // Scan what the chain produced, too (always, when the original carried macros).
  if (auto refused = rescanOutput(part, run, false, s, active_pending)) return *refused;
  if (!route.ext.empty() && !run.part.filename.unverifiedValue().empty() &&
      text::lastExtension(run.part.filename.unverifiedValue()) != route.ext) {
    run.part.filename =
        Untrusted<std::string>(run.part.filename.unverifiedValue() + "." + route.ext);
  }
  if (!route.ext.empty() && run.part.output_type.empty()) run.part.output_type = route.type;
  return keepAttachment(part, run, s);
}

/// Step 1: the scan chain on the original bytes, whatever they are. Macros (content.active) are
/// what a rebuilder takes out: such a part may go on, but only to a sanitize chain that changes
/// it, and its output must then scan clean (step 4).
struct Scanned {
  ChainRun run;                 ///< the scan chain's result (Pass when it found only macros)
  ChainRun active;              ///< the macro finding, held back for the rebuilder
  bool active_pending = false;  ///< the part carried macros that only a rebuilder may take out
};

Scanned scanOriginal(const Part& part, bool body_candidate, WalkState& s) {
  Scanned sc;
  sc.run = runChain(s.policy.scan, part, s, Keep::OnlyChanges);
  sc.active_pending = sc.run.verdict >= Verdict::PartRemoved &&
                      sc.run.verdict < Verdict::TempFail &&
                      sc.run.reason == Reason::ContentActive && !body_candidate;
  if (sc.active_pending) {
    sc.active = sc.run;
    sc.run.verdict = Verdict::Pass;
    sc.run.reason = Reason::Kept;
    sc.run.findings = {{"active_content", sc.run.detail + " (to be removed by the rebuilder)"}};
  }
  return sc;
}

/// A declared type or name that disagrees with the content: a finding, or a refusal when the
/// rules say so.
std::optional<LeafResult> refuseMismatch(const Part& part, ChainRun& scanned, WalkState& s) {
  auto why = mismatch(part);
  if (!why) return std::nullopt;
  scanned.findings.push_back({"type_mismatch", *why});
  const Action a = s.policy.type_mismatch_action;
  if (a != Action::Remove && a != Action::Block) return std::nullopt;
  Verdict v = a == Action::Block ? Verdict::Reject : Verdict::PartRemoved;
  return refuse(part, false, effectiveVerdict(s, Reason::TypeMismatch, v), Reason::TypeMismatch,
                "rules.type_mismatch", *why, std::move(scanned.findings), s);
}

/// Steps 3 and 4: what the rule for the routed type says (remove, block, sanitize or keep).
LeafResult applyRule(const Part& part, const policy::TypeRule* rule, const Route& route,
                     Scanned& sc, WalkState& s) {
  Action action = rule ? rule->action : s.policy.default_action;
  if (sc.active_pending && action != Action::Sanitize && action != Action::Block) {
    return refuseActive(part, sc.active, "no rebuilder for " + route.type + " in the rules", s);
  }
  if (action == Action::Remove || action == Action::Block) {
    std::string where =
        rule ? "rules.types (line " + std::to_string(rule->line) + ")" : "rules.default";
    Reason r = action == Action::Block ? Reason::TypeBlocked : Reason::TypeRemoved;
    if (auto named = namedFormatReason(part.detected.mime)) r = *named;  // the notice names it
    Verdict v =
        effectiveVerdict(s, r, action == Action::Block ? Verdict::Reject : Verdict::PartRemoved);
    return refuse(part, false, v, r, where, "true type " + part.detected.mime,
                  std::move(sc.run.findings), s);
  }
  // 4. The rebuilder, and its output scanned.
  if (action == Action::Sanitize)
    return sanitizeLeaf(part, *rule, route, sc.run, sc.active_pending, sc.active, s);
  sc.run.part = part;
  return keepAttachment(part, sc.run, s);
}

/// Steps 2 to 4 for a part that is not the message's body text.
LeafResult attachmentLeaf(const Part& part, Scanned& sc, WalkState& s) {
  // 2. Names that are refused whatever the content.
  const Extensions x = extensionsOf(part, s.policy.denied_extensions);
  if (x.denied) {
    Verdict v =
        s.policy.denied_extension_action == Action::Block ? Verdict::Reject : Verdict::PartRemoved;
    v = effectiveVerdict(s, Reason::ExtensionDenied, v);
    return refuse(part, false, v, Reason::ExtensionDenied, "rules.extensions",
                  "extension ." + x.ext + " is denied", std::move(sc.run.findings), s);
  }
  // 3. Route by true type, then the rule for that type.
  const Route route = routeOf(part, x, sc.run.findings);
  if (!route.disguised.empty()) {
    return refuse(part, false,
                  effectiveVerdict(s, Reason::TypeDisguised,
                                   reasonInfo(Reason::TypeDisguised).default_verdict),
                  Reason::TypeDisguised, "pipeline.text_route", route.disguised,
                  std::move(sc.run.findings), s);
  }
  const policy::TypeRule* rule = s.policy.route(route.type, s.override_rules);
  if (auto refused = refuseMismatch(part, sc.run, s)) return std::move(*refused);
  return applyRule(part, rule, route, sc, s);
}

}  // namespace

LeafResult processLeaf(const Part& part, bool body_candidate, WalkState& s) {
  if (auto late = s.budget.checkDeadline()) {
    return refuse(part, body_candidate, reasonInfo(*late).default_verdict, *late, "pipeline",
                  "deadline reached", {}, s);
  }
  // 0. Refusals that cost milliseconds and would cost the scanner its whole time budget.
  if (auto pre = prescreen(part, s.ctx.limits)) {
    return refuse(part, body_candidate,
                  effectiveVerdict(s, pre->reason, reasonInfo(pre->reason).default_verdict),
                  pre->reason, "pipeline.prescreen", pre->detail, {}, s);
  }
  // 1. Scan the original bytes.
  Scanned sc = scanOriginal(part, body_candidate, s);
  if (sc.run.verdict >= Verdict::PartRemoved) {
    return refuse(part, body_candidate, sc.run.verdict, sc.run.reason, sc.run.step,
                  sc.run.detail, std::move(sc.run.findings), s);
  }
  // The scan chain only judges: what goes on is the original (copied where it is delivered as
  // it came: a body, a kept file; a sanitize chain reads it without a copy).
  if (body_candidate && isBodyTextType(part.detected.mime)) {
    const std::string& declared = part.declared_type.unverifiedValue();
    bool html = declared == "text/html" || part.detected.mime == "text/html";
    sc.run.part = part;
    return processBody(part, sc.run, html, s);
  }
  return attachmentLeaf(part, sc, s);
}

MemberResult WalkMembers::process(Part member) {
  MemberResult out;
  member.attachment = true;
  member.detected = s_.ctx.detector->detect(member.data);
  std::size_t before = s_.report.actions.size();
  LeafResult leaf = processLeaf(member, false, s_);
  Reason recorded = Reason::Kept;
  if (s_.report.actions.size() > before) {
    recorded = reasonByName(s_.report.actions.back().reason).value_or(Reason::Kept);
  }
  out.reason = recorded;
  if (leaf.kind == LeafResult::Kind::Gone && s_.report.actions.size() > before)
    out.sha256 = s_.report.actions.back().sha256;  // refuse() hashed the member as it came
  if (leaf.kind == LeafResult::Kind::Gone) {
    out.kind = s_.stopped() ? MemberResult::Kind::Blocked : MemberResult::Kind::Removed;
    if (out.kind == MemberResult::Kind::Blocked && out.reason == Reason::Kept)
      out.reason = s_.reason;
    return out;
  }
  out.kind = MemberResult::Kind::Kept;
  // Judged: scanned (or answered by the cache) as it came, and where a chain rebuilt it, its
  // output by the rule above. The container's output scan does not ask again.
  s_.judge(contentKey(leaf.part.data));
  out.data = std::move(leaf.part.data);
  out.filename = std::move(leaf.part.filename);
  return out;
}

}  // namespace mugai::pipeline
