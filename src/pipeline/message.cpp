// Walks a parsed message and builds its sanitized form: which headers survive, which part is the
// body, what becomes of alternatives, attached messages and encrypted content.
#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "mugai/text/charset.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

/// Headers that survive, decoded to UTF-8 and written again. Everything else (X-*, DKIM,
/// Disposition-Notification-To, List-* tracking, vendor headers) is dropped.
constexpr std::string_view kKeptHeaders[] = {
    "Received", "Date", "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Message-ID",
    "In-Reply-To", "References", "Importance", "Priority", "X-Priority", "Auto-Submitted",
    "Precedence", "List-Id"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<mime::HeaderField> keptHeaders(const mime::Entity& e) {
  std::vector<mime::HeaderField> out;
  for (const auto& h : e.headers) {
    for (auto k : kKeptHeaders) {
      if (iequals(h.name, k)) {
        bool address = k == "From" || k == "Sender" || k == "Reply-To" || k == "To" || k == "Cc";
        out.push_back({std::string(k), address ? mime::decodeAddressHeader(h.value)
                                               : mime::decodeHeaderText(h.value)});
        break;
      }
    }
  }
  return out;
}

/// Text a reader can be shown as it is: no NUL and no control bytes other than TAB, LF, CR, FF
/// and ESC (ISO-2022-JP). One pass, no allocation.
bool plainlyText(std::string_view data) {
  for (unsigned char c : data) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) return false;
  }
  return true;
}

Part partOf(const mime::Entity& e, const MessageContext& ctx, bool body_candidate) {
  Part p;
  p.path = e.path;
  p.depth = e.depth;
  p.data = e.body;
  p.declared_type = Untrusted<std::string>(e.mimeType());
  p.filename = Untrusted<std::string>(e.filename);
  p.charset = Untrusted<std::string>(e.charset);
  p.attachment = e.disposition == "attachment" || !e.filename.empty();
  if (body_candidate && plainlyText(e.body)) {
    // An inline body that is plainly text becomes UTF-8 text/plain whatever libmagic would call
    // it (shell script, C source, ...), so libmagic's costly text rules are skipped (~0.75 ms per
    // 2 KB measured); anything with binary bytes still goes to libmagic and may be routed as a file.
    p.detected = {e.subtype == "html" ? "text/html" : "text/plain", "inline text body"};
  } else {
    p.detected = ctx.detector->detect(e.body);
  }
  return p;
}

/// Encrypted content cannot be inspected. (Signatures are not encryption: multipart/signed is
/// walked and its signature part goes through the rules like any attachment.)
bool isEncrypted(const mime::Entity& e) {
  std::string t = e.mimeType();
  return t == "multipart/encrypted" || t == "application/pkcs7-mime" ||
         t == "application/x-pkcs7-mime" || t == "application/pgp-encrypted";
}

bool blankText(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

class Builder {
 public:
  Builder(WalkState& s, BuiltMessage& out) : s_(s), out_(out) {}

  void collect(const mime::Entity& e) {
    if (s_.stopped()) return;
    if (isEncrypted(e)) return encrypted(e);
    if (e.isMultipart() && !(e.defects & mime::kDefectNoBoundaryParam)) {
      if (e.subtype == "alternative") return alternative(e);
      for (const auto& c : e.children) collect(c);
      return;
    }
    if (e.isMessage() && e.children.size() == 1) return attachedMessage(e);
    leaf(e);
  }

 private:
  void leaf(const mime::Entity& e) {
    bool declared_text = e.type == "text" && (e.subtype == "plain" || e.subtype == "html");
    bool body_candidate = declared_text && e.disposition != "attachment" && e.filename.empty();
    Part p = partOf(e, s_.ctx, body_candidate);
    if (!body_candidate && (e.defects & (mime::kDefectBadBase64 | mime::kDefectUnknownEncoding))) {
      // An attachment that cannot be decoded exactly never passes (bodies become text anyway).
      ActionRecord rec;
      rec.part = p.path;
      rec.filename = p.filename.unverifiedValue();
      rec.declared_type = p.declared_type.unverifiedValue();
      rec.detected_type = p.detected.mime;
      rec.action = "removed";
      rec.reason = std::string(reasonInfo(Reason::DecodeError).name);
      rec.sanitizer = "mime";
      rec.detail = e.defects & mime::kDefectBadBase64 ? "damaged base64" : "unknown transfer encoding";
      rec.bytes_in = p.data.size();
      s_.report.actions.push_back(std::move(rec));
      s_.raise(s_.policy.verdictFor(Reason::DecodeError, s_.override_rules), Reason::DecodeError);
      s_.any_notice_item = true;
      return;
    }
    LeafResult r = processLeaf(p, body_candidate, s_);
    if (r.kind == LeafResult::Kind::Body) out_.bodies.push_back(std::move(r.part));
    if (r.kind == LeafResult::Kind::Attachment) out_.attachments.push_back(std::move(r.part));
  }

  /// multipart/alternative collapses to one text body: the plain text when it says something,
  /// else the HTML (converted), else a nested multipart (e.g. related). Non-text alternatives
  /// (text/calendar invitations) are kept as attachments through the rules.
  void alternative(const mime::Entity& e) {
    const mime::Entity* plain = nullptr;
    const mime::Entity* html = nullptr;
    const mime::Entity* nested = nullptr;
    for (const auto& c : e.children) {
      bool body = c.disposition != "attachment" && c.filename.empty();
      if (body && c.mimeType() == "text/plain" && !plain && !blankText(c.body)) plain = &c;
      else if (body && c.mimeType() == "text/html" && !html) html = &c;
      else if (c.isMultipart() && !nested) nested = &c;
    }
    const mime::Entity* chosen = plain ? plain : html ? html : nested;
    for (const auto& c : e.children) {
      if (&c == chosen) {
        collect(c);
      } else if (c.type == "text" && (c.subtype == "plain" || c.subtype == "html") &&
                 c.disposition != "attachment" && c.filename.empty()) {
        dropped(c);
      } else if (c.isMultipart()) {
        dropped(c);
      } else {
        collect(c);
      }
    }
  }

  void dropped(const mime::Entity& c) {
    ActionRecord rec;
    rec.part = c.path;
    rec.declared_type = c.mimeType();
    rec.action = "dropped_alternative";
    rec.reason = std::string(reasonInfo(Reason::Kept).name);
    rec.sanitizer = "mime.alternative";
    rec.detail = "another representation of the same body was delivered";
    rec.body = true;
    s_.report.actions.push_back(std::move(rec));
  }

  void encrypted(const mime::Entity& e) {
    Verdict v = s_.policy.encrypted_action == policy::Action::Block
                    ? s_.policy.verdictFor(Reason::ContentEncrypted, s_.override_rules)
                    : Verdict::PartRemoved;
    ActionRecord rec;
    rec.part = e.path;
    rec.declared_type = e.mimeType();
    rec.filename = e.filename;
    rec.action = v >= Verdict::TempFail ? "blocked" : "removed";
    rec.reason = std::string(reasonInfo(Reason::ContentEncrypted).name);
    rec.sanitizer = "rules.encrypted_mime";
    rec.detail = "encrypted mail (S/MIME or PGP) cannot be inspected";
    s_.report.actions.push_back(std::move(rec));
    s_.raise(std::max(v, Verdict::PartRemoved), Reason::ContentEncrypted);
    s_.any_notice_item = true;
  }

  void attachedMessage(const mime::Entity& e) {
    const mime::Entity& inner = e.children.front();
    BuiltMessage built = buildMessage(inner, s_);
    if (s_.stopped()) return;
    mime::BuildPart part;
    part.mime_type = "message/rfc822";
    part.disposition = "attachment";
    std::string subject;
    for (const auto& h : built.headers) {
      if (h.name == "Subject") subject = h.value;
    }
    // The name is the sender's (or the subject): made safe, and always ending in .eml, so an
    // attached message can never be delivered as "../../run.bat" or "report.html".
    std::string stem = e.filename.empty() ? subject : e.filename;
    sanitizers::filename_sanitize::Options name_opts;
    name_opts.max_bytes = 120;
    name_opts.fallback = "message";
    part.filename = sanitizers::filename_sanitize::sanitizeFilename(stem, name_opts) + ".eml";
    part.data = writeMessage(built, "", {});
    // What we write counts too: nested attached messages cannot multiply the output.
    if (auto over = s_.budget.chargeDecoded(part.data.size())) {
      s_.raise(s_.policy.verdictFor(*over, s_.override_rules), *over);
      return;
    }
    ActionRecord rec;
    rec.part = e.path;
    rec.filename = part.filename;
    rec.declared_type = e.mimeType();
    rec.detected_type = "message/rfc822";
    rec.action = "rebuilt";
    rec.reason = std::string(reasonInfo(Reason::Kept).name);
    rec.sanitizer = "mime.message";
    rec.detail = "attached message sanitized part by part";
    rec.bytes_out = part.data.size();
    s_.report.actions.push_back(std::move(rec));
    out_.attachments.push_back(std::move(part));
  }

  WalkState& s_;
  BuiltMessage& out_;
};

}  // namespace

BuiltMessage buildMessage(const mime::Entity& root, WalkState& state) {
  BuiltMessage out;
  out.headers = keptHeaders(root);
  Builder(state, out).collect(root);
  return out;
}

std::string writeMessage(const BuiltMessage& built, const std::string& notice,
                         const std::vector<mime::HeaderField>& extra_headers) {
  std::vector<mime::HeaderField> headers = built.headers;
  for (const auto& h : extra_headers) headers.push_back(h);
  std::vector<mime::BuildPart> parts;
  if (!notice.empty()) {
    mime::BuildPart n;
    n.mime_type = "text/plain";
    n.disposition = "inline";
    n.data = notice;
    parts.push_back(std::move(n));
  }
  for (const auto& b : built.bodies) {
    mime::BuildPart p = b;
    p.disposition = "inline";
    parts.push_back(std::move(p));
  }
  for (const auto& a : built.attachments) parts.push_back(a);
  if (parts.empty()) {
    mime::BuildPart empty;
    empty.mime_type = "text/plain";
    parts.push_back(std::move(empty));
  }
  std::string out;
  if (parts.size() == 1 && parts.front().mime_type == "text/plain" && parts.front().filename.empty()) {
    mime::BuildPart single = parts.front();
    single.disposition.clear();
    out = mime::write(headers, single);
  } else {
    mime::BuildPart mixed;
    mixed.mime_type = "multipart/mixed";
    mixed.children = std::move(parts);
    out = mime::write(headers, mixed);
  }
  // write() returns "" only when it failed (out of memory): never deliver a message with parts
  // silently missing; the caller turns this into internal.error -> tempfail.
  if (out.empty()) throw std::runtime_error("the message could not be written");
  return out;
}

}  // namespace mugai::pipeline
