// SQLite vault backend.
//
// Trust: every stored string is data: bound as a parameter, never spliced into SQL.
// Limits: an original is decompressed to at most kOriginalLimit bytes; list() pages at most
//         kListLimit rows.
// Errors: every call returns false / nullopt with "vault: ..." in *error.
//
// Durability: WAL with synchronous=FULL: a put() that returned true survives a power cut. Every
// change and its audit row are written in one BEGIN IMMEDIATE transaction (the write lock is taken
// first, so two processes — serve and the console — never interleave audit rows).
// Originals: a small one (compressed under kBesideMin) lives in the database (table `originals`);
// a larger one in a file beside it (original_files.h), written and synced before the record that
// names it commits, so a record never names a file a crash lost; a file no record names (a crash
// before the commit, a purge killed before the unlink) is removed at the next open once it is
// older than kOrphanAge. Inside a WAL database a 1 MB original was written twice (WAL, then the
// checkpoint); beside it, once (measured: docs/vault.md, "Where originals are kept").
#include "src/vault/sqlite_vault.h"

#include "src/vault/group_commit.h"
#include "src/vault/internal.h"
#include "src/vault/original_files.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace mugai::vault {
namespace {

using namespace internal;


const char* const kSchema = R"SQL(
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,
  sender TEXT NOT NULL, recipients TEXT NOT NULL, client_addr TEXT NOT NULL,
  client_name TEXT NOT NULL, helo TEXT NOT NULL, xforward TEXT NOT NULL, source TEXT NOT NULL,
  subject TEXT NOT NULL, from_header TEXT NOT NULL, filename TEXT NOT NULL, verdict TEXT NOT NULL,
  reason TEXT NOT NULL, reasons TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  stored INTEGER NOT NULL, delivered_id TEXT NOT NULL, tier TEXT NOT NULL, state TEXT NOT NULL,
  hold INTEGER NOT NULL DEFAULT 0, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_created ON records(created);
CREATE INDEX IF NOT EXISTS records_sender ON records(sender, created);
CREATE INDEX IF NOT EXISTS records_reason ON records(reason, created);
CREATE INDEX IF NOT EXISTS records_state ON records(state, created);
CREATE INDEX IF NOT EXISTS records_expires ON records(expires) WHERE hold = 0 AND expires > 0;
CREATE TABLE IF NOT EXISTS recipients(
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, address TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address, record_id);
CREATE INDEX IF NOT EXISTS recipients_record ON recipients(record_id);
CREATE TABLE IF NOT EXISTS originals(
  id TEXT PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS objects(
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, part TEXT NOT NULL,
  what TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS objects_record ON objects(record_id);
CREATE INDEX IF NOT EXISTS objects_sha256 ON objects(sha256);
CREATE TABLE IF NOT EXISTS bodies(
  id TEXT PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, requester TEXT NOT NULL,
  reason TEXT NOT NULL, state TEXT NOT NULL, created INTEGER NOT NULL,
  decided INTEGER NOT NULL DEFAULT 0, decided_by TEXT NOT NULL DEFAULT '',
  decision_reason TEXT NOT NULL DEFAULT '', approvals TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS requests_record ON requests(record_id);
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
  action TEXT NOT NULL, record_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, kind TEXT NOT NULL,
  request_id INTEGER NOT NULL DEFAULT 0, recipients TEXT NOT NULL, dedup TEXT,
  state TEXT NOT NULL, by_actor TEXT NOT NULL, by_role TEXT NOT NULL,
  worker TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,
  due INTEGER NOT NULL, lease_until INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, payload BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS releases_dedup ON releases(dedup) WHERE dedup IS NOT NULL;
CREATE INDEX IF NOT EXISTS releases_due ON releases(state, due);
CREATE INDEX IF NOT EXISTS releases_record ON releases(record_id);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', '1');
)SQL";

/// Schema 2: the free-text search index. A contentless FTS5 table with the trigram tokenizer
/// (Japanese subjects have no spaces between words) over the three searched columns, keyed by
/// records' rowid (kept by VACUUM in SQLite 3.40: rows are copied with their rowids), and kept in
/// step by triggers, so every write of the vault's (put, discard, purge, import) and its index
/// change are one transaction. Contentless: it holds the trigrams only, not a second copy of the
/// text; list() checks each candidate against the text itself (vault.h, Query::text).
const char* const kTextIndex = R"SQL(
CREATE VIRTUAL TABLE IF NOT EXISTS records_text USING fts5(
  subject, sender, filename, content='', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS records_text_insert AFTER INSERT ON records BEGIN
  INSERT INTO records_text(rowid, subject, sender, filename)
    VALUES (new.rowid, new.subject, new.sender, new.filename);
END;
CREATE TRIGGER IF NOT EXISTS records_text_delete AFTER DELETE ON records BEGIN
  INSERT INTO records_text(records_text, rowid, subject, sender, filename)
    VALUES ('delete', old.rowid, old.subject, old.sender, old.filename);
END;
CREATE TRIGGER IF NOT EXISTS records_text_update AFTER UPDATE OF subject, sender, filename ON records
BEGIN
  INSERT INTO records_text(records_text, rowid, subject, sender, filename)
    VALUES ('delete', old.rowid, old.subject, old.sender, old.filename);
  INSERT INTO records_text(rowid, subject, sender, filename)
    VALUES (new.rowid, new.subject, new.sender, new.filename);
END;
)SQL";

/// A compressed original at least this large is kept in a file beside the database.
constexpr std::size_t kBesideMin = 64 * 1024;
/// A file beside the database that no record names is removed at open once it is this old (a
/// younger one may be another process's record about to commit: a staged original waits for its
/// engine run, up to twice sanitizer_deadline_ms, and for a 5xx relay before its put()). A file
/// removed anyway fails its record alone (writeGroupRows: 451, the client retries).
constexpr std::int64_t kOrphanAge = 24 * 3600;

/// Schema 3: which originals are files beside the database.
const char* const kOriginalFileColumn = "ALTER TABLE originals ADD COLUMN file TEXT NOT NULL DEFAULT ''";
const char* const kOriginalFiles = R"SQL(
CREATE INDEX IF NOT EXISTS originals_file ON originals(file) WHERE file != '';
UPDATE meta SET value = '3' WHERE key = 'schema';
)SQL";

/// Above this many index candidates a search reads the records newest first instead (a common
/// text fills a page after a few rows; looking each candidate up would take longer).
constexpr std::int64_t kTextCandidateLimit = 20000;
/// How far each trigram of a text is counted to find its rarest ones, and how many are counted.
constexpr std::int64_t kTrigramProbe = 5000;
constexpr std::size_t kTrigramsProbed = 24;

/// `s` as one FTS5 string (a phrase of its trigrams in a row: a substring), quoted.
std::string ftsQuote(const std::string& s) {
  std::string p = "\"";
  for (char c : s) p += c == '"' ? std::string("\"\"") : std::string(1, c);
  return p + "\"";
}

/// The distinct trigrams (three code points; `text` is valid UTF-8) of `text`, in order.
std::vector<std::string> trigrams(const std::string& text) {
  std::vector<std::size_t> at;  // where each code point starts
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) at.push_back(i);
  }
  at.push_back(text.size());
  std::vector<std::string> out;
  for (std::size_t k = 0; k + 3 < at.size(); ++k) {
    std::string t = text.substr(at[k], at[k + 3] - at[k]);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  return out;
}

/// One prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK; }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return ok_; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& blob(int i, const std::string& v) {
    sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string text(int c) const {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }
  std::string blobAt(int c) const {
    const void* b = sqlite3_column_blob(s_, c);
    return b ? std::string(static_cast<const char*>(b),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }
  std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  sqlite3_stmt* raw() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

RecordInfo readRecord(const Stmt& s) {
  RecordInfo r;
  r.id = s.text(0);
  r.kind = s.text(1);
  r.created = s.i64(2);
  r.expires = s.i64(3);
  r.envelope.sender = s.text(4);
  r.envelope.recipients = splitLines(s.text(5));
  r.envelope.client_addr = s.text(6);
  r.envelope.client_name = s.text(7);
  r.envelope.helo = s.text(8);
  r.envelope.xforward = s.text(9);
  r.envelope.source = s.text(10);
  r.subject = s.text(11);
  r.from = s.text(12);
  r.filename = s.text(13);
  r.verdict = s.text(14);
  r.reason = s.text(15);
  r.reasons = splitLines(s.text(16));
  r.sha256 = s.text(17);
  r.size = static_cast<std::uint64_t>(s.i64(18));
  r.stored = static_cast<std::uint64_t>(s.i64(19));
  r.delivered_id = s.text(20);
  r.tier = tierFromName(s.text(21)).value_or(Tier::Admin);
  r.state = s.text(22);
  r.hold = s.i64(23) != 0;
  return r;
}

class SqliteVault final : public Vault {
 public:
  SqliteVault(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteVault() override { sqlite3_close_v2(db_); }

  std::string url() const override { return "sqlite:" + path_; }

  /// put()'s first steps for `original`, before its record: the compressed bytes, the SHA-256 and a
  /// large original's file. Dropped unused, the file goes.
  struct Prepared final : Staged {
    const SqliteVault* vault = nullptr;       ///< only compared, never used: put() checks it is its own
    std::shared_ptr<OriginalFiles> files;     ///< where `file` is
    std::size_t size = 0;                     ///< of the original it was made from
    std::string head, tail;                   ///< its first and last 256 bytes (a cheap sameness check)
    std::string packed, sha, file;
    bool used = false;  ///< handed to a put() already: not again
    bool kept = false;  ///< a committed record names `file`
    bool sameBytes(const SqliteVault* v, std::string_view original) const {
      return !used && v == vault && original.size() == size &&
             original.substr(0, head.size()) == head &&
             original.substr(original.size() - tail.size()) == tail;
    }
    ~Prepared() override {
      if (!kept && !file.empty() && files) files->remove(file);
    }
  };

  /// The steps that need no lock, so the sessions of a busy serve wait for the group's commit
  /// only: compress, hash, and write a large original to its own file (each session writes and
  /// syncs its own); the group's transaction then only names it.
  bool prepare(std::string_view original, Prepared& out, std::string* error) {
    out.vault = this;
    out.files = files_;
    out.size = original.size();
    out.head = std::string(original.substr(0, 256));
    out.tail = std::string(original.substr(original.size() - std::min<std::size_t>(256, original.size())));
    if (!compress(original, out.packed)) return fail(error, "cannot compress the original");
    out.sha = sha256Hex(original);
    return out.packed.size() < kBesideMin || files_->write(out.packed, out.file, error);
  }

  std::shared_ptr<Staged> stage(std::string_view original, std::string* error) override {
    auto prepared = std::make_shared<Prepared>();
    if (!prepare(original, *prepared, error)) return nullptr;
    return prepared;
  }

  bool put(const NewRecord& r, std::string* error) override {
    // Another vault's, already used, or made from other bytes: put() does its own.
    auto* staged = dynamic_cast<Prepared*>(r.staged.get());
    if (staged && !staged->sameBytes(this, r.original)) staged = nullptr;
    if (staged) staged->used = true;
    Prepared own;
    Prepared& prepared = staged ? *staged : own;
    if (!staged && !prepare(r.original, own, error)) return false;
    Pending p;
    p.record = &r;
    p.packed = std::move(prepared.packed);
    p.sha = prepared.sha;
    p.file = prepared.file;
    commits_.submit(p, [this](const std::vector<Pending*>& group) { writeGroup(group); });
    // Committed: the record names the file. Not: writeGroup() removed it already.
    prepared.kept = p.ok;
    prepared.file.clear();
    if (!p.ok && error) *error = p.error;
    return p.ok;
  }

  /// One group of records (group_commit.h) in one BEGIN IMMEDIATE transaction, one fsync. Each
  /// record is written under its own savepoint: one the database refuses for itself (its id
  /// exists already) is rolled back alone; anything else (an I/O error, a full disk, a commit that
  /// fails) fails the whole group, and none of its records is in the database.
  void writeGroup(const std::vector<Pending*>& group) {
    std::lock_guard lock(mu_);
    std::string error;
    if (!writeGroupRows(group, error)) {
      // Nothing of the group was committed: the files of its records go (not after a failed
      // COMMIT, whose outcome a crash could still turn into a commit: those are swept at open).
      failGroup(group, error);
      for (Pending* p : group) files_->remove(p->file);
    }
  }

  /// writeGroup()'s transaction; false (with `error`) when it failed before its COMMIT.
  bool writeGroupRows(const std::vector<Pending*>& group, std::string& error) {
    if (!sameFile(&error)) return false;
    // The names of the group's files on disk before any record names one (one sync a group).
    for (Pending* p : group) {
      if (!p->file.empty()) {
        if (!files_->syncFolder(&error)) return false;
        break;
      }
    }
    Tx tx(*this);
    if (!tx.begin(&error)) return false;
    for (Pending* p : group) {
      // A file another process's sweep removed before this transaction took the write lock (a
      // staged file that waited longer than kOrphanAge): that record fails alone (451, the client
      // retries). Under the write lock no sweep runs, so a file seen here stays until the commit.
      if (!p->file.empty() && !files_->exists(p->file)) {
        p->error = "vault: the original's file beside the database is gone before its record";
        p->file.clear();
        continue;
      }
      if (sqlite3_exec(db_, "SAVEPOINT record", nullptr, nullptr, nullptr) != SQLITE_OK) {
        sqlFail(&error, "savepoint");
        return false;
      }
      last_rc_ = SQLITE_OK;
      if (insertRecord(*p, &p->error)) {
        p->ok = sqlite3_exec(db_, "RELEASE record", nullptr, nullptr, nullptr) == SQLITE_OK;
        if (!p->ok) return sqlFail(&error, "release savepoint");
        continue;
      }
      // SQLite rolls the whole transaction back by itself after some errors (a full disk, an
      // I/O error): nothing of the group is left to commit.
      const bool alone = (last_rc_ & 0xff) == SQLITE_CONSTRAINT && !sqlite3_get_autocommit(db_);
      if (!alone || sqlite3_exec(db_, "ROLLBACK TO record; RELEASE record", nullptr, nullptr,
                                 nullptr) != SQLITE_OK) {
        error = p->error;
        return false;
      }
      files_->remove(p->file);  // refused alone (its id exists already): its file goes now
      p->file.clear();
    }
    if (!tx.commit(&error)) failGroup(group, error);  // files kept: swept at open if orphans
    return true;
  }

  /// Writes one record's rows and its audit row; inside writeGroup()'s transaction.
  bool insertRecord(const Pending& p, std::string* error) {
    const NewRecord& r = *p.record;
    const std::string& sha = p.sha;
    const std::string& packed = p.packed;
    {
      Stmt s(db_,
             "INSERT INTO records(id, kind, created, expires, sender, recipients, client_addr, "
             "client_name, helo, xforward, source, subject, from_header, filename, verdict, reason, "
             "reasons, sha256, size, stored, delivered_id, tier, state, hold, report) VALUES "
             "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
             "'withheld',0,?23)");
      if (!s.ok()) return sqlFail(error, "prepare insert");
      s.bind(1, r.id).bind(2, r.kind).bind(3, r.created ? r.created : nowSeconds()).bind(4, r.expires);
      s.bind(5, r.envelope.sender).bind(6, joinLines(r.envelope.recipients));
      s.bind(7, r.envelope.client_addr).bind(8, r.envelope.client_name).bind(9, r.envelope.helo);
      s.bind(10, r.envelope.xforward).bind(11, r.envelope.source).bind(12, r.subject);
      s.bind(13, r.from).bind(14, r.filename).bind(15, r.verdict).bind(16, r.reason);
      s.bind(17, joinLines(r.reasons)).bind(18, sha);
      s.bind(19, static_cast<std::int64_t>(r.original.size()));
      s.bind(20, static_cast<std::int64_t>(packed.size())).bind(21, r.delivered_id);
      s.bind(22, std::string(tierName(r.tier))).bind(23, r.report_json);
      if (s.step() != SQLITE_DONE) {
        if (sqlite3_extended_errcode(db_) != SQLITE_CONSTRAINT_PRIMARYKEY) return sqlFail(error, "insert record");
        last_rc_ = SQLITE_CONSTRAINT_PRIMARYKEY;
        return fail(error, "a record with the id " + r.id + " exists already");
      }
    }
    for (const auto& rcpt : r.envelope.recipients) {
      Stmt s(db_, "INSERT INTO recipients(record_id, address) VALUES (?1, lower(?2))");
      s.bind(1, r.id).bind(2, rcpt);
      if (s.step() != SQLITE_DONE) return sqlFail(error, "insert recipient");
    }
    {
      Stmt s(db_, "INSERT INTO originals(id, data, file) VALUES (?1, ?2, ?3)");
      s.bind(1, r.id).blob(2, p.file.empty() ? packed : std::string()).bind(3, p.file);
      if (s.step() != SQLITE_DONE) return sqlFail(error, "insert original");
    }
    if (!r.body_text.empty()) {
      Stmt s(db_, "INSERT INTO bodies(id, text) VALUES (?1, ?2)");
      s.bind(1, r.id).bind(2, r.body_text);
      if (s.step() != SQLITE_DONE) return sqlFail(error, "insert body text");
    }
    for (const auto& o : r.objects) {
      Stmt s(db_, "INSERT INTO objects(record_id, part, what, action, reason, sha256) VALUES "
                  "(?1,?2,?3,?4,?5,?6)");
      s.bind(1, r.id).bind(2, o.part).bind(3, o.what).bind(4, o.action).bind(5, o.reason);
      s.bind(6, o.sha256);
      if (s.step() != SQLITE_DONE) return sqlFail(error, "insert object");
    }
    if (!audit(r.created ? r.created : nowSeconds(), "mugai", "system", "store", r.id,
               "verdict=" + r.verdict + " reason=" + r.reason + " sha256=" + sha +
                   " tier=" + tierName(r.tier),
               error)) {
      return false;
    }
    return true;
  }

  bool discard(const std::string& id, const std::string& why, std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    const std::string file = fileOf(id);
    Stmt d(db_, "DELETE FROM records WHERE id = ?1 AND hold = 0 AND state = 'withheld' AND "
                "NOT EXISTS (SELECT 1 FROM requests WHERE record_id = ?1)");
    d.bind(1, id);
    if (d.step() != SQLITE_DONE) return sqlFail(error, "discard");
    if (sqlite3_changes(db_) == 0) return fail(error, "no withheld record " + id + " to discard");
    if (!audit(nowSeconds(), "mugai", "system", "discard", id, why, error)) return false;
    if (!tx.commit(error)) return false;
    files_->remove(file);  // after the commit: killed before this line, the file is swept at open
    return true;
  }

  std::optional<RecordInfo> get(const std::string& id, std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRecordColumns + " FROM records WHERE id = ?1").c_str());
    s.bind(1, id);
    int rc = s.step();
    if (rc == SQLITE_DONE) {
      fail(error, "no record " + id);
      return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
      sqlFail(error, "read record");
      return std::nullopt;
    }
    RecordInfo r = readRecord(s);
    Stmt o(db_, "SELECT part, what, action, reason, sha256 FROM objects WHERE record_id = ?1 "
                "ORDER BY rowid");
    o.bind(1, id);
    while (o.step() == SQLITE_ROW) {
      r.objects.push_back({o.text(0), o.text(1), o.text(2), o.text(3), o.text(4)});
    }
    Stmt b(db_, "SELECT text FROM bodies WHERE id = ?1");
    b.bind(1, id);
    if (b.step() == SQLITE_ROW) r.body_text = b.text(0);
    return r;
  }

  bool original(const std::string& id, std::string& bytes, std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT o.data, r.sha256, r.size, o.file FROM originals o JOIN records r ON r.id = o.id "
                "WHERE o.id = ?1");
    s.bind(1, id);
    if (s.step() != SQLITE_ROW) return fail(error, "no original for " + id);
    std::string packed = s.blobAt(0);
    const std::string sha = s.text(1), file = s.text(3);
    const auto size = static_cast<std::size_t>(s.i64(2));
    std::string why;
    if (!file.empty() && !files_->read(file, kOriginalLimit, packed, &why)) {
      bytes.clear();
      return fail(error, "the original of " + id + " is damaged (" + why + ")");
    }
    if (!decompress(packed, std::min(size, kOriginalLimit), bytes) || bytes.size() != size ||
        sha256Hex(bytes) != sha) {
      bytes.clear();
      return fail(error, "the original of " + id + " is damaged (size or SHA-256 differ)");
    }
    return true;
  }

  std::optional<std::string> report(const std::string& id, std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT report FROM records WHERE id = ?1");
    s.bind(1, id);
    if (s.step() != SQLITE_ROW) {
      fail(error, "no record " + id);
      return std::nullopt;
    }
    return s.text(0);
  }

  bool list(const Query& q, std::vector<RecordInfo>& out, std::string* error) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kRecordColumns + " FROM records WHERE 1=1";
    if (!q.recipient.empty()) {
      sql += " AND id IN (SELECT record_id FROM recipients WHERE address = lower(?1))";
    }
    if (!q.sender.empty()) sql += " AND sender = ?2";
    if (!q.reason.empty()) sql += " AND (reason = ?3 OR ('\n' || reasons || '\n') LIKE '%' || char(10) || ?3 || char(10) || '%')";
    if (!q.state.empty()) sql += " AND state = ?4";
    if (q.since) sql += " AND created >= ?5";
    if (q.until) sql += " AND created < ?6";
    if (!q.id_prefix.empty()) sql += " AND id >= ?7 AND id < ?7 || char(127)";
    bool by_index = false;
    std::string rowids;  // the index's candidates, a JSON array
    if (!q.text.empty()) {
      // The index narrows the rows down; the text itself decides (the same rows as a scan).
      by_index = textIndexable(q.text);
      if (by_index && !textCandidates(q.text, rowids, by_index, error)) return false;
      if (by_index) sql += " AND rowid IN (SELECT value FROM json_each(?11))";
      sql += " AND (instr(lower(subject), lower(?8)) > 0 OR instr(lower(sender), lower(?8)) > 0 OR "
             "instr(lower(filename), lower(?8)) > 0)";
    }
    // By the index: the candidates are sorted (+created: not the created index, which would read
    // every record newest first and test each against the candidates).
    sql += by_index ? " ORDER BY +created DESC, id DESC LIMIT ?9 OFFSET ?10"
                    : " ORDER BY created DESC, id DESC LIMIT ?9 OFFSET ?10";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return sqlFail(error, "prepare list");
    s.bind(1, q.recipient).bind(2, q.sender).bind(3, q.reason).bind(4, q.state);
    s.bind(5, q.since).bind(6, q.until).bind(7, q.id_prefix).bind(8, q.text);
    s.bind(9, static_cast<std::int64_t>(std::min(q.limit, kListLimit)));
    s.bind(10, static_cast<std::int64_t>(q.offset));
    if (by_index) s.bind(11, rowids);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(readRecord(s));
    return rc == SQLITE_DONE || sqlFail(error, "list");
  }

  bool textIndexed() const override { return true; }

  bool usage(Usage& u, std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT count(*), coalesce(sum(size),0), coalesce(sum(stored),0) FROM records");
    if (s.step() != SQLITE_ROW) return sqlFail(error, "usage");
    u.records = static_cast<std::uint64_t>(s.i64(0));
    u.original_bytes = static_cast<std::uint64_t>(s.i64(1));
    u.stored_bytes = static_cast<std::uint64_t>(s.i64(2));
    return true;
  }

  bool setHold(const std::string& id, bool hold, const std::string& actor, const std::string& role,
               std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    Stmt s(db_, "UPDATE records SET hold = ?2 WHERE id = ?1");
    s.bind(1, id).bind(2, std::int64_t{hold ? 1 : 0});
    if (s.step() != SQLITE_DONE) return sqlFail(error, "hold");
    if (sqlite3_changes(db_) != 1) return fail(error, "no record " + id);
    if (!audit(nowSeconds(), actor, role, hold ? "hold" : "unhold", id, "", error)) return false;
    return tx.commit(error);
  }

  bool addRequest(const std::string& record_id, const std::string& requester,
                  const std::string& reason, const std::string& role, Request& out,
                  std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    {
      Stmt c(db_, "SELECT count(*) FROM requests WHERE record_id = ?1 AND requester = ?2 AND "
                  "state = 'pending'");
      c.bind(1, record_id).bind(2, requester);
      if (c.step() != SQLITE_ROW) return sqlFail(error, "request");
      if (c.i64(0) > 0) return fail(error, requester + " has a pending request for " + record_id);
    }
    const std::int64_t now = nowSeconds();
    Stmt s(db_, "INSERT INTO requests(record_id, requester, reason, state, created) "
                "SELECT ?1, ?2, ?3, 'pending', ?4 WHERE EXISTS (SELECT 1 FROM records WHERE id = ?1)");
    s.bind(1, record_id).bind(2, requester).bind(3, reason).bind(4, now);
    if (s.step() != SQLITE_DONE) return sqlFail(error, "request");
    if (sqlite3_changes(db_) != 1) return fail(error, "no record " + record_id);
    out = Request{sqlite3_last_insert_rowid(db_), record_id, requester, reason, "pending", now, 0, "", ""};
    if (!setState(record_id, "requested", error)) return false;
    if (!audit(now, requester, role, "request", record_id,
               "request=" + std::to_string(out.id) + " reason=" + reason, error)) {
      return false;
    }
    return tx.commit(error);
  }

  bool requests(const std::string& record_id, std::vector<Request>& out,
                std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT id, record_id, requester, reason, state, created, decided, decided_by, "
                "decision_reason, approvals FROM requests WHERE record_id = ?1 ORDER BY id");
    s.bind(1, record_id);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5), s.i64(6),
                     s.text(7), s.text(8), splitLines(s.text(9))});
    }
    return rc == SQLITE_DONE || sqlFail(error, "requests");
  }

  bool decide(std::int64_t request_id, bool approve, const std::string& actor,
              const std::string& role, const std::string& reason, std::size_t approvals_needed,
              std::string* error, std::string* state_out) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    std::string record_id;
    std::vector<std::string> approvals;
    {
      Stmt s(db_, "SELECT record_id, state, approvals FROM requests WHERE id = ?1");
      s.bind(1, request_id);
      if (s.step() != SQLITE_ROW) return fail(error, "no request " + std::to_string(request_id));
      record_id = s.text(0);
      if (s.text(1) != "pending") {
        return fail(error, "request " + std::to_string(request_id) + " is not pending (" +
                               s.text(1) + ")");
      }
      approvals = splitLines(s.text(2));
    }
    const DecideStep d = decideStep(request_id, approvals, approve, actor, reason, approvals_needed);
    if (!d.error.empty()) return fail(error, d.error);
    const std::string& state = d.state;
    const std::int64_t now = nowSeconds();
    Stmt u(db_, "UPDATE requests SET state = ?2, decided = ?3, decided_by = ?4, decision_reason = ?5, "
                "approvals = ?6 WHERE id = ?1 AND state = 'pending'");
    u.bind(1, request_id).bind(2, state).bind(3, d.done ? now : std::int64_t{0});
    u.bind(4, d.done ? actor : std::string()).bind(5, reason).bind(6, joinLines(d.approvals));
    if (u.step() != SQLITE_DONE || sqlite3_changes(db_) != 1) return sqlFail(error, "decide");
    if (d.done && !setState(record_id, state, error)) return false;
    if (!audit(now, actor, role, approve ? "approve" : "deny", record_id, d.detail, error)) return false;
    if (!tx.commit(error)) return false;
    if (state_out) *state_out = state;
    return true;
  }

  bool purge(std::int64_t now, bool dry_run, const std::string& actor, PurgeResult& out,
             std::string* error) override {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, std::int64_t>> due;
    {
      Stmt s(db_, "SELECT id, stored FROM records WHERE hold = 0 AND expires > 0 AND expires <= ?1 "
                  "ORDER BY expires");
      s.bind(1, now);
      while (s.step() == SQLITE_ROW) due.emplace_back(s.text(0), s.i64(1));
      Stmt h(db_, "SELECT count(*) FROM records WHERE hold = 1 AND expires > 0 AND expires <= ?1");
      h.bind(1, now);
      if (h.step() == SQLITE_ROW) out.held_skipped = static_cast<std::size_t>(h.i64(0));
    }
    for (const auto& [id, stored] : due) {
      if (!dry_run) {
        // One record, its original, objects, requests and its audit row: one transaction.
        Tx tx(*this);
        if (!tx.begin(error)) return false;
        const std::string file = fileOf(id);
        Stmt d(db_, "DELETE FROM records WHERE id = ?1 AND hold = 0");
        d.bind(1, id);
        if (d.step() != SQLITE_DONE) return sqlFail(error, "purge");
        if (sqlite3_changes(db_) == 0) continue;  // held or purged meanwhile
        if (!audit(nowSeconds(), actor, "system", "purge", id, "retention", error)) return false;
        if (!tx.commit(error)) return false;
        files_->remove(file);  // after the commit: killed before this line, swept at open
      }
      out.purged.push_back(id);
      out.bytes += static_cast<std::uint64_t>(stored);
    }
    return true;
  }

  bool queueRelease(const ReleaseOrder& o, const std::string& actor, const std::string& role,
                    ReleaseJob& out, std::string* error) override {
    if (const std::string bad = checkOrder(o); !bad.empty()) return fail(error, bad);
    std::string packed;
    if (!compress(o.payload, packed)) return fail(error, "cannot compress the payload");
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    {
      Stmt r(db_, "SELECT count(*) FROM records WHERE id = ?1");
      r.bind(1, o.record_id);
      if (r.step() != SQLITE_ROW) return sqlFail(error, "queue");
      if (r.i64(0) == 0) return fail(error, "no record " + o.record_id);
    }
    if (o.kind == "release" && o.request_id) {
      Stmt r(db_, "SELECT state FROM requests WHERE id = ?1 AND record_id = ?2");
      r.bind(1, o.request_id).bind(2, o.record_id);
      if (r.step() != SQLITE_ROW) {
        return fail(error, "no request " + std::to_string(o.request_id) + " for " + o.record_id);
      }
      if (r.text(0) != "approved") {
        return fail(error, "request " + std::to_string(o.request_id) + " is not approved (" +
                               r.text(0) + ")");
      }
    } else if (o.kind == "release") {
      Stmt r(db_, "SELECT count(*) FROM releases WHERE record_id = ?1 AND kind = 'release' AND "
                  "state IN ('queued', 'running', 'retry')");
      r.bind(1, o.record_id);
      if (r.step() != SQLITE_ROW) return sqlFail(error, "queue");
      if (r.i64(0) > 0) return fail(error, o.record_id + " has a release under way already");
    }
    const std::int64_t now = nowSeconds();
    const std::string dedup = dedupKey(o);
    Stmt s(db_, "INSERT INTO releases(record_id, kind, request_id, recipients, dedup, state, by_actor, "
                "by_role, created, due, payload) VALUES (?1,?2,?3,?4,?5,'queued',?6,?7,?8,?9,?10)");
    s.bind(1, o.record_id).bind(2, o.kind).bind(3, o.request_id).bind(4, joinLines(o.recipients));
    if (dedup.empty()) {
      sqlite3_bind_null(s.raw(), 5);
    } else {
      s.bind(5, dedup);
    }
    s.bind(6, actor).bind(7, role).bind(8, now).bind(9, o.due ? o.due : now).blob(10, packed);
    if (s.step() != SQLITE_DONE) {
      return sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE
                 ? fail(error, "a " + o.kind + " for " + dedup + " was queued already")
                 : sqlFail(error, "queue");
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    if (!audit(now, actor, role, o.kind + ".queue", o.record_id, queueDetail(o, id), error)) {
      return false;
    }
    if (!tx.commit(error)) return false;
    out = queuedJob(o, id, actor, role, dedup, now, o.due ? o.due : now);
    return true;
  }

  std::optional<ReleaseJob> claimRelease(const std::string& worker, std::int64_t now,
                                         std::int64_t lease_seconds, std::string* error) override {
    if (error) error->clear();
    std::lock_guard lock(mu_);
    Tx tx(*this);  // BEGIN IMMEDIATE: the write lock first, so two runners never pick one job
    if (!tx.begin(error)) return std::nullopt;
    ReleaseJob j;
    {
      Stmt s(db_, (std::string("SELECT ") + kReleaseColumns + ", payload FROM releases WHERE " +
                   dueCondition("?1") + " ORDER BY due, id LIMIT 1")
                      .c_str());
      s.bind(1, now);
      const int rc = s.step();
      if (rc == SQLITE_DONE) {
        tx.commit(error);
        return std::nullopt;
      }
      if (rc != SQLITE_ROW) {
        sqlFail(error, "claim");
        return std::nullopt;
      }
      j = job(s);
      if (!decompress(s.blobAt(16), kOriginalLimit, j.payload)) {
        fail(error, "the payload of job " + std::to_string(j.id) + " is damaged");
        return std::nullopt;
      }
    }
    const std::string was = j.state;
    j.state = "running";
    j.worker = worker;
    j.lease_until = now + lease_seconds;
    ++j.attempts;
    Stmt u(db_, "UPDATE releases SET state = 'running', worker = ?2, lease_until = ?3, "
                "attempts = attempts + 1 WHERE id = ?1");
    u.bind(1, j.id).bind(2, worker).bind(3, j.lease_until);
    if (u.step() != SQLITE_DONE) {
      sqlFail(error, "claim");
      return std::nullopt;
    }
    if (!audit(now, worker, "system", j.kind + ".claim", j.record_id,
               claimDetail(j, was),
               error) ||
        !tx.commit(error)) {
      return std::nullopt;
    }
    return j;
  }

  bool finishRelease(std::int64_t job_id, const std::string& worker, ReleaseOutcome outcome,
                     std::int64_t retry_at, const std::string& detail,
                     std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    std::string record_id, kind;
    std::int64_t request_id = 0;
    {
      Stmt s(db_, "SELECT record_id, kind, request_id, state, worker FROM releases WHERE id = ?1");
      s.bind(1, job_id);
      if (s.step() != SQLITE_ROW) return fail(error, "no release job " + std::to_string(job_id));
      if (s.text(3) != "running" || s.text(4) != worker) {
        return fail(error, "release job " + std::to_string(job_id) + " is not held by " + worker +
                               " (" + s.text(3) + ", " + s.text(4) + ")");
      }
      record_id = s.text(0);
      kind = s.text(1);
      request_id = s.i64(2);
    }
    const FinishStates f = finishStates(kind, outcome);
    const std::int64_t now = nowSeconds();
    const bool final = outcome != ReleaseOutcome::Retry;
    Stmt u(db_, "UPDATE releases SET state = ?2, detail = ?3, due = ?4, finished = ?5, "
                "lease_until = 0 WHERE id = ?1");
    u.bind(1, job_id).bind(2, f.job).bind(3, detail).bind(4, final ? now : retry_at);
    u.bind(5, final ? now : std::int64_t{0});
    if (u.step() != SQLITE_DONE) return sqlFail(error, "finish");
    if (!f.record.empty() && !setState(record_id, f.record, error)) return false;
    if (!f.request.empty() && request_id) {
      Stmt r(db_, "UPDATE requests SET state = ?2 WHERE id = ?1");
      r.bind(1, request_id).bind(2, f.request);
      if (r.step() != SQLITE_DONE) return sqlFail(error, "finish");
    }
    const std::string d = finishDetail(job_id, final, retry_at, detail);
    if (!audit(now, worker, "system", kind + "." + outcomeName(outcome), record_id, d, error)) {
      return false;
    }
    return tx.commit(error);
  }

  bool releases(const std::string& record_id, const std::string& state,
                std::vector<ReleaseJob>& out, std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, (std::string("SELECT ") + kReleaseColumns +
                 " FROM releases WHERE (?1 = '' OR record_id = ?1) AND (?2 = '' OR state = ?2) "
                 "ORDER BY id LIMIT ?3")
                    .c_str());
    s.bind(1, record_id).bind(2, state).bind(3, static_cast<std::int64_t>(kListLimit));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(job(s));
    return rc == SQLITE_DONE || sqlFail(error, "releases");
  }

  bool appendAudit(const std::string& actor, const std::string& role, const std::string& action,
                   const std::string& record_id, const std::string& detail,
                   std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    if (!audit(nowSeconds(), actor, role, action, record_id, detail, error)) return false;
    return tx.commit(error);
  }

  bool audit(std::int64_t since, std::vector<AuditRow>& out, std::string* error) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT seq, time, actor, role, action, record_id, detail, prev_hash, hash FROM audit "
                "WHERE time >= ?1 ORDER BY seq");
    s.bind(1, since);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(row(s));
    return rc == SQLITE_DONE || sqlFail(error, "audit");
  }

  AuditCheck verifyAudit() override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT seq, time, actor, role, action, record_id, detail, prev_hash, hash FROM audit "
                "ORDER BY seq");
    ChainCheck check;
    while (s.step() == SQLITE_ROW && check.add(row(s))) {
    }
    Stmt m(db_, "SELECT value FROM meta WHERE key = 'audit_head'");
    return check.finish(m.step() == SQLITE_ROW ? m.text(0) : "");
  }

  /// The database file is still the one opened: a vault whose folder was removed (or whose file
  /// was replaced) would take writes into an unlinked file and lose them at the next start, so
  /// put() refuses instead (the SMTP client gets 4xx, the dropped file stays claimed).
  bool sameFile(std::string* error) {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0 || st.st_dev != dev_ || st.st_ino != ino_) {
      return fail(error, "the database file " + path_ + " was removed or replaced since it was "
                         "opened (restart mugai serve once it is back)");
    }
    return true;
  }

  /// The rowids the index offers for `text` (as a JSON array), `few` false when there are more
  /// than kTextCandidateLimit. A phrase of many trigrams costs as much as its commonest ones'
  /// lists (every record holds "sen", "der", "exa"...): the three rarest trigrams of the text are
  /// asked first (each counted up to kTrigramProbe), the whole phrase only when they leave too
  /// many. Either is a superset of the records holding the text; list() checks each.
  bool textCandidates(const std::string& text, std::string& rowids, bool& few, std::string* error) {
    std::vector<std::pair<std::int64_t, std::string>> counted;
    for (const auto& t : trigrams(text)) {
      if (counted.size() == kTrigramsProbed) break;
      std::int64_t n = 0;
      if (!matchCount(ftsQuote(t), kTrigramProbe + 1, n, error)) return false;
      counted.emplace_back(n, t);
    }
    std::sort(counted.begin(), counted.end());
    std::string rare;
    for (std::size_t i = 0; i < counted.size() && i < 3; ++i) {
      rare += (rare.empty() ? "" : " AND ") + ftsQuote(counted[i].second);
    }
    for (const std::string& query : {rare, ftsQuote(text)}) {
      rowids = "[";
      std::int64_t n = 0;
      Stmt c(db_, "SELECT rowid FROM records_text WHERE records_text MATCH ?1 LIMIT ?2");
      c.bind(1, query).bind(2, kTextCandidateLimit + 1);
      int rc;
      while ((rc = c.step()) == SQLITE_ROW) {
        rowids += (n++ ? "," : "") + std::to_string(c.i64(0));
      }
      if (rc != SQLITE_DONE) return sqlFail(error, "text index");
      rowids += "]";
      few = n <= kTextCandidateLimit;
      if (few) return true;
    }
    return true;
  }

  bool matchCount(const std::string& query, std::int64_t limit, std::int64_t& n, std::string* error) {
    Stmt c(db_, "SELECT count(*) FROM (SELECT rowid FROM records_text WHERE records_text MATCH ?1 "
                "LIMIT ?2)");
    c.bind(1, query).bind(2, limit);
    if (c.step() != SQLITE_ROW) return sqlFail(error, "text index");
    n = c.i64(0);
    return true;
  }

  /// Schema 1 -> 2: the text index, filled from the records already there; 2 -> 3: the column
  /// naming an original's file beside the database. Once, under the write lock: a serve and a
  /// console opening an old vault together migrate it once.
  bool migrate(std::string* error) {
    auto version = [this] {
      Stmt m(db_, "SELECT value FROM meta WHERE key = 'schema'");
      return m.step() == SQLITE_ROW ? m.text(0) : std::string();
    };
    if (version() == "3") return true;
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    if (version() == "1" && !migrateTextIndex(error)) return false;
    if (version() == "2") {
      bool column = false;  // a vault whose meta was set back by hand may have it already
      {
        Stmt has(db_, "SELECT count(*) FROM pragma_table_info('originals') WHERE name = 'file'");
        column = has.step() == SQLITE_ROW && has.i64(0) > 0;
      }
      char* msg = nullptr;
      if ((!column && sqlite3_exec(db_, kOriginalFileColumn, nullptr, nullptr, &msg) != SQLITE_OK) ||
          sqlite3_exec(db_, kOriginalFiles, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : "unknown error";
        sqlite3_free(msg);
        return fail(error, "cannot add the originals' file column to " + path_ + ": " + m);
      }
    }
    return tx.commit(error);
  }

  /// Schema 1 -> 2, inside migrate()'s transaction.
  bool migrateTextIndex(std::string* error) {
    char* msg = nullptr;
    const char* fill =
        "INSERT INTO records_text(records_text) VALUES ('delete-all');"
        "INSERT INTO records_text(rowid, subject, sender, filename) "
        "SELECT rowid, subject, sender, filename FROM records;"
        "UPDATE meta SET value = '2' WHERE key = 'schema';";
    if (sqlite3_exec(db_, kTextIndex, nullptr, nullptr, &msg) != SQLITE_OK ||
        sqlite3_exec(db_, fill, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return fail(error, "cannot build the text index of " + path_ + ": " + m);
    }
    return true;
  }

  /// The file naming `id`'s original beside the database; "" when it is in the database.
  std::string fileOf(const std::string& id) {
    Stmt f(db_, "SELECT file FROM originals WHERE id = ?1");
    f.bind(1, id);
    return f.step() == SQLITE_ROW ? f.text(0) : std::string();
  }

  /// Removes the files beside the database that no record names and that are older than
  /// kOrphanAge (a crash between a file's write and its record's commit; a purge or discard
  /// killed between its commit and the unlink). The folder is read and each old file looked up
  /// without the write lock (a file with a record keeps it until a purge or discard, which removes
  /// the file itself); the few without one are looked up again under the write lock, so no record
  /// naming one commits meanwhile from another process, and removed.
  bool sweep(std::string* error) {
    const std::int64_t before = nowSeconds() - kOrphanAge;
    std::vector<std::string> orphans;
    for (const auto& [name, mtime] : files_->list()) {
      if (mtime <= before && !named(name)) orphans.push_back(name);
    }
    if (orphans.empty()) return true;
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    for (const auto& name : orphans) {
      if (!named(name)) files_->remove(name);
    }
    return tx.commit(error);
  }

  /// Whether a record names the file `name` (a read error counts as named: kept).
  bool named(const std::string& name) {
    // "file != ''" lets SQLite use the partial index originals_file (else a scan per file).
    Stmt f(db_, "SELECT 1 FROM originals WHERE file = ?1 AND file != ''");
    f.bind(1, name);
    return f.step() != SQLITE_DONE;
  }

  bool init(std::string* error) {
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) {
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
    sqlite3_busy_timeout(db_, 10000);
    char* msg = nullptr;
    const char* pragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
    if (sqlite3_exec(db_, pragmas, nullptr, nullptr, &msg) != SQLITE_OK ||
        sqlite3_exec(db_, kSchema, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return fail(error, "cannot set up " + path_ + ": " + m);
    }
    return migrate(error) && files_->open(path_ + ".originals", error) && sweep(error);
  }

 private:
  /// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
  class Tx {
   public:
    explicit Tx(SqliteVault& v) : v_(v) {}
    ~Tx() {
      if (open_) sqlite3_exec(v_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    bool begin(std::string* error) {
      if (sqlite3_exec(v_.db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return v_.sqlFail(error, "begin");
      }
      open_ = true;
      return true;
    }
    bool commit(std::string* error) {
      if (sqlite3_exec(v_.db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return v_.sqlFail(error, "commit");
      }
      open_ = false;
      return true;
    }

   private:
    SqliteVault& v_;
    bool open_ = false;
  };

  static ReleaseJob job(const Stmt& s) {
    ReleaseJob j;
    j.id = s.i64(0);
    j.record_id = s.text(1);
    j.kind = s.text(2);
    j.request_id = s.i64(3);
    j.recipients = splitLines(s.text(4));
    j.dedup = s.text(5);
    j.state = s.text(6);
    j.by = s.text(7);
    j.role = s.text(8);
    j.worker = s.text(9);
    j.detail = s.text(10);
    j.created = s.i64(11);
    j.due = s.i64(12);
    j.lease_until = s.i64(13);
    j.finished = s.i64(14);
    j.attempts = static_cast<int>(s.i64(15));
    return j;
  }

  static AuditRow row(const Stmt& s) {
    return AuditRow{s.i64(0), s.i64(1), s.text(2), s.text(3), s.text(4),
                    s.text(5), s.text(6), s.text(7), s.text(8)};
  }

  bool setState(const std::string& id, const std::string& state, std::string* error) {
    Stmt s(db_, "UPDATE records SET state = ?2 WHERE id = ?1");
    s.bind(1, id).bind(2, state);
    return s.step() == SQLITE_DONE || sqlFail(error, "state");
  }

  /// Appends one audit row; inside the caller's transaction.
  bool audit(std::int64_t time, const std::string& actor, const std::string& role,
             const std::string& action, const std::string& record_id, const std::string& detail,
             std::string* error) {
    AuditRow r{0, time, actor, role, action, record_id, detail, kZeroHash, ""};
    {
      Stmt last(db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
      if (last.step() == SQLITE_ROW) {
        r.seq = last.i64(0);
        r.prev_hash = last.text(1);
      }
    }
    ++r.seq;
    r.hash = auditHash(r);
    Stmt s(db_, "INSERT INTO audit(seq, time, actor, role, action, record_id, detail, prev_hash, hash) "
                "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    s.bind(1, r.seq).bind(2, r.time).bind(3, r.actor).bind(4, r.role).bind(5, r.action);
    s.bind(6, r.record_id).bind(7, r.detail).bind(8, r.prev_hash).bind(9, r.hash);
    if (s.step() != SQLITE_DONE) return sqlFail(error, "audit");
    Stmt m(db_, "INSERT INTO meta(key, value) VALUES ('audit_head', ?1) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    m.bind(1, std::to_string(r.seq) + " " + r.hash);
    return m.step() == SQLITE_DONE || sqlFail(error, "audit head");
  }

  bool fail(std::string* error, const std::string& what) {
    if (error) *error = "vault: " + what;
    return false;
  }
  bool sqlFail(std::string* error, const std::string& what) {
    last_rc_ = sqlite3_extended_errcode(db_);
    return fail(error, what + ": " + sqlite3_errmsg(db_));
  }

  std::mutex mu_;
  GroupCommit commits_;  ///< put()'s records, written a group per transaction
  /// The large originals, beside the database; shared with staged originals (Prepared), which
  /// may outlive the vault (a session a timed-out drain left behind).
  std::shared_ptr<OriginalFiles> files_ = std::make_shared<OriginalFiles>();
  int last_rc_ = SQLITE_OK;  ///< the extended result code of the last sqlFail()
  sqlite3* db_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace

std::unique_ptr<Vault> openSqliteVault(const std::string& path, std::string* error) {
  sqlite3* db = nullptr;
  // The database holds originals: owner-only from the first byte.
  const mode_t old = umask(077);
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
                               SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  umask(old);
  if (rc != SQLITE_OK) {
    if (error) *error = "vault: cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return nullptr;
  }
  auto v = std::make_unique<SqliteVault>(db, path);
  if (!v->init(error)) return nullptr;
  return v;
}

}  // namespace mugai::vault
