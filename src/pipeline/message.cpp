// Walks a parsed message and builds its sanitized form: which headers survive, which part is the
// body, what becomes of alternatives, attached messages and encrypted content.
#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "mugai/text/charset.h"
#include "mugai/text/filename.h"
#include "mugai/text/icalendar.h"
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

/// Removes the bidi controls that reorder what a reader sees (U+202A..E embeddings/overrides,
/// U+2066..9 isolates, U+200E/F marks, U+061C), as bodies and file names lose them; returns how
/// many went. Works on UTF-8 bytes; anything else is left to the header encoder.
std::size_t dropBidiControls(std::string& s) {
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto b = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
    bool bidi3 = b(0) == 0xE2 && ((b(1) == 0x80 && ((b(2) >= 0xAA && b(2) <= 0xAE) || b(2) == 0x8E || b(2) == 0x8F)) ||
                                  (b(1) == 0x81 && b(2) >= 0xA6 && b(2) <= 0xA9));
    bool alm = b(0) == 0xD8 && b(1) == 0x9C;
    if (bidi3 || alm) {
      i += bidi3 ? 2 : 1;
      ++n;
      continue;
    }
    out += s[i];
  }
  if (n) s = std::move(out);
  return n;
}

std::vector<mime::HeaderField> keptHeaders(const mime::Entity& e, std::vector<std::string>& cleaned) {
  std::vector<mime::HeaderField> out;
  for (const auto& h : e.headers) {
    for (auto k : kKeptHeaders) {
      if (iequals(h.name, k)) {
        bool address = k == "From" || k == "Sender" || k == "Reply-To" || k == "To" || k == "Cc";
        std::string value = address ? mime::decodeAddressHeader(h.value) : mime::decodeHeaderText(h.value);
        if (dropBidiControls(value)) cleaned.emplace_back(k);
        out.push_back({std::string(k), std::move(value)});
        break;
      }
    }
  }
  return out;
}

/// Letters and digits of a text: what it says, without layout, spaces and punctuation.
std::size_t significant(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) n += (c & 0xC0) != 0x80;  // one per non-ASCII character
    else n += std::isalnum(c) != 0;
  }
  return n;
}

/// Runs of digits with their separators ("15:00", "2026/12/10"): times, dates, amounts.
std::vector<std::string> numbers(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i <= s.size() && out.size() < 200; ++i) {
    char c = i < s.size() ? s[i] : ' ';
    bool digit = std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (digit || (!cur.empty() && (c == ':' || c == '/' || c == '.' || c == '-' || c == ','))) {
      cur += c;
      continue;
    }
    while (!cur.empty() && !std::isdigit(static_cast<unsigned char>(cur.back()))) cur.pop_back();
    if (cur.size() >= 2) out.push_back(cur);
    cur.clear();
  }
  return out;
}

bool stubPhrase(std::string_view plain) {
  std::string low(plain);
  for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view p : {"html", "web version", "view this email", "view it in your browser",
                             "ブラウザ", "表示できません", "表示されない", "表示できない"}) {
    if (low.find(p) != std::string::npos) return true;
  }
  return false;
}

/// The HTML alternative as the recipient would read it if it were chosen: the rules' html_body
/// chain (sanitizer.html_to_text, reached through the policy like every conversion: the engine
/// includes no sanitizer), run on a scratch copy of the budget — the comparison spends time, not
/// the message's decoded bytes — and recorded nowhere. Nothing when the chain does not make text.
std::optional<std::string> htmlAsDelivered(const mime::Entity& html, const WalkState& s) {
  Budget scratch = s.budget;
  MessageContext ctx{s.ctx.limits, scratch, nullptr, s.ctx.detector, nullptr};
  Part p;
  p.path = html.path;
  p.depth = html.depth;
  p.data = html.body;
  p.declared_type = Untrusted<std::string>(html.mimeType());
  p.charset = Untrusted<std::string>(html.charset);
  p.detected = {"text/html", "inline text body"};
  for (const auto& step : s.policy.html_body.steps) {
    Outcome o;
    try {
      o = step.instance->apply(p, ctx);
    } catch (...) {
      return std::nullopt;
    }
    if (o.verdict == Verdict::Modified && o.replacement) {
      p = std::move(*o.replacement);
    } else if (o.verdict != Verdict::Pass) {
      return std::nullopt;
    }
  }
  if (p.output_type != "text/plain") return std::nullopt;
  return std::move(p.data);
}

/// Why the plain alternative must not stand for the HTML one ("" when it may): a stub ("use an
/// HTML-capable client"), much less text, or times, dates and amounts the HTML has and it lacks.
std::string plainSaysLess(const mime::Entity& plain, const mime::Entity& html, const WalkState& s) {
  std::string p = text::toUtf8(plain.body, plain.charset).utf8;
  std::optional<std::string> h = htmlAsDelivered(html, s);
  if (!h) return "";  // the HTML cannot be rendered: the plain text is all there is
  std::size_t sp = significant(p), sh = significant(*h);
  if (sp < 400 && sh > sp && stubPhrase(p)) return "the plain text is a stub that points to the HTML";
  if (sh >= sp + 20 && sp * 10 < sh * 6) return "the plain text says much less than the HTML";
  for (const auto& n : numbers(*h)) {
    if (p.find(n) == std::string::npos) return "the HTML has \"" + n + "\", the plain text does not";
  }
  return "";
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

/// application/pkcs7-mime: signed-data or enveloped-data, told apart by smime-type and content.
bool isOpaqueSmime(const mime::Entity& e) {
  std::string t = e.mimeType();
  return t == "application/pkcs7-mime" || t == "application/x-pkcs7-mime";
}

bool blankText(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

class Builder {
 public:
  Builder(WalkState& s, BuiltMessage& out) : s_(s), out_(out) {}

  void collect(const mime::Entity& e) {
    if (s_.stopped()) return;
    if (isOpaqueSmime(e)) return opaqueSigned(e);
    if (isEncrypted(e)) return encrypted(e);
    if (e.isMultipart() && !(e.defects & mime::kDefectNoBoundaryParam)) {
      if (e.subtype == "alternative") return alternative(e);
      if (e.subtype == "signed" && !e.children.empty()) return signedMultipart(e);
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
    if (!body_candidate && p.detected.mime == "application/vnd.ms-tnef") return unpackTnef(e, p, s_, out_);
    if (!body_candidate && p.detected.mime == "application/vnd.ms-outlook")
      return convertOutlookMsg(e, p, s_, out_);
    LeafResult r = processLeaf(p, body_candidate, s_);
    if (r.kind == LeafResult::Kind::Body) out_.bodies.push_back(std::move(r.part));
    if (r.kind == LeafResult::Kind::Attachment) {
      if (r.part.mime_type == "text/calendar") invitation(e, r.part);
      labelKeptText(r.part);
      out_.attachments.push_back(std::move(r.part));
    }
  }

  /// A calendar keeps what makes it an invitation: its METHOD (REQUEST, CANCEL, REPLY...) in the
  /// Content-Type, read from the rebuilt calendar (never from the sender's header), and an inline
  /// disposition when the sender's part was not an attachment (Outlook, Google Calendar).
  static void invitation(const mime::Entity& e, mime::BuildPart& part) {
    std::string method = text::calendarMethod(part.data);
    if (method.empty()) return;
    part.params.push_back({"method", method});
    if (e.disposition != "attachment" && e.filename.empty()) {
      part.disposition = "inline";
      part.filename.clear();
    }
  }

  /// multipart/alternative collapses to one text body: the plain text when it says something,
  /// else the HTML (converted), else a nested multipart (e.g. related). Non-text alternatives
  /// (text/calendar invitations) go through the rules; a calendar stays an invitation.
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
    std::string why;
    if (plain && html) why = plainSaysLess(*plain, *html, s_);
    if (!why.empty()) chosen = html;  // what the sender wrote in HTML must not vanish
    for (const auto& c : e.children) {
      if (&c == chosen) {
        collect(c);
      } else if (&c == plain && !why.empty()) {
        dropped(c, why + "; the HTML was delivered as text");
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

  /// multipart/signed (S/MIME or PGP/MIME): the signed content goes through the policy like any
  /// content; the signature cannot survive sanitizing, and the recipient is told so.
  void signedMultipart(const mime::Entity& e) {
    collect(e.children.front());
    for (std::size_t i = 1; i < e.children.size(); ++i) signatureGone(e.children[i]);
  }

  /// Opaque S/MIME: signed-data is unwrapped (OpenSSL CMS) and its content walked like the rest;
  /// enveloped (encrypted) data, or anything that is not signed data, stays refused.
  void opaqueSigned(const mime::Entity& e) {
    auto st = e.params.find("smime-type");
    std::string type = st == e.params.end() ? "" : st->second;
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (type != "" && type != "signed-data") return encrypted(e);
    SignedContent sc = unwrapSignedData(e.body, s_.ctx.limits.decoded_bytes_limit);
    if (!sc.ok) return encrypted(e);
    if (s_.unwrapped >= 2) return refuseWhole(e, Reason::LimitMimeDepth, "signed data nested in signed data");
    if (auto over = s_.budget.chargeDecoded(sc.content.size())) return refuseWhole(e, *over, "signed content");
    mime::ParseResult inner = mime::parse(sc.content, s_.budget);
    if (inner.failure) return refuseWhole(e, *inner.failure, inner.detail);
    prefixPaths(inner.root, e);
    ++s_.unwrapped;
    collect(inner.root);
    --s_.unwrapped;
    signatureGone(e);
  }

  /// Paths of an unwrapped entity continue its container's ("2" -> "2.1", ...).
  static void prefixPaths(mime::Entity& root, const mime::Entity& outer) {
    std::vector<mime::Entity*> todo{&root};
    while (!todo.empty()) {
      mime::Entity* x = todo.back();
      todo.pop_back();
      if (!outer.path.empty()) x->path = x->path.empty() ? outer.path : outer.path + "." + x->path;
      x->depth += outer.depth + 1;
      for (auto& c : x->children) todo.push_back(&c);
    }
  }

  void signatureGone(const mime::Entity& sig) {
    ActionRecord rec;
    rec.part = sig.path;
    rec.filename = sig.filename;
    rec.declared_type = sig.mimeType();
    rec.action = "unsigned";
    rec.reason = std::string(reasonInfo(Reason::SignatureRemoved).name);
    rec.sanitizer = "mime.signed";
    rec.detail = "the content was delivered; its digital signature could not be kept";
    rec.bytes_in = sig.body.size();
    s_.report.actions.push_back(std::move(rec));
    s_.raise(Verdict::Modified, Reason::SignatureRemoved);
    s_.any_notice_item = true;
  }

  void refuseWhole(const mime::Entity& e, Reason r, const std::string& detail) {
    ActionRecord rec;
    rec.part = e.path;
    rec.declared_type = e.mimeType();
    rec.filename = e.filename;
    Verdict v = std::max(s_.policy.verdictFor(r, s_.override_rules), Verdict::PartRemoved);
    rec.action = v >= Verdict::TempFail ? "blocked" : "removed";
    rec.reason = std::string(reasonInfo(r).name);
    rec.sanitizer = "mime.signed";
    rec.detail = detail;
    s_.report.actions.push_back(std::move(rec));
    s_.raise(v, r);
    s_.any_notice_item = true;
  }

  void dropped(const mime::Entity& c, const std::string& why = {}) {
    ActionRecord rec;
    rec.part = c.path;
    rec.declared_type = c.mimeType();
    rec.action = "dropped_alternative";
    rec.reason = std::string(reasonInfo(Reason::Kept).name);
    rec.sanitizer = "mime.alternative";
    rec.detail = why.empty() ? "another representation of the same body was delivered" : why;
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
    text::FilenameOptions name_opts;
    name_opts.max_bytes = 120;
    name_opts.fallback = "message";
    part.filename = text::sanitizeFilename(stem, name_opts) + ".eml";
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
  std::vector<std::string> cleaned;
  out.headers = keptHeaders(root, cleaned);
  for (const auto& name : cleaned) {
    ActionRecord rec;
    rec.part = root.path;
    rec.action = "header_cleaned";
    rec.reason = std::string(reasonInfo(Reason::Kept).name);
    rec.sanitizer = "mime.headers";
    rec.detail = "bidi control characters removed from " + name;
    state.report.actions.push_back(std::move(rec));
  }
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
