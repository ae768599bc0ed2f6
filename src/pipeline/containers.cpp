// Containers the walker opens in place of delivering them: winmail.dat (TNEF) and Outlook .msg.
// Every file inside goes through processLeaf exactly like a top-level attachment; the reports
// name them "<part>/<n>". Also the charset label of kept text files.
#include <algorithm>
#include <cctype>

#include "mugai/core/digest.h"
#include "mugai/detect/type_detector.h"
#include "mugai/text/charset.h"
#include "mugai/text/filename.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

/// "UTF-16" with a byte order mark, "UTF-16LE"/"UTF-16BE" by where the NULs of ASCII text fall.
std::string utf16Label(const std::string& d) {
  if (d.size() >= 2 && ((d[0] == '\xFF' && d[1] == '\xFE') || (d[0] == '\xFE' && d[1] == '\xFF')))
    return "UTF-16";
  std::size_t n = std::min<std::size_t>(d.size() & ~std::size_t{1}, 4096), even = 0, odd = 0;
  for (std::size_t i = 0; i < n; i += 2) {
    even += d[i] == '\0';
    odd += d[i + 1] == '\0';
  }
  if (n >= 8 && odd * 10 >= n * 3 && even == 0) return "UTF-16LE";
  if (n >= 8 && even * 10 >= n * 3 && odd == 0) return "UTF-16BE";
  return "";
}

ActionRecord containerRecord(const mime::Entity& e, const Part& p, const char* who) {
  ActionRecord rec;
  rec.part = p.path;
  rec.filename = e.filename;
  rec.declared_type = e.mimeType();
  rec.detected_type = p.detected.mime;
  rec.sanitizer = who;
  rec.bytes_in = p.data.size();
  rec.sha256 = sha256Hex(p.data);  // the container is never delivered as it came
  return rec;
}

void refuseContainer(ActionRecord rec, Reason r, const std::string& detail, WalkState& s) {
  Verdict v = std::max(s.policy.verdictFor(r, s.override_rules), Verdict::PartRemoved);
  rec.action = v >= Verdict::TempFail ? "blocked" : "removed";
  rec.reason = std::string(reasonInfo(r).name);
  rec.detail = detail;
  s.report.actions.push_back(std::move(rec));
  s.raise(v, r);
  s.any_notice_item = true;
}

/// The files a container holds count against archive_member_count_limit with every archive
/// member of the item, at all levels (as the archive sanitizer counts): charged all at once,
/// before any of them is looked at, so a container over the limit is removed whole and leaves
/// the budget to the rest of the item. Without this, many winmail.dat parts of 1,999 files each
/// made one mail of 120,000 attachments.
std::optional<Reason> chargeMembers(std::size_t files, WalkState& s) {
  return s.budget.chargeArchiveMembers(files);
}

std::string overMembers(const char* what, const WalkState& s) {
  return std::string(what) + ": more than " + std::to_string(s.ctx.limits.archive_member_count_limit) +
         " files in the archives and containers of this item";
}

/// Each file through processLeaf as member "<part>/<n>"; kept ones go to `out`.
void members(std::vector<TnefFile>& files, const Part& p, WalkState& s, BuiltMessage& out) {
  for (std::size_t i = 0; i < files.size() && !s.stopped(); ++i) {
    if (auto over = s.budget.chargeDecoded(files[i].data.size())) {
      s.raise(s.policy.verdictFor(*over, s.override_rules), *over);
      return;
    }
    Part m;
    m.path = p.path + "/" + std::to_string(i + 1);
    m.depth = p.depth + 1;
    m.filename = Untrusted<std::string>(files[i].name.empty() ? "attachment-" + std::to_string(i + 1) : files[i].name);
    m.data = std::move(files[i].data);
    m.attachment = true;
    m.detected = s.ctx.detector->detect(m.data);
    LeafResult r = processLeaf(m, false, s);
    if (r.kind != LeafResult::Kind::Attachment) continue;
    labelKeptText(r.part);
    out.attachments.push_back(std::move(r.part));
  }
}

}  // namespace

/// A text file kept as its bytes gets its real charset label: UTF-16 (by BOM or NUL pattern),
/// or the detected charset when the label is missing or says UTF-8/ASCII and the bytes are not.
/// The writer then sends the exact bytes (base64) instead of "fixing" line ends in UTF-16.
void labelKeptText(mime::BuildPart& part) {
  if (part.mime_type.rfind("text/", 0) != 0 || part.mime_type == "text/calendar" ||
      part.mime_type == "text/vcard")
    return;
  const std::string& d = part.data;
  std::string cs = part.charset;
  for (char& c : cs) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string label = utf16Label(d);
  bool claims_utf8 = cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii";
  if (label.empty() && claims_utf8 && d.find("\x1b$B") != std::string::npos) label = "ISO-2022-JP";
  if (label.empty() && claims_utf8 && !text::isValidUtf8(d)) {
    std::string guess = text::detectCharset(d);
    label = guess == "CP932" ? "Shift_JIS" : guess == "UTF-8" || guess == "US-ASCII" ? "" : guess;
    if (label.empty()) label = "unknown-8bit";  // RFC 1428: bytes kept, charset not known
  }
  if (!label.empty()) part.charset = label;
}


/// winmail.dat (TNEF): its attachments and its body are taken out (tnef.cpp) and each goes
/// through the whole policy as a member "<part>/<n>", delivered as an attachment of its own;
/// the container itself is not delivered. A TNEF that cannot be read is removed.
void unpackTnef(const mime::Entity& e, const Part& p, WalkState& s, BuiltMessage& out) {
  const Limits& lim = s.ctx.limits;
  TnefContents c = readTnef(p.data, lim.archive_member_count_limit, lim.document_object_limit,
                            lim.expanded_size_limit);
  ActionRecord rec = containerRecord(e, p, "mime.tnef");
  if (!c.ok) return refuseContainer(std::move(rec), c.limit ? Reason::LimitArchiveMembers : Reason::ParseMalformed,
                                    "TNEF (winmail.dat): " + c.detail, s);
  if (auto over = chargeMembers(c.files.size(), s))
    return refuseContainer(std::move(rec), *over, overMembers("TNEF (winmail.dat)", s), s);
  std::vector<TnefFile> files = std::move(c.files);
  if (!c.body_text.empty()) files.insert(files.begin(), {"message-body.txt", c.body_text});
  else if (!c.body_html.empty()) files.insert(files.begin(), {"message-body.html", c.body_html});
  else if (!c.body_rtf.empty()) files.insert(files.begin(), {"message-body.rtf", c.body_rtf});
  rec.action = "rebuilt";
  rec.reason = std::string(reasonInfo(Reason::CdrConverted).name);
  rec.detail = "TNEF (winmail.dat) unpacked: each file goes through the rules on its own";
  rec.findings.push_back({"unpacked_files", std::to_string(files.size())});
  if (c.rtf_body && (!c.body_text.empty() || !c.body_html.empty()))
    rec.findings.push_back({"rtf_body", "not delivered (the message's own text body is)"});
  else if (c.rtf_body && !c.body_rtf.empty())
    rec.findings.push_back({"rtf_body", "decompressed: delivered as message-body.rtf through the rules"});
  else if (c.rtf_body)
    rec.findings.push_back({"rtf_body", "could not be decompressed (damaged or over expanded_size_limit): not delivered"});
  s.report.actions.push_back(std::move(rec));
  s.raise(Verdict::Modified, Reason::CdrConverted);
  s.any_notice_item = true;
  members(files, p, s, out);
}

namespace {

/// `stem` without a trailing ".msg" (as lastExtension() reads names: trailing dots and spaces
/// do not count).
std::string withoutMsgSuffix(std::string stem) {
  while (!stem.empty() && (stem.back() == '.' || stem.back() == ' ')) stem.pop_back();
  if (text::lastExtension(stem) == "msg") stem.resize(stem.size() - 4);
  return stem;
}

/// One Outlook message as a mail message (.eml) named after `stem`: its body ("<path>/0") and
/// each file ("<path>/<n>") through the policy, then each message attached to it converted the
/// same way and attached as message/rfc822 ("<path>/<n>" after the files, with a report line of
/// its own). The bytes are charged once, for the outermost .eml (which holds all the others).
/// Nullopt when the walk stopped (a limit of the whole item).
std::optional<mime::BuildPart> messageAsEml(MsgContents& c, const Part& p, std::string stem,
                                            bool outermost, WalkState& s) {
  BuiltMessage inner;
  if (!c.subject.empty()) inner.headers.push_back({"Subject", c.subject});
  if (!c.sender_name.empty()) inner.headers.push_back({"Comments", "sender: " + c.sender_name + " " + c.sender_address});
  auto body = [&](const std::string& text, bool html) {
    Part b;
    b.path = p.path + "/0";
    b.depth = p.depth + 1;
    b.data = text;
    b.declared_type = Untrusted<std::string>(html ? "text/html" : "text/plain");
    b.charset = Untrusted<std::string>(html ? "" : "utf-8");
    b.detected = {html ? "text/html" : "text/plain", "Outlook message body"};
    LeafResult r = processLeaf(b, true, s);
    if (r.kind == LeafResult::Kind::Body) inner.bodies.push_back(std::move(r.part));
  };
  if (!c.body_text.empty()) body(c.body_text, false);
  else if (!c.body_html.empty()) body(c.body_html, true);
  members(c.files, p, s, inner);
  for (std::size_t k = 0; k < c.embedded.size() && !s.stopped(); ++k) {
    Part m;
    m.path = p.path + "/" + std::to_string(c.files.size() + k + 1);
    m.depth = p.depth + 1;
    MsgContents& attached = c.embedded[k];
    const std::string& shown = attached.attachment_name.empty() ? attached.subject : attached.attachment_name;
    auto eml = messageAsEml(attached, m, shown, false, s);
    if (!eml) continue;
    ActionRecord rec;
    rec.part = m.path;
    rec.filename = shown.empty() ? eml->filename : shown;  // as Outlook showed it
    rec.findings.push_back({"delivered_as", eml->filename});
    rec.declared_type = "message/rfc822";
    rec.sanitizer = "mime.outlook_msg";
    rec.action = "rebuilt";
    rec.reason = std::string(reasonInfo(Reason::CdrConverted).name);
    rec.detail = "a message attached inside an Outlook message: delivered as an .eml, its body and each file through the rules";
    rec.bytes_out = eml->data.size();
    s.report.actions.push_back(std::move(rec));
    inner.attachments.push_back(std::move(*eml));
  }
  if (s.stopped()) return std::nullopt;
  stem = withoutMsgSuffix(std::move(stem));
  text::FilenameOptions name_opts;
  name_opts.max_bytes = 120;
  name_opts.fallback = "message";
  mime::BuildPart part;
  part.mime_type = "message/rfc822";
  part.disposition = "attachment";
  part.filename = text::sanitizeFilename(stem, name_opts) + ".eml";
  part.data = writeMessage(inner, "", {});
  if (!outermost) return part;
  if (auto over = s.budget.chargeDecoded(part.data.size())) {
    s.raise(s.policy.verdictFor(*over, s.override_rules), *over);
    return std::nullopt;
  }
  return part;
}

std::size_t attachedMessages(const MsgContents& c) {
  std::size_t n = c.embedded.size();
  for (const auto& m : c.embedded) n += attachedMessages(m);
  return n;
}

std::size_t objectsNotExtracted(const MsgContents& c) {
  std::size_t n = c.objects_not_extracted;
  for (const auto& m : c.embedded) n += objectsNotExtracted(m);
  return n;
}

}  // namespace

/// Outlook .msg: converted to a mail message (.eml) whose body and files (and the messages
/// attached to it, each as an .eml of its own) each went through the policy, attached in its
/// place; a .msg that cannot be read is removed.
void convertOutlookMsg(const mime::Entity& e, const Part& p, WalkState& s, BuiltMessage& out) {
  MsgContents c = readOutlookMsg(p.data, s.ctx.limits, s.budget);
  ActionRecord rec = containerRecord(e, p, "mime.outlook_msg");
  if (!c.ok) return refuseContainer(std::move(rec), c.failure.value_or(Reason::ParseMalformed),
                                    "Outlook message: " + c.detail, s);
  if (auto over = chargeMembers(c.totalFiles() + attachedMessages(c), s))
    return refuseContainer(std::move(rec), *over, overMembers("Outlook message", s), s);
  auto part = messageAsEml(c, p, e.filename.empty() ? c.subject : e.filename, true, s);
  if (!part) return;
  rec.action = "rebuilt";
  rec.reason = std::string(reasonInfo(Reason::CdrConverted).name);
  rec.detail = "Outlook message converted to a mail message: its body and each file went through the rules";
  rec.findings.push_back({"delivered_as", part->filename});
  rec.findings.push_back({"unpacked_files", std::to_string(c.totalFiles())});
  if (std::size_t m = attachedMessages(c))
    rec.findings.push_back({"attached_messages", std::to_string(m) + " (each delivered as an .eml inside)"});
  if (std::size_t o = objectsNotExtracted(c))
    rec.findings.push_back({"removed_embedded_objects", std::to_string(o)});
  rec.bytes_out = part->data.size();
  s.report.actions.push_back(std::move(rec));
  s.raise(Verdict::Modified, Reason::CdrConverted);
  s.any_notice_item = true;
  out.attachments.push_back(std::move(*part));
}

}  // namespace mugai::pipeline
