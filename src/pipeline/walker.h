// Internal to src/pipeline: the per-item walk over a parsed message and the leaf decisions.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"

namespace mugai::pipeline {

/// Everything one item's walk needs; lives on the stack of Engine::process*().
struct WalkState {
  const policy::Policy& policy;
  const policy::Override* override_rules;
  Budget& budget;
  MessageContext& ctx;
  Report& report;
  Verdict verdict = Verdict::Pass;
  Reason reason = Reason::Kept;
  bool any_notice_item = false;  ///< something a person should be told about
  int unwrapped = 0;             ///< opaque signed-data layers opened so far (bounded)
  /// SHA-256 of the bytes judged in this item that may come back inside a container we write:
  /// kept archive members and checked outputs. A rebuilt package's output scan skips them
  /// (docs/scanning.md, "One scan per byte").
  std::set<std::string> judged;
  void judge(std::string key) {
    if (!key.empty()) judged.insert(std::move(key));
  }

  /// Records a verdict; the worst wins, and its reason becomes the item's reason.
  void raise(Verdict v, Reason r) {
    if (v > verdict || (v == verdict && v > Verdict::Pass && reason == Reason::Kept)) {
      verdict = v;
      reason = r;
    }
  }
  bool stopped() const { return verdict >= Verdict::TempFail; }
};

/// The sanitized form of a message entity: its headers and body tree.
struct BuiltMessage {
  std::vector<mime::HeaderField> headers;
  std::vector<mime::BuildPart> bodies;       ///< text/plain UTF-8 parts, in order
  std::vector<mime::BuildPart> attachments;  ///< files and attached messages, in order
};

/// The outcome of one leaf: nothing (removed), a body text, or an attachment.
struct LeafResult {
  enum class Kind { Gone, Body, Attachment } kind = Kind::Gone;
  mime::BuildPart part;
};

/// The engine side of MessageContext::members: archive members through processLeaf().
class WalkMembers : public MemberProcessor {
 public:
  explicit WalkMembers(WalkState& s) : s_(s) {}
  MemberResult process(Part member) override;

 private:
  WalkState& s_;
};

/// Decides one leaf (scan, route, chain, rename) and records it in the report.
LeafResult processLeaf(const Part& part, bool body_candidate, WalkState& state);

/// Builds the sanitized form of a whole message entity: its headers and body tree.
BuiltMessage buildMessage(const mime::Entity& root, WalkState& state);

/// Serializes `built` with `notice` (may be empty) as the first part.
std::string writeMessage(const BuiltMessage& built, const std::string& notice,
                         const std::vector<mime::HeaderField>& extra_headers);

/// The notice a person reads: Japanese first, English below, one line per item.
/// `original_kept`: the lines saying how to get the original (the rules' footer for a delivered
/// message, the release tier in words and where to ask, from `vault`) are written only when it
/// was kept; the reference number always. `console_url` (the service config's, through the
/// envelope): where to ask is CONSOLE_URL/items/ID rather than the rules' vault.contact.
std::string buildNotice(const policy::Notice& notice, const policy::VaultRules& vault,
                        const Report& report, bool blocked, bool original_kept,
                        const std::string& console_url = {});

/// Whether a line of the sender's text imitates mugai's own lines: the notice's end marker, its
/// heading, the link list's heading (body_text.cpp). Spaces, full-width letters and case do not help.
bool imitatesNoticeMarker(std::string_view line);

/// The two lines that end the notice and say where the sender's text begins; they carry the
/// message's ID, which the sender cannot know when writing the message.
std::string noticeEndMarker(const std::string& id);

/// A body's text as delivered: lines imitating mugai's marker replaced by a line saying so, links
/// shown as `policy.links` says (the footnote list headed with the message's ID). Findings for
/// the report: imitation_removed, links_<style>, links_over_limit.
std::string presentBodyText(std::string_view text, WalkState& s, std::vector<Finding>& findings);

/// A refusal decided before any chain ran (reason and operator-facing detail).
struct Refusal {
  Reason reason;
  std::string detail;
};

/// Cheap structural checks before the scan chain (prescreen.cpp): a ZIP's entry count.
std::optional<Refusal> prescreen(const Part& part, const Limits& limits);

/// What the first KB of a text file says it really is (text_route.cpp): a type to route it as,
/// or `disguised` (type.disguised: a format no chain of ours rebuilds, e.g. Flat OPC, MHTML, SYLK).
struct EmbeddedFormat {
  std::string route_type;
  std::string why;
  bool disguised = false;
};
std::optional<EmbeddedFormat> embeddedFormat(std::string_view data);

/// True when a file of `mime_type` (text/*) named *.ext opens as text on the recipient's side.
bool opensAsText(const std::string& mime_type, const std::string& ext);

/// `name` with ".txt" appended when it is kept as text (`mime_type` text/*) but its extension
/// would open it as something else (.rdp, .iqy, .theme, .py, .website, ...); for a delivered
/// PDF, RTF, picture, ZIP or Office file whose extension does not open that type (a rebuilt PDF
/// named ".html", ".svg" or ".rdp"), the type's own extension appended (".html.pdf").
std::string textSafeName(const std::string& name, const std::string& mime_type);

/// A file or an encrypted message written into a text body (body_blocks.cpp).
struct BodyBlock {
  std::string kind;            ///< "uuencode", "uuencode (base64)", "yEnc", "BinHex", "PGP message"
  std::size_t begin = 0, end = 0;  ///< byte range in the text, whole lines
  std::string name;            ///< the file name the block declares (untrusted)
  std::string data;            ///< decoded bytes
  bool decoded = false;        ///< false: damaged (taken out all the same)
  bool pgp = false;
};
std::vector<BodyBlock> findBodyBlocks(std::string_view text);

/// Takes every block out of a text body's bytes into `text`, judging decoded files through the
/// attachment policy (MessageContext::members) and PGP messages as encrypted MIME; records each
/// in the report. False when the item was stopped (blocked) on the way.
bool takeBodyBlocks(const Part& part, WalkState& s, std::string& text);

/// The content of an opaque S/MIME SignedData (DER), without verifying the signature.
struct SignedContent {
  bool ok = false;
  bool encrypted = false;  ///< the structure is enveloped (encrypted) data, not signed data
  std::string content;     ///< the signed MIME entity (headers + body)
  std::string detail;      ///< why not, for the report
};
SignedContent unwrapSignedData(std::string_view der, std::size_t max_bytes);

/// What a TNEF stream (winmail.dat) holds that is worth delivering (tnef.cpp).
struct TnefFile {
  std::string name;  ///< UTF-8, as the sender named it (untrusted)
  std::string data;
};
struct TnefContents {
  bool ok = false;
  bool limit = false;  ///< failed on a limit (else: malformed)
  std::string detail;
  std::string subject, body_text, body_html;
  bool rtf_body = false;  ///< a compressed RTF body was present
  std::string body_rtf;   ///< it decompressed (MS-OXRTFCP), within max_rtf_bytes; else empty
  std::vector<TnefFile> files;
};
TnefContents readTnef(std::string_view data, std::size_t max_files, std::size_t max_props,
                      std::size_t max_rtf_bytes);

/// What an Outlook .msg holds that is worth delivering (outlook_msg.cpp). Streams are charged to
/// `budget` before they are read.
struct MsgContents {
  bool ok = false;
  std::optional<Reason> failure;
  std::string detail;
  std::string subject, sender_name, sender_address, body_text, body_html;
  std::vector<TnefFile> files;
  /// Messages attached as messages (attach method 5, `__substg1.0_3701000D`): read the same way;
  /// the file and its attached messages at most archive_depth_limit levels, the file being level
  /// 1 as the outermost archive is (deeper: the whole .msg fails with limit.archive_depth).
  std::vector<MsgContents> embedded;
  /// For an attached message: the name Outlook shows for the attachment (PR_DISPLAY_NAME).
  std::string attachment_name;
  std::size_t objects_not_extracted = 0;  ///< OLE objects (method 6), never extracted

  /// Files here and in every embedded message (they count against archive_member_count_limit).
  std::size_t totalFiles() const;
};
MsgContents readOutlookMsg(std::string_view data, const Limits& limits, Budget& budget);

/// Containers the walker opens (containers.cpp): each file inside goes through processLeaf as
/// a member "<part>/<n>"; kept ones are appended to `out`.
void unpackTnef(const mime::Entity& e, const Part& p, WalkState& s, BuiltMessage& out);
void convertOutlookMsg(const mime::Entity& e, const Part& p, WalkState& s, BuiltMessage& out);
/// A text file kept as its bytes gets its real charset label (UTF-16, Shift_JIS, ...).
void labelKeptText(mime::BuildPart& part);

/// Type facts used by the router and the report.
bool isBodyTextType(const std::string& detected_mime);
std::string typeFromExtension(const std::string& ext);

}  // namespace mugai::pipeline
