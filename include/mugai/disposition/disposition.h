/**
 * @file disposition.h
 * @brief What happens after the engine, in one place: the vault record, the answer the ingress
 *        gives (SMTP reply, file-drop claim), the log line, and the one point where a finished
 *        item is reported (metrics, syslog).
 *
 * The seam (../shared/ARCHITECTURE.md §1.10): an ingress (SMTP relay, file drop, later a milter)
 * hands over (raw bytes, Arrival) and the ItemProcessor's result, and speaks its protocol with
 * what it gets back. It never decides what a verdict means.
 *
 * Trust: the original, the report and everything in the Arrival are sender-controlled data: stored
 *        and logged (escaped), never parsed here (the process that parsed them is elsewhere).
 * Limits: one record per item (the original <= message_size_limit, bounded by the ingress).
 * Errors: a vault write that fails is a temporary failure (SMTP 451; the file stays claimed and
 *         is retried): never an answer that lets the sender drop a message whose original is not
 *         stored. Nothing throws.
 *
 * Order (mail): processor result -> record the original when it must be kept (before anything
 * is relayed, so before any 250) -> relay -> answer; a relay that is deferred (4xx, the client
 * keeps its copy and retries) discards the record again, unless the next hop may have the
 * message after all. Clean mail (nothing removed, nothing rebuilt) is not written.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/pipeline/item_processor.h"

namespace mugai::vault {
class Vault;
class Staged;
struct NewRecord;
}  // namespace mugai::vault

namespace mugai::disposition {

/// Where an item came from, as its ingress saw it.
struct Arrival {
  std::string kind = "mail";  ///< "mail" | "file"
  Envelope envelope;          ///< sender, recipients, client name and address, HELO
  std::string xforward;       ///< XFORWARD attributes as received ("NAME=... ADDR=..."), or ""
  std::string source;         ///< file drop: the inbox path as text ("/user/folder/name")
  std::string facts;          ///< the ingress's part of the log line ("client=... to=... size=N")
  /// The original staged in the vault while the engine ran (Disposition::stage), or null.
  std::shared_ptr<vault::Staged> staged;
};

/// The answer for the ingress: an SMTP reply (code and text); the file drop reads `ok()`.
struct Answer {
  int code = 451;
  std::string text = "4.3.0 Error: temporary failure, try again later";
  bool ok() const { return code >= 200 && code < 300; }
};

/// What the next hop said (the SMTP ingress relays; the disposition maps it).
struct HopResult {
  int code = 0;
  std::string text;              ///< the reply text our client gets when it is passed on
  std::string detail;            ///< for the log only
  std::string hop;               ///< "host:port"
  bool maybe_delivered = false;  ///< sent whole, no valid answer: the next hop may have it
  bool delivered() const { return code >= 200 && code < 300; }
};

/// One finished item, reported once (the call point for metrics and the SIEM event).
struct ItemOutcome {
  std::string id, kind;
  std::string verdict;               ///< clean | sanitized | blocked | tempfail | busy | refused
  std::string reason;                ///< the main reason's name ("" when not judged)
  std::vector<std::string> reasons;  ///< every reason in the report
  bool recorded = false;             ///< the original is in the vault under `id`
  int reply_code = 0;                ///< SMTP: what the client got; file drop: 0
  std::string relay_status;          ///< SMTP: sent | deferred | bounced, "" when not relayed
  std::uint64_t bytes_in = 0, bytes_out = 0;
  double elapsed_ms = 0;
  Envelope envelope;                 ///< as the ingress saw it (file drop: the staff member)
  std::string filename;              ///< file drop: where the file was found (share-relative)
  const Report* report = nullptr;    ///< the item's report (valid during the call); null: busy
  std::string line;                  ///< the log line written for it
};

struct Options {
  std::shared_ptr<vault::Vault> vault;  ///< required: where originals are kept
  /// Writes one whole log line; default: stderr, "mugai: LINE".
  std::function<void(const std::string&)> log;
  /// Called by finished() after the log line and the monitoring event (tests).
  std::function<void(const ItemOutcome&)> observer;
};

/// Result of a record write.
enum class Stored { Written, Present, Failed };

/// One mail message between the item processor and the answer; the ingress holds it.
struct MailItem {
  std::string id;
  Arrival arrival;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::string what;       ///< the log line so far (the report's words, what was done)
  bool recorded = false;  ///< its original is in the vault
  std::uint64_t bytes_in = 0;
  std::string relay_status;  ///< sent | deferred | bounced once relayed
};

class Disposition {
 public:
  explicit Disposition(Options options);
  ~Disposition();
  Disposition(const Disposition&) = delete;
  Disposition& operator=(const Disposition&) = delete;

  vault::Vault& vault() const { return *options_.vault; }

  /// Mail, no result: the processor was busy (queue full, queued too long). 451 4.3.2, logged.
  Answer busy(MailItem& item, const std::string& why);
  /// Mail, while the processor works on it: stages a large original in the vault (compressed,
  /// hashed, its file written and synced) in the session's otherwise idle thread, so that a
  /// message that must be kept then waits only for its record's commit (docs/vault.md). A
  /// message under 64 KiB is not staged (clean plain mail is never written).
  void stage(MailItem& item, std::string_view original);
  /// Mail, after the processor. Records the original when it must be kept. Returns the final
  /// answer (451 TempFail or a failed vault write; 554 for a blocked item without a notice), or
  /// nullopt: relay `result.output` to the next hop, then call relayed().
  std::optional<Answer> decide(MailItem& item, std::string_view original,
                               const ProcessResult& result, const policy::Policy& policy);
  /// Mail, after the relay: the answer for the client. A deferral discards the record (the client
  /// retries with its own copy) unless the next hop may have the message; a permanent refusal of
  /// a message not recorded yet records it (the client bounces and drops its copy).
  Answer relayed(MailItem& item, std::string_view original, const ProcessResult& result,
                 const policy::Policy& policy, const HopResult& hop);

  /// File drop (and `mugai mail/file --vault`): writes the record for an item whose original must
  /// be kept. `delivered_id`: what was delivered instead (outbox path, Message-ID). Present: a
  /// record with this id exists (a retry after a crash: the claim id is stable), which counts as
  /// stored. `refusal` (file drop): the entry was refused before any engine ran (a link, a FIFO):
  /// `result` is then only the report the ingress made.
  Stored record(const std::string& id, std::string_view original, const Arrival& arrival,
                const ProcessResult& result, const policy::Policy& policy,
                const std::string& delivered_id, std::string* error);

  /// The one call point for a finished item: writes outcome.line and tells the observer.
  void finished(const ItemOutcome& outcome);

  /// The log line's one formatter: "WHAT FACTS reply=\"CODE TEXT\"[ delay=Nms]".
  static std::string transactionLine(const std::string& what, const std::string& facts,
                                     const Answer* answer, double delay_ms = -1);

 private:
  Answer finish(MailItem& item, const Answer& answer, const ProcessResult* result);
  Options options_;
};

/// The vault record for an item (what record() stores): envelope, report, reasons, every removed
/// or rewritten object with its SHA-256, tier and expiry from the rules' vault section.
vault::NewRecord makeRecord(const std::string& id, std::string_view original,
                            const Arrival& arrival, const ProcessResult& result,
                            const policy::Policy& policy, const std::string& delivered_id,
                            std::int64_t now);

/// Writes one whole line to stderr as "mugai: LINE" (lines from several threads never interleave).
void logLine(const std::string& line);

}  // namespace mugai::disposition
