/**
 * @file vault.h
 * @brief The vault: every kept original with its report, envelope, retention, release state and a
 *        hash-chained audit log, behind one interface (SQLite embedded; PostgreSQL later).
 *
 * Trust: record contents (addresses, subjects, names, report text) are sender-controlled and are
 *        stored as data, never interpreted; the actor names come from the caller (CLI --by, the
 *        console's session) and are checked against the Directory by the caller.
 * Limits: one record holds one original (<= message_size_limit); list() is paged (limit <= 10,000).
 * Errors: every call returns false / nullopt and sets *error ("vault: ..."); nothing is half
 *         written: a record, its original and its audit row are one transaction.
 *
 * The seam (../shared/ARCHITECTURE.md §1.10): the disposition layer writes records before the
 * 250 (or before the file-drop claim ends); the console and `mugai vault` read and act; no caller
 * parses the original.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::vault {

/// Who may get an original back (rules: release tiers per reason).
enum class Tier { Self, Approval, Admin, Never };
const char* tierName(Tier t);
std::optional<Tier> tierFromName(const std::string& s);

/// The envelope as the ingress saw it (SMTP or file drop).
struct EnvelopeRecord {
  std::string sender;
  std::vector<std::string> recipients;
  std::string client_addr, client_name, helo;
  std::string xforward;  ///< XFORWARD attributes as received ("NAME=... ADDR=..."), may be empty
  std::string source;    ///< file drop: the staff member's share-relative path
};

/// Something removed from or rewritten in the original (a VBA project, a PDF script, a member).
struct ObjectRecord {
  std::string part;    ///< tree path in the report ("1.2", "2/3")
  std::string what;    ///< e.g. "vbaProject.bin", "removed part", the file name
  std::string action;  ///< removed | rebuilt | converted | blocked
  std::string reason;  ///< reason name
  std::string sha256;  ///< of the object's bytes (hex), when known
};

/// An original prepared for its record before the record exists (Vault::stage()): what put()
/// would do first (compress, hash, a large original's file written and synced), done while the
/// engine still works on the message. Handed to put() through NewRecord::staged; dropped without
/// a put() that kept it, it undoes itself (its file is removed).
class Staged {
 public:
  virtual ~Staged() = default;
};

/// What the disposition layer (or `vault import`) stores.
struct NewRecord {
  std::string id;           ///< the item id (report id)
  std::string kind;         ///< "mail" | "file"
  std::int64_t created = 0; ///< unix seconds
  EnvelopeRecord envelope;
  std::string subject, from, filename;
  std::string verdict;               ///< report verdict word: sanitized | blocked | ...
  std::string reason;                ///< the main reason
  std::vector<std::string> reasons;  ///< every reason in the report
  std::string report_json;
  /// The delivered message's sanitized text body (ProcessResult::body_text; bounded by
  /// vault_body_text_limit), shown as text on the console's detail page; empty: none.
  std::string body_text;
  std::string original;              ///< the original bytes (stored compressed)
  /// stage() of these same bytes on this vault, or null: put() then uses what it prepared.
  std::shared_ptr<Staged> staged;
  std::string delivered_id;          ///< what was delivered instead (Message-ID / file name)
  std::vector<ObjectRecord> objects;
  Tier tier = Tier::Admin;
  std::int64_t expires = 0;          ///< unix seconds; 0: never
};

/// A record as listed (without the original's bytes).
struct RecordInfo {
  std::string id, kind;
  std::int64_t created = 0, expires = 0;
  EnvelopeRecord envelope;
  std::string subject, from, filename, verdict, reason;
  std::vector<std::string> reasons;
  std::string sha256;          ///< of the original
  std::uint64_t size = 0;      ///< the original's size
  std::uint64_t stored = 0;    ///< bytes it takes compressed
  std::string delivered_id;
  Tier tier = Tier::Admin;
  std::string state;           ///< withheld | requested | approved | denied | released | refused
  bool hold = false;           ///< legal hold: never purged
  std::vector<ObjectRecord> objects;
  std::string body_text;       ///< get() only: NewRecord::body_text
};

/// Free-text search (Query::text): a case-insensitive substring of the subject, the envelope
/// sender or the file name (ASCII letters fold; other characters match as they are). A text of at
/// least kTextIndexMinChars characters of valid UTF-8 is looked up in the backend's trigram index
/// (SQLite FTS5 `trigram`, PostgreSQL pg_trgm) when it has one (textIndexed()); a shorter text
/// has no trigram and is a scan of the rows the other filters leave (the console limits it to a
/// date range). Either way the result is the same rows.
inline constexpr std::size_t kTextIndexMinChars = 3;
/// True when `text` can be looked up in a trigram index (valid UTF-8, >= kTextIndexMinChars).
bool textIndexable(std::string_view text);

struct Query {
  std::string recipient, sender, reason, state, id_prefix, text;  ///< empty: any
  std::int64_t since = 0, until = 0;                               ///< 0: open
  std::size_t limit = 100, offset = 0;
};

/// One request for an original (staff asks, approver decides).
struct Request {
  std::int64_t id = 0;
  std::string record_id, requester, reason, state;  ///< state: pending | approved | denied | released
                                                     ///< | refused (its release was refused)
  std::int64_t created = 0, decided = 0;
  std::string decided_by, decision_reason;
  std::vector<std::string> approvals;  ///< who approved so far (approval "all" needs several)
};

/// One row of the audit log. hash = SHA-256(prev_hash "\n" seq "\n" time "\n" actor "\n" role "\n"
/// action "\n" record_id "\n" detail); the first row's prev_hash is 64 zeros.
struct AuditRow {
  std::int64_t seq = 0, time = 0;
  std::string actor, role, action, record_id, detail, prev_hash, hash;
};

struct AuditCheck {
  bool ok = true;
  std::int64_t rows = 0;
  std::int64_t first_bad = 0;  ///< seq of the first row that does not verify
  std::string problem;         ///< "row 12 was changed", "row 12 is missing", ...
  std::string head;            ///< the last row's hash (an anchor to write down elsewhere)
};

struct PurgeResult {
  std::vector<std::string> purged;  ///< ids (or those that would be, dry run)
  std::uint64_t bytes = 0;
  std::size_t held_skipped = 0;
};

struct Usage {
  std::uint64_t records = 0, original_bytes = 0, stored_bytes = 0;
};

/// What a job carries out (the release queue, served by the release runner, src/release):
/// `release` delivers the stored original (re-scanned first); `unlock` delivers `payload`, the
/// sanitized result of a PPAP item decrypted by `mugai vault unlock`; `notice` sends `payload`, a
/// notification mail (request waiting / approved / denied / released).
struct ReleaseOrder {
  std::string record_id;
  std::string kind = "release";            ///< release | unlock | notice
  std::int64_t request_id = 0;             ///< release: the approved request; 0: an admin's release
  std::vector<std::string> recipients;     ///< who gets it (release: the requester's address)
  std::string payload;                     ///< unlock / notice: the message bytes; release: empty
  std::string dedup;                       ///< non-empty: a second order with this key is refused
                                           ///< (notices: each is sent once)
  std::string note;                        ///< audited with the "queue" row
  std::int64_t due = 0;                    ///< unix seconds; 0: now
};

/// One job of the release queue. state: queued -> running -> delivered | refused | failed, or
/// running -> retry (due = the next attempt) -> running ... A running job whose lease ran out
/// (its runner died) is claimable again.
struct ReleaseJob {
  std::int64_t id = 0;
  std::string record_id, kind, state, by, role;  ///< by/role: who queued it
  std::int64_t request_id = 0;
  std::vector<std::string> recipients;
  std::string payload;                     ///< filled by claimRelease() only
  std::string dedup, worker, detail;       ///< worker: the claim's holder; detail: last outcome
  std::int64_t created = 0, due = 0, lease_until = 0, finished = 0;
  int attempts = 0;                        ///< claims so far
};

/// How a runner ends one attempt (finishRelease).
enum class ReleaseOutcome {
  Delivered,  ///< the next hop took it (250): the record and request become `released`
  Refused,    ///< not delivered, on purpose (the re-scan detected something): final
  Failed,     ///< the next hop refused it for good (5xx) or attempts ran out: final
  Retry       ///< a temporary failure (4xx, no connection): due again at `retry_at`
};
const char* outcomeName(ReleaseOutcome o);

class Vault {
 public:
  virtual ~Vault() = default;
  /// "sqlite:/var/lib/mugai/vault.db" (or "postgresql://..." once that backend exists).
  virtual std::string url() const = 0;

  /// Stores a record with its original and an audit row "store" in one transaction. An id that
  /// exists already is an error (ids never collide; a retried item gets a new id).
  virtual bool put(const NewRecord& record, std::string* error) = 0;
  /// Prepares `original` for a put() that may follow (NewRecord::staged), so that its record then
  /// waits only for its commit. Null when the backend has nothing to prepare (the default) or
  /// preparing failed (put() then does it all, and reports). Costs the work even when no put()
  /// follows: the caller stages only what is likely kept (serve: a message large enough to be
  /// written beside the database, staged while its engine runs).
  virtual std::shared_ptr<Staged> stage(std::string_view original, std::string* error) {
    (void)original;
    (void)error;
    return nullptr;
  }
  /// Takes back a record the disposition layer stored for an attempt whose sender keeps the
  /// original and retries (the next hop deferred it): deleted with its original in one
  /// transaction, audited as "discard" with `why`. Only a record still withheld, without
  /// requests and not on hold is discarded; false with *error otherwise.
  virtual bool discard(const std::string& id, const std::string& why, std::string* error) = 0;
  virtual std::optional<RecordInfo> get(const std::string& id, std::string* error) = 0;
  /// The original's bytes, decompressed and checked against its SHA-256.
  virtual bool original(const std::string& id, std::string& bytes, std::string* error) = 0;
  virtual std::optional<std::string> report(const std::string& id, std::string* error) = 0;
  /// Newest first.
  virtual bool list(const Query& query, std::vector<RecordInfo>& out, std::string* error) = 0;
  virtual bool usage(Usage& out, std::string* error) = 0;
  /// True when list() looks an indexable Query::text up in a trigram index (false: PostgreSQL
  /// without the pg_trgm extension; the search is then a scan, logged once at open).
  virtual bool textIndexed() const = 0;

  /// Legal hold on or off (audited as hold / unhold by `actor`).
  virtual bool setHold(const std::string& id, bool hold, const std::string& actor,
                       const std::string& role, std::string* error) = 0;

  /// Requests: state changes are audited by the vault; who may do what is the caller's check
  /// (vault/policy.h), and a refused attempt is audited by the caller with appendAudit().
  virtual bool addRequest(const std::string& record_id, const std::string& requester,
                          const std::string& reason, const std::string& role, Request& out,
                          std::string* error) = 0;
  virtual bool requests(const std::string& record_id, std::vector<Request>& out,
                        std::string* error) = 0;
  /// pending -> approved (once `approvals_needed` different approvers approved) | denied (at the
  /// first denial). False (error "not pending") when it was decided already; an approver who
  /// approved before is refused. `*state_out` (when given) is the request's state afterwards.
  virtual bool decide(std::int64_t request_id, bool approve, const std::string& actor,
                      const std::string& role, const std::string& reason,
                      std::size_t approvals_needed, std::string* error,
                      std::string* state_out = nullptr) = 0;

  /// Deletes records past `now` (expires != 0 and <= now) that are not on hold; each deletion and
  /// its audit row are one transaction, so a killed purge leaves whole records only.
  virtual bool purge(std::int64_t now, bool dry_run, const std::string& actor, PurgeResult& out,
                     std::string* error) = 0;

  /// Release queue. queueRelease(): a release of an approved request (request_id; refused when the
  /// request is not approved, or when it has a job already), an admin's release without a
  /// request (refused while the record has an unfinished release job), an unlock result or a
  /// notice. Who may do it is the caller's check (vault/policy.h); the job and its audit row
  /// ("queue", detail names kind, job, recipients) are one transaction.
  virtual bool queueRelease(const ReleaseOrder& order, const std::string& actor,
                            const std::string& role, ReleaseJob& out, std::string* error) = 0;
  /// Hands one due job (queued/retry with due <= now, or running with its lease past) to exactly
  /// one caller, even with several runners on several gateways (PostgreSQL: FOR UPDATE SKIP
  /// LOCKED; SQLite: BEGIN IMMEDIATE), marks it running for `worker` until now + lease_seconds,
  /// counts the attempt and audits "claim". nullopt with *error empty: nothing is due.
  virtual std::optional<ReleaseJob> claimRelease(const std::string& worker, std::int64_t now,
                                                 std::int64_t lease_seconds,
                                                 std::string* error) = 0;
  /// Ends the attempt of `job_id` held by `worker` (refused with an error when another runner
  /// holds it now, or it is not running): Delivered/Refused/Failed are final, Retry makes it due
  /// at `retry_at`. Audited ("release.delivered", "release.refused", ... with `detail`); a
  /// delivered release marks the record (and its request) `released`, a refused one `refused`;
  /// unlock and notice jobs change no record state.
  virtual bool finishRelease(std::int64_t job_id, const std::string& worker,
                             ReleaseOutcome outcome, std::int64_t retry_at,
                             const std::string& detail, std::string* error) = 0;
  /// Jobs of one record (empty: every record), oldest first, without payloads; `state` filters
  /// (empty: any). At most 10,000 rows.
  virtual bool releases(const std::string& record_id, const std::string& state,
                        std::vector<ReleaseJob>& out, std::string* error) = 0;

  virtual bool appendAudit(const std::string& actor, const std::string& role,
                           const std::string& action, const std::string& record_id,
                           const std::string& detail, std::string* error) = 0;
  virtual bool audit(std::int64_t since, std::vector<AuditRow>& out, std::string* error) = 0;
  virtual AuditCheck verifyAudit() = 0;
};

/// Opens (and creates, with its schema) the vault named by `url`: "sqlite:PATH" or a plain path.
/// nullptr with *error for an unknown scheme or a database that cannot be opened.
std::unique_ptr<Vault> openVault(const std::string& url, std::string* error);

/// Helpers shared by the backends and the importer.
std::string sha256Hex(std::string_view data);
std::string auditHash(const AuditRow& row);
/// A zstd frame at compressionLevel(in) (records written before 2026-12-07 hold zlib streams:
/// decompress reads both); decompress refuses output over `limit` bytes.
bool compress(std::string_view in, std::string& out);
/// 1, or -1 (literals left raw: ~5 GB/s) when level 1 saves under 30 % of a 32 KiB sample, as on
/// the base64 of an already-compressed attachment (common.cpp says why).
int compressionLevel(std::string_view in);
bool decompress(std::string_view in, std::size_t limit, std::string& out);

}  // namespace mugai::vault
