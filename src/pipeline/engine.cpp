// The Engine: process one message or one file under an immutable policy snapshot.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <unistd.h>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/text/charset.h"
#include "mugai/text/filename.h"
#include "src/pipeline/sender.h"
#include "src/pipeline/walker.h"

namespace mugai {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<std::string> defectNames(const mime::Entity& root) {
  static const std::pair<std::uint32_t, const char*> kNames[] = {
      {mime::kDefectBadBase64, "bad_base64"},
      {mime::kDefectBadQuotedPrintable, "bad_quoted_printable"},
      {mime::kDefectUnknownEncoding, "unknown_transfer_encoding"},
      {mime::kDefectMissingFinalBoundary, "missing_final_boundary"},
      {mime::kDefectNoBoundaryParam, "no_boundary_parameter"},
      {mime::kDefectStartBoundaryNotFound, "start_boundary_not_found"},
      {mime::kDefectMissingHeaderBodySeparator, "missing_header_body_separator"},
      {mime::kDefectFirstLineContinuation, "first_line_continuation"},
      {mime::kDefectHeaderSyntax, "header_syntax"},
      {mime::kDefectEightBitHeader, "eight_bit_header"},
      {mime::kDefectNulBytes, "nul_bytes"},
      {mime::kDefectBareNewline, "bare_newline"},
      {mime::kDefectEncryptedOrSigned, "encrypted_or_signed"},
      {mime::kDefectRepairedAmbiguity, "repaired_ambiguous_disposition"},
  };
  std::uint32_t all = 0;
  std::vector<const mime::Entity*> stack{&root};
  while (!stack.empty()) {
    const mime::Entity* e = stack.back();
    stack.pop_back();
    all |= e->defects;
    for (const auto& c : e->children) stack.push_back(&c);
  }
  std::vector<std::string> out;
  for (const auto& [bit, name] : kNames) {
    if (all & bit) out.push_back(name);
  }
  return out;
}

/// Copies the walk's verdict into the result.
void finish(ProcessResult& r, const pipeline::WalkState& s, Clock::time_point start) {
  r.verdict = s.verdict;
  r.report.final_verdict = s.verdict;
  r.report.reason = s.reason;
  r.report.elapsed_ms = msSince(start);
}

/// The text body as delivered, for the vault record (ProcessResult::body_text): the UTF-8 text
/// parts in order, a blank line between them, cut at `limit` bytes on a character boundary with a
/// mark. A part kept in another charset is named, not copied (its bytes are not UTF-8).
std::string bodyText(const pipeline::BuiltMessage& built, std::uint64_t limit) {
  if (limit == 0) return "";
  std::string out;
  for (const auto& b : built.bodies) {
    if (!out.empty()) out += "\n\n";
    const bool utf8 = b.charset.empty() || b.charset == "utf-8" || b.charset == "UTF-8";
    if (utf8 && text::isValidUtf8(b.data)) {
      out += b.data;
    } else {
      out += "[" + b.mime_type + " (" + b.charset + ")]";
    }
    if (out.size() > limit) break;
  }
  std::erase(out, '\r');
  if (out.size() <= limit) return out;
  static const std::string kCut = "\n[…]";
  std::size_t end = limit > kCut.size() ? limit - kCut.size() : 0;
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;  // a lead byte
  out.resize(end);
  return end + kCut.size() <= limit ? out + kCut : out;
}

bool noticeEnabled(const policy::Policy& pol, const policy::Override* ov) {
  return ov && ov->notice_enabled ? *ov->notice_enabled : pol.notice.enabled;
}

/// The message that replaces a blocked one: original envelope headers, the notice as its body.
std::string blockedNotice(const pipeline::BuiltMessage& built, const std::string& notice,
                          const std::string& id) {
  pipeline::BuiltMessage stub;
  stub.headers = built.headers;
  bool has_subject = std::any_of(stub.headers.begin(), stub.headers.end(),
                                 [](const mime::HeaderField& h) { return h.name == "Subject"; });
  if (!has_subject) stub.headers.push_back({"Subject", "メール無害化: 配信停止 / message blocked"});
  return pipeline::writeMessage(stub, notice, {{"X-Mugai-Verdict", "blocked"}, {"X-Mugai-Id", id}});
}

}  // namespace

bool ProcessResult::keepOriginal() const {
  if (verdict >= Verdict::Quarantine) return true;
  // Anything taken out must stay retrievable: nothing is ever silently dropped. A rebuilt file
  // (macros, scripts, embedded objects cut out; an archive repacked) counts too: the security
  // team reviews what was removed, and a recipient may need the original from the administrator.
  for (const auto& a : report.actions) {
    // "unsigned": the signed original is what a recipient needs to check the signature.
    if (a.action == "removed" || a.action == "blocked" || a.action == "rebuilt" || a.action == "unsigned")
      return true;
  }
  return false;
}

Engine::Engine(EngineServices services) : services_(std::move(services)) {}

Engine::~Engine() = default;

ProcessResult Engine::processMessage(std::string_view raw, const Envelope& envelope,
                                     const std::string& id) const {
  auto start = Clock::now();
  const policy::Policy& pol = *services_.policy;
  const policy::Override* ov = pol.match(envelope.sender, envelope.recipients);
  ProcessResult r;
  r.report.id = id;
  r.report.kind = "mail";
  r.report.sender = envelope.sender;
  r.report.recipients = envelope.recipients;
  r.report.rules = pol.source;
  r.report.bytes_in = raw.size();
  Budget budget(pol.limits, start);
  MessageContext ctx{pol.limits, budget, services_.scanner.get(), services_.detector.get()};
  pipeline::WalkState s{pol, ov, budget, ctx, r.report};
  pipeline::WalkMembers members(s);
  ctx.members = &members;

  pipeline::BuiltMessage built;
  try {
    if (raw.size() > pol.limits.message_size_limit) {
      s.raise(pol.verdictFor(Reason::LimitMessageSize, ov), Reason::LimitMessageSize);
    } else {
      mime::ParseResult parsed = mime::parse(raw, budget);
      r.report.defects = defectNames(parsed.root);
      if (const std::string* subj = parsed.root.header("Subject")) r.report.subject = mime::decodeHeaderText(*subj);
      if (const std::string* from = parsed.root.header("From")) r.report.from = mime::decodeHeaderText(*from);
      if (const std::string* mid = parsed.root.header("Message-ID")) r.report.message_id = mime::decodeHeaderText(*mid);
      if (parsed.failure) {
        ActionRecord rec;
        rec.action = "blocked";
        rec.reason = std::string(reasonInfo(*parsed.failure).name);
        rec.sanitizer = "mime";
        rec.detail = parsed.detail;
        r.report.actions.push_back(std::move(rec));
        s.raise(std::max(pol.verdictFor(*parsed.failure, ov), Verdict::TempFail), *parsed.failure);
      }
      built = pipeline::buildMessage(parsed.root, s);
      // Issue 14: the ingress's authentication as Authentication-Results, then the warnings.
      pipeline::applyAuthentication(parsed.root, envelope.auth, built, r.report);
      pipeline::senderWarnings(parsed.root, envelope.auth, s, built);
    }
  } catch (const std::exception& e) {
    s.raise(Verdict::TempFail, Reason::InternalError);
    r.report.defects.push_back(std::string("internal: ") + e.what());
  } catch (...) {
    s.raise(Verdict::TempFail, Reason::InternalError);
  }
  finish(r, s, start);
  if (r.verdict == Verdict::TempFail) return r;  // the sender's MTA keeps it and retries
  try {
    bool notice_on = noticeEnabled(pol, ov);
    if (r.blocked()) {
      if (notice_on) {
        r.output =
            blockedNotice(built, pipeline::buildNotice(pol.notice, pol.vault, r.report, true, true, envelope.console_url), id);
        r.notice_only = true;
      }
    } else {
      std::string notice = notice_on && s.any_notice_item ? pipeline::buildNotice(pol.notice, pol.vault, r.report, false, r.keepOriginal(), envelope.console_url) : "";
      r.output = pipeline::writeMessage(
          built, notice, {{"X-Mugai-Verdict", r.report.verdictWord()}, {"X-Mugai-Id", id}});
      r.body_text = bodyText(built, pol.limits.vault_body_text_limit);
    }
  } catch (const std::exception& e) {
    r.output.clear();
    r.verdict = r.report.final_verdict = Verdict::TempFail;
    r.report.reason = Reason::InternalError;
    r.report.defects.push_back(std::string("internal: ") + e.what());
  }
  if (!r.blocked() && !r.output.empty()) scanDelivered(r, built, pol, ov, envelope.console_url);
  r.report.bytes_out = r.output.size();
  r.report.elapsed_ms = msSince(start);
  return r;
}

void Engine::scanDelivered(ProcessResult& r, const pipeline::BuiltMessage& built,
                           const policy::Policy& pol, const policy::Override* ov,
                           const std::string& console_url) const {
  // The last look: every part of the delivered message was already scanned (its original, and its
  // output when a chain changed it); what no part scan saw is the header block we wrote. It is
  // scanned here (measured: scanning the whole message again made libclamav re-parse it as mail,
  // 22% of an HTML message's time). Anything found cannot be pinned to a part: the message stops.
  if (!services_.scanner) return;
  std::string_view headers = r.output;
  if (auto end = headers.find("\r\n\r\n"); end != std::string_view::npos) headers = headers.substr(0, end + 2);
  ScanResult sr = services_.scanner->scan(headers, "delivered headers");
  if (sr.status == ScanResult::Status::Clean) return;
  Reason reason = sr.status == ScanResult::Status::Infected     ? Reason::AvInfected
                  : sr.status == ScanResult::Status::Incomplete ? Reason::AvIncomplete
                                                                : Reason::AvError;
  Verdict v = sr.status == ScanResult::Status::Error ? Verdict::TempFail
              : std::max(pol.verdictFor(reason, ov), Verdict::Quarantine);
  if (sr.status == ScanResult::Status::Infected) {
    r.report.detections.push_back({"", "", sr.signature, "delivered"});
  }
  ActionRecord rec;
  rec.action = v == Verdict::TempFail ? "tempfail" : "blocked";
  rec.reason = std::string(reasonInfo(reason).name);
  rec.sanitizer = "scan.delivered";
  rec.detail = "found in the message as it would be delivered" + (sr.signature.empty() ? "" : ": " + sr.signature);
  r.report.actions.push_back(std::move(rec));
  r.verdict = r.report.final_verdict = v;
  r.report.reason = reason;
  r.output.clear();
  if (v != Verdict::TempFail && (ov && ov->notice_enabled ? *ov->notice_enabled : pol.notice.enabled)) {
    // The finding may sit in a header: the notice carries only the addressing headers.
    pipeline::BuiltMessage addressing;
    for (const auto& h : built.headers) {
      if (h.name == "From" || h.name == "To" || h.name == "Cc" || h.name == "Date" ||
          h.name == "Message-ID") {
        addressing.headers.push_back(h);
      }
    }
    r.output = blockedNotice(addressing, pipeline::buildNotice(pol.notice, pol.vault, r.report, true, true, console_url),
                             r.report.id);
    r.notice_only = true;
  }
}

ProcessResult Engine::processFile(std::string_view data, const std::string& untrusted_filename,
                                  const std::string& id) const {
  auto start = Clock::now();
  const policy::Policy& pol = *services_.policy;
  ProcessResult r;
  r.report.id = id;
  r.report.kind = "file";
  r.report.filename = untrusted_filename;
  r.report.rules = pol.source;
  r.report.bytes_in = data.size();
  Budget budget(pol.limits, start);
  MessageContext ctx{pol.limits, budget, services_.scanner.get(), services_.detector.get()};
  pipeline::WalkState s{pol, nullptr, budget, ctx, r.report};
  pipeline::WalkMembers members(s);
  ctx.members = &members;
  pipeline::LeafResult leaf;
  try {
    if (data.size() > pol.limits.message_size_limit) {
      s.raise(pol.verdictFor(Reason::LimitMessageSize), Reason::LimitMessageSize);
      ActionRecord rec;
      rec.filename = untrusted_filename;
      rec.action = "blocked";
      rec.reason = std::string(reasonInfo(Reason::LimitMessageSize).name);
      rec.sanitizer = "limits";
      rec.detail = "file larger than message_size_limit";
      r.report.actions.push_back(std::move(rec));
    } else if (auto refused = budget.chargeDecoded(data.size())) {
      s.raise(Verdict::Reject, *refused);
    } else {
      Part p;
      p.data = std::string(data);
      p.filename = Untrusted<std::string>(untrusted_filename);
      p.attachment = true;
      p.detected = services_.detector->detect(p.data);
      leaf = pipeline::processLeaf(p, false, s);
    }
  } catch (const std::exception& e) {
    s.raise(Verdict::TempFail, Reason::InternalError);
    r.report.defects.push_back(std::string("internal: ") + e.what());
  } catch (...) {
    s.raise(Verdict::TempFail, Reason::InternalError);
  }
  // A file is one item: removing its only part blocks it.
  if (leaf.kind != pipeline::LeafResult::Kind::Attachment && s.verdict < Verdict::TempFail) {
    s.verdict = Verdict::Reject;
    if (s.reason == Reason::Kept) s.reason = Reason::TypeRemoved;
  }
  finish(r, s, start);
  if (!r.blocked()) {
    r.output = std::move(leaf.part.data);
    r.output_filename = leaf.part.filename.empty()
                            ? text::sanitizeFilename(untrusted_filename)
                            : leaf.part.filename;
  }
  r.report.bytes_out = r.output.size();
  r.report.elapsed_ms = msSince(start);
  return r;
}

ProcessResult failedItemResult(const policy::Policy& pol, const Envelope& envelope,
                               const std::string& id, const std::string& filename,
                               std::uint64_t bytes_in, Reason reason, const std::string& detail,
                               const std::string& step) {
  const bool mail = filename.empty();
  const policy::Override* ov = mail ? pol.match(envelope.sender, envelope.recipients) : nullptr;
  ProcessResult r;
  r.report.id = id;
  r.report.kind = mail ? "mail" : "file";
  r.report.sender = envelope.sender;
  r.report.recipients = envelope.recipients;
  r.report.filename = filename;
  r.report.rules = pol.source;
  r.report.bytes_in = bytes_in;
  ActionRecord rec;
  rec.filename = filename;
  rec.action = "blocked";
  rec.reason = std::string(reasonInfo(reason).name);
  rec.sanitizer = step;
  rec.detail = detail;
  r.report.actions.push_back(std::move(rec));
  r.verdict = r.report.final_verdict = std::max(pol.verdictFor(reason, ov), Verdict::Quarantine);
  r.report.reason = reason;
  if (mail && noticeEnabled(pol, ov)) {
    // Nothing of the original is parsed here: the notice carries no header of it.
    r.output = blockedNotice({}, pipeline::buildNotice(pol.notice, pol.vault, r.report, true, true, envelope.console_url), id);
    r.notice_only = true;
  }
  return r;
}

std::string newItemId() {
  static std::atomic<std::uint32_t> counter{0};
  static const std::uint32_t salt = std::random_device{}() ^ static_cast<std::uint32_t>(getpid());
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::uint32_t n = counter.fetch_add(1, std::memory_order_relaxed);
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d-%06x-%04x", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, salt & 0xffffff,
                n & 0xffff);
  return buf;
}

namespace pipeline {

std::string typeFromExtension(const std::string& ext) {
  static const std::map<std::string, std::string> kTypes = {
      {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"png", "image/png"}, {"gif", "image/gif"},
      {"bmp", "image/*"}, {"tif", "image/tiff"}, {"tiff", "image/tiff"}, {"webp", "image/webp"},
      {"pdf", "application/pdf"}, {"zip", "application/zip"}, {"txt", "text/*"},
      {"csv", "text/*"}, {"html", "text/html"}, {"htm", "text/html"},
      {"docx", "application/vnd.openxmlformats-officedocument.*"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.*"},
      {"pptx", "application/vnd.openxmlformats-officedocument.*"},
  };
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "" : it->second;
}

}  // namespace pipeline
}  // namespace mugai
