// PostgreSQL vault backend (libpq), for sites with several gateways behind one MX.
//
// Trust: every stored string is a parameter ($1...), never spliced into SQL.
// Errors: every call returns false / nullopt with "vault: ..." in *error.
//
// Concurrency between gateways: a record id is the primary key (a collision is an error, never an
// overwrite); audit rows are appended under a row lock on meta('audit_head'), so the chain stays
// one line whatever the number of writers; a request is decided under a row lock on it
// (SELECT ... FOR UPDATE), so two approvers or two gateways carry out a decision once; purge takes
// due records with FOR UPDATE SKIP LOCKED, so two purges never fight over one record.
// One connection per Vault object, used under a mutex (libpq connections are not thread-safe).
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mugai/vault/vault.h"
#include "src/vault/group_commit.h"
#include "src/vault/internal.h"
#include "src/vault/pg_vault.h"

namespace mugai::vault {
namespace {

using namespace internal;


/// meta.schema once every step below ran; a vault at this version is not set up again.
/// 1: kSchema; 2: the free-text search index (textIndexStep()).
const char* const kSchemaVersion = "2";

/// Schema 2: trigram GIN indexes (pg_trgm) on the three searched columns, as list() compares them
/// (lower(column) LIKE '%text%'), so a search looks the index up instead of reading every row.
const char* const kTextIndexes = R"SQL(
CREATE INDEX IF NOT EXISTS records_subject_trgm ON records USING gin (lower(subject) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS records_sender_trgm ON records USING gin (lower(sender) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS records_filename_trgm ON records USING gin (lower(filename) gin_trgm_ops);
)SQL";

/// `text` as a LIKE pattern matching it anywhere (%, _ and \ in it match themselves).
std::string containsPattern(const std::string& text) {
  std::string p = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

/// Said once per process: a search without the index reads every row of its range.
void sayNoTextIndex(const std::string& why) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::cerr << "mugai: vault: free-text search reads every row of its range (no pg_trgm index: "
              << why << "); to index it, have a superuser run CREATE EXTENSION pg_trgm in this "
              << "database, then UPDATE meta SET value = '1' WHERE key = 'schema' (the next start "
              << "builds the indexes) — docs/vault.md\n";
  });
}

const char* const kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL,
  sender TEXT NOT NULL, recipients TEXT NOT NULL, client_addr TEXT NOT NULL,
  client_name TEXT NOT NULL, helo TEXT NOT NULL, xforward TEXT NOT NULL, source TEXT NOT NULL,
  subject TEXT NOT NULL, from_header TEXT NOT NULL, filename TEXT NOT NULL, verdict TEXT NOT NULL,
  reason TEXT NOT NULL, reasons TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL,
  stored BIGINT NOT NULL, delivered_id TEXT NOT NULL, tier TEXT NOT NULL, state TEXT NOT NULL,
  hold BOOLEAN NOT NULL DEFAULT false, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_created ON records(created);
CREATE INDEX IF NOT EXISTS records_sender ON records(sender, created);
CREATE INDEX IF NOT EXISTS records_reason ON records(reason, created);
CREATE INDEX IF NOT EXISTS records_state ON records(state, created);
CREATE INDEX IF NOT EXISTS records_expires ON records(expires) WHERE NOT hold AND expires > 0;
CREATE TABLE IF NOT EXISTS recipients(
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, address TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address, record_id);
CREATE INDEX IF NOT EXISTS recipients_record ON recipients(record_id);
CREATE TABLE IF NOT EXISTS originals(
  id TEXT PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE, data BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS objects(
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, seq BIGSERIAL,
  part TEXT NOT NULL, what TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL,
  sha256 TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS objects_record ON objects(record_id);
CREATE INDEX IF NOT EXISTS objects_sha256 ON objects(sha256);
CREATE TABLE IF NOT EXISTS bodies(
  id TEXT PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests(
  id BIGSERIAL PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, requester TEXT NOT NULL,
  reason TEXT NOT NULL, state TEXT NOT NULL, created BIGINT NOT NULL,
  decided BIGINT NOT NULL DEFAULT 0, decided_by TEXT NOT NULL DEFAULT '',
  decision_reason TEXT NOT NULL DEFAULT '', approvals TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS requests_record ON requests(record_id);
CREATE TABLE IF NOT EXISTS audit(
  seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
  action TEXT NOT NULL, record_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases(
  id BIGSERIAL PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE, kind TEXT NOT NULL,
  request_id BIGINT NOT NULL DEFAULT 0, recipients TEXT NOT NULL, dedup TEXT UNIQUE,
  state TEXT NOT NULL, by_actor TEXT NOT NULL, by_role TEXT NOT NULL,
  worker TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', created BIGINT NOT NULL,
  due BIGINT NOT NULL, lease_until BIGINT NOT NULL DEFAULT 0, finished BIGINT NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, payload BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS releases_due ON releases(state, due);
CREATE INDEX IF NOT EXISTS releases_record ON releases(record_id);
INSERT INTO meta(key, value) VALUES ('schema', '1') ON CONFLICT DO NOTHING;
INSERT INTO meta(key, value) VALUES ('audit_head', '') ON CONFLICT DO NOTHING;
)SQL";

/// A query's parameters: text, or binary for the original's bytes.
struct Params {
  std::vector<std::string> values;
  std::vector<int> binary;
  Params& add(std::string v) {
    values.push_back(std::move(v));
    binary.push_back(0);
    return *this;
  }
  Params& add(std::int64_t v) { return add(std::to_string(v)); }
  Params& bytes(std::string v) {
    values.push_back(std::move(v));
    binary.push_back(1);
    return *this;
  }
};

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

class PgVault final : public Vault {
 public:
  PgVault(PGconn* c, std::string url) : c_(c), url_(std::move(url)) {}
  ~PgVault() override { PQfinish(c_); }

  std::string url() const override { return url_; }

  bool init(std::string* error) {
    // A vault already set up is left alone: CREATE INDEX IF NOT EXISTS takes a SHARE lock on its
    // table before it sees that the index exists, so a gateway (or console) starting while another
    // gateway is inside a transaction waited for it, and could deadlock with it: PostgreSQL then
    // aborted the other's transaction, e.g. the record of a release that had just been delivered.
    if (schemaCurrent()) return readTextIndex();
    // Several gateways may start at once on a new database: the schema is created under an
    // advisory lock, and checked again once the lock is held.
    if (!exec("SELECT pg_advisory_lock(7245119)", {}, error)) return false;
    if (schemaCurrent()) {
      exec("SELECT pg_advisory_unlock(7245119)", {}, nullptr);
      return readTextIndex();
    }
    Result r(PQexec(c_, kSchema), PQclear);
    bool ok = PQresultStatus(r.get()) == PGRES_COMMAND_OK;
    std::string why = ok ? "" : PQresultErrorMessage(r.get());
    if (ok) ok = textIndexStep(&why);
    exec("SELECT pg_advisory_unlock(7245119)", {}, nullptr);
    return ok ? readTextIndex() : fail(error, "cannot set up the schema: " + why);
  }

  /// Schema step 2 (under the advisory lock): pg_trgm and its indexes, or, when this database
  /// user may not create the extension, a note in meta that the search scans. Builds the indexes
  /// of an existing vault once (they lock `records` against writes while they are built).
  bool textIndexStep(std::string* why) {
    Result e(PQexec(c_, "CREATE EXTENSION IF NOT EXISTS pg_trgm"), PQclear);
    std::string state = "pg_trgm";
    if (PQresultStatus(e.get()) != PGRES_COMMAND_OK) {
      state = "none";
      sayNoTextIndex(trim(PQresultErrorMessage(e.get())));
    } else {
      Result i(PQexec(c_, kTextIndexes), PQclear);
      if (PQresultStatus(i.get()) != PGRES_COMMAND_OK) {
        *why = std::string("text index: ") + PQresultErrorMessage(i.get());
        return false;
      }
    }
    std::string err;
    if (!exec("INSERT INTO meta(key, value) VALUES ('text_index', $1) ON CONFLICT (key) DO UPDATE "
              "SET value = excluded.value",
              Params().add(state), &err) ||
        !exec("UPDATE meta SET value = $1 WHERE key = 'schema'", Params().add(std::string(kSchemaVersion)),
              &err)) {
      *why = err;
      return false;
    }
    return true;
  }

  /// Whether list() may count on the trigram indexes (meta 'text_index', a plain read).
  bool readTextIndex() {
    Result t = run("SELECT value FROM meta WHERE key = 'text_index'", {});
    text_indexed_ = PQresultStatus(t.get()) == PGRES_TUPLES_OK && PQntuples(t.get()) == 1 &&
                    col(t.get(), 0, 0) == "pg_trgm";
    if (!text_indexed_) sayNoTextIndex("the database user may not create the extension");
    return true;
  }

  static std::string trim(std::string s) {
    for (auto& c : s) {
      if (c == '\n') c = ' ';
    }
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  /// True when the tables exist at this schema version (plain reads: no table lock is taken).
  bool schemaCurrent() {
    Result t = run("SELECT to_regclass('meta') IS NOT NULL", {});
    if (PQresultStatus(t.get()) != PGRES_TUPLES_OK || col(t.get(), 0, 0) != "t") return false;
    Result v = run("SELECT value FROM meta WHERE key = 'schema'", {});
    return PQresultStatus(v.get()) == PGRES_TUPLES_OK && PQntuples(v.get()) == 1 &&
           col(v.get(), 0, 0) == kSchemaVersion;
  }

  bool put(const NewRecord& r, std::string* error) override {
    // Compressing and hashing need no lock: done before the record queues for its group.
    Pending p;
    p.record = &r;
    if (!compress(r.original, p.packed)) return fail(error, "cannot compress the original");
    p.sha = sha256Hex(r.original);
    commits_.submit(p, [this](const std::vector<Pending*>& group) { writeGroup(group); });
    if (!p.ok && error) *error = p.error;
    return p.ok;
  }

  /// One group of records (group_commit.h) in one transaction: this Vault's one connection
  /// serialises its callers, so PostgreSQL's own group commit (concurrent commits flushed
  /// together) never saw them; one transaction per group is one WAL flush. Each record under its
  /// own savepoint: one refused for itself (an integrity constraint: its id exists already) is
  /// rolled back alone; any other error fails the whole group.
  void writeGroup(const std::vector<Pending*>& group) {
    std::lock_guard lock(mu_);
    std::string error;
    Tx tx(*this);
    if (!tx.begin(&error)) return failGroup(group, error);
    for (Pending* p : group) {
      if (!exec("SAVEPOINT record", {}, &error)) return failGroup(group, error);
      last_state_.clear();
      if (insertRecord(*p, &p->error)) {
        p->ok = exec("RELEASE SAVEPOINT record", {}, &error);
        if (!p->ok) return failGroup(group, error);
        continue;
      }
      const std::string why = p->error;
      if (last_state_.rfind("23", 0) != 0 ||
          !exec("ROLLBACK TO SAVEPOINT record", {}, &error) ||
          !exec("RELEASE SAVEPOINT record", {}, &error)) {
        return failGroup(group, why);
      }
    }
    if (!tx.commit(&error)) failGroup(group, error);
  }

  /// Writes one record's rows and its audit row; inside writeGroup()'s transaction.
  bool insertRecord(const Pending& pending, std::string* error) {
    const NewRecord& r = *pending.record;
    const std::string& sha = pending.sha;
    const std::string& packed = pending.packed;
    const std::int64_t created = r.created ? r.created : nowSeconds();
    Params p;
    p.add(r.id).add(r.kind).add(created).add(r.expires).add(r.envelope.sender);
    p.add(joinLines(r.envelope.recipients)).add(r.envelope.client_addr).add(r.envelope.client_name);
    p.add(r.envelope.helo).add(r.envelope.xforward).add(r.envelope.source).add(r.subject).add(r.from);
    p.add(r.filename).add(r.verdict).add(r.reason).add(joinLines(r.reasons)).add(sha);
    p.add(static_cast<std::int64_t>(r.original.size())).add(static_cast<std::int64_t>(packed.size()));
    p.add(r.delivered_id).add(std::string(tierName(r.tier))).add(r.report_json);
    Result ins = run("INSERT INTO records(id, kind, created, expires, sender, recipients, client_addr, "
                     "client_name, helo, xforward, source, subject, from_header, filename, verdict, "
                     "reason, reasons, sha256, size, stored, delivered_id, tier, state, hold, report) "
                     "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,"
                     "$21,$22,'withheld',false,$23)",
                     p);
    if (PQresultStatus(ins.get()) != PGRES_COMMAND_OK) {
      const char* state = PQresultErrorField(ins.get(), PG_DIAG_SQLSTATE);
      last_state_ = state ? state : "";
      return last_state_ == "23505"
                 ? fail(error, "a record with the id " + r.id + " exists already")
                 : fail(error, std::string("insert record: ") + PQresultErrorMessage(ins.get()));
    }
    for (const auto& rcpt : r.envelope.recipients) {
      if (!exec("INSERT INTO recipients(record_id, address) VALUES ($1, lower($2))",
                Params().add(r.id).add(rcpt), error)) {
        return false;
      }
    }
    if (!exec("INSERT INTO originals(id, data) VALUES ($1, $2)", Params().add(r.id).bytes(packed),
              error)) {
      return false;
    }
    if (!r.body_text.empty() &&
        !exec("INSERT INTO bodies(id, text) VALUES ($1, $2)", Params().add(r.id).add(r.body_text), error)) {
      return false;
    }
    for (const auto& o : r.objects) {
      if (!exec("INSERT INTO objects(record_id, part, what, action, reason, sha256) VALUES "
                "($1,$2,$3,$4,$5,$6)",
                Params().add(r.id).add(o.part).add(o.what).add(o.action).add(o.reason).add(o.sha256),
                error)) {
        return false;
      }
    }
    if (!audit(created, "mugai", "system", "store", r.id,
               "verdict=" + r.verdict + " reason=" + r.reason + " sha256=" + sha +
                   " tier=" + tierName(r.tier),
               error)) {
      return false;
    }
    return true;
  }

  std::optional<RecordInfo> get(const std::string& id, std::string* error) override {
    std::lock_guard lock(mu_);
    Result r = run(std::string("SELECT ") + kRecordColumns + " FROM records WHERE id = $1",
                   Params().add(id));
    if (!tuples(r, error, "read record")) return std::nullopt;
    if (PQntuples(r.get()) == 0) {
      fail(error, "no record " + id);
      return std::nullopt;
    }
    RecordInfo info = readRecord(r.get(), 0);
    Result o = run("SELECT part, what, action, reason, sha256 FROM objects WHERE record_id = $1 "
                   "ORDER BY seq",
                   Params().add(id));
    if (!tuples(o, error, "read objects")) return std::nullopt;
    for (int i = 0; i < PQntuples(o.get()); ++i) {
      info.objects.push_back({col(o.get(), i, 0), col(o.get(), i, 1), col(o.get(), i, 2),
                              col(o.get(), i, 3), col(o.get(), i, 4)});
    }
    Result b = run("SELECT text FROM bodies WHERE id = $1", Params().add(id));
    if (!tuples(b, error, "read body text")) return std::nullopt;
    if (PQntuples(b.get()) == 1) info.body_text = col(b.get(), 0, 0);
    return info;
  }

  bool original(const std::string& id, std::string& bytes, std::string* error) override {
    std::lock_guard lock(mu_);
    Params p;
    p.add(id);
    Result r(PQexecParams(c_,
                          "SELECT o.data, r.sha256, r.size FROM originals o JOIN records r ON "
                          "r.id = o.id WHERE o.id = $1",
                          1, nullptr, ptrs(p).data(), lens(p).data(), p.binary.data(), 1),
             PQclear);  // binary results: the bytes as stored
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return fail(error, std::string("read original: ") + PQresultErrorMessage(r.get()));
    }
    if (PQntuples(r.get()) == 0) return fail(error, "no original for " + id);
    const std::string packed(PQgetvalue(r.get(), 0, 0),
                             static_cast<std::size_t>(PQgetlength(r.get(), 0, 0)));
    const std::string sha(PQgetvalue(r.get(), 0, 1),
                          static_cast<std::size_t>(PQgetlength(r.get(), 0, 1)));
    std::uint64_t size = 0;
    const unsigned char* s = reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), 0, 2));
    for (int i = 0; i < 8 && PQgetlength(r.get(), 0, 2) == 8; ++i) size = (size << 8) | s[i];
    if (!decompress(packed, std::min<std::size_t>(size, kOriginalLimit), bytes) ||
        bytes.size() != size || sha256Hex(bytes) != sha) {
      bytes.clear();
      return fail(error, "the original of " + id + " is damaged (size or SHA-256 differ)");
    }
    return true;
  }

  std::optional<std::string> report(const std::string& id, std::string* error) override {
    std::lock_guard lock(mu_);
    Result r = run("SELECT report FROM records WHERE id = $1", Params().add(id));
    if (!tuples(r, error, "read report")) return std::nullopt;
    if (PQntuples(r.get()) == 0) {
      fail(error, "no record " + id);
      return std::nullopt;
    }
    return col(r.get(), 0, 0);
  }

  bool list(const Query& q, std::vector<RecordInfo>& out, std::string* error) override {
    // The database holds UTF-8 only (and refuses other bytes as a parameter): such a text is in
    // no record.
    if (!q.text.empty() && utf8Chars(q.text) == std::string_view::npos) return true;
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kRecordColumns + " FROM records WHERE true";
    Params p;
    auto param = [&](std::string v) {
      p.add(std::move(v));
      return "$" + std::to_string(p.values.size());
    };
    if (!q.recipient.empty()) {
      sql += " AND id IN (SELECT record_id FROM recipients WHERE address = lower(" +
             param(q.recipient) + "))";
    }
    if (!q.sender.empty()) sql += " AND sender = " + param(q.sender);
    if (!q.reason.empty()) {
      const std::string r = param(q.reason);
      sql += " AND (reason = " + r + " OR position(E'\\n' || " + r + " || E'\\n' in E'\\n' || reasons || E'\\n') > 0)";
    }
    if (!q.state.empty()) sql += " AND state = " + param(q.state);
    if (q.since) sql += " AND created >= " + param(std::to_string(q.since)) + "::bigint";
    if (q.until) sql += " AND created < " + param(std::to_string(q.until)) + "::bigint";
    if (!q.id_prefix.empty()) sql += " AND starts_with(id, " + param(q.id_prefix) + ")";
    if (!q.text.empty()) {
      // lower(column) LIKE lower('%text%'): the form the trigram indexes answer (a text shorter
      // than three characters has no trigram: PostgreSQL reads the rows instead).
      const std::string t = "lower(" + param(containsPattern(q.text)) + ")";
      sql += " AND (lower(subject) LIKE " + t + " OR lower(sender) LIKE " + t +
             " OR lower(filename) LIKE " + t + ")";
    }
    sql += " ORDER BY created DESC, id DESC LIMIT " +
           param(std::to_string(std::min(q.limit, kListLimit))) + "::bigint OFFSET " +
           param(std::to_string(q.offset)) + "::bigint";
    Result r = run(sql, p);
    if (!tuples(r, error, "list")) return false;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(readRecord(r.get(), i));
    return true;
  }

  bool textIndexed() const override { return text_indexed_; }

  bool usage(Usage& u, std::string* error) override {
    std::lock_guard lock(mu_);
    Result r = run("SELECT count(*), coalesce(sum(size),0), coalesce(sum(stored),0) FROM records", {});
    if (!tuples(r, error, "usage")) return false;
    u.records = std::stoull(col(r.get(), 0, 0));
    u.original_bytes = std::stoull(col(r.get(), 0, 1));
    u.stored_bytes = std::stoull(col(r.get(), 0, 2));
    return true;
  }

  bool setHold(const std::string& id, bool hold, const std::string& actor, const std::string& role,
               std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    Result r = run("UPDATE records SET hold = $2 WHERE id = $1",
                   Params().add(id).add(std::string(hold ? "true" : "false")));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return fail(error, PQresultErrorMessage(r.get()));
    if (std::string(PQcmdTuples(r.get())) != "1") return fail(error, "no record " + id);
    if (!audit(nowSeconds(), actor, role, hold ? "hold" : "unhold", id, "", error)) return false;
    return tx.commit(error);
  }

  bool addRequest(const std::string& record_id, const std::string& requester,
                  const std::string& reason, const std::string& role, Request& out,
                  std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    // The record row is locked: two requests by one person cannot both pass the check below.
    Result rec = run("SELECT id FROM records WHERE id = $1 FOR UPDATE", Params().add(record_id));
    if (!tuples(rec, error, "request")) return false;
    if (PQntuples(rec.get()) == 0) return fail(error, "no record " + record_id);
    Result dup = run("SELECT count(*) FROM requests WHERE record_id = $1 AND requester = $2 AND "
                     "state = 'pending'",
                     Params().add(record_id).add(requester));
    if (!tuples(dup, error, "request")) return false;
    if (col(dup.get(), 0, 0) != "0") {
      return fail(error, requester + " has a pending request for " + record_id);
    }
    const std::int64_t now = nowSeconds();
    Result ins = run("INSERT INTO requests(record_id, requester, reason, state, created) VALUES "
                     "($1, $2, $3, 'pending', $4) RETURNING id",
                     Params().add(record_id).add(requester).add(reason).add(now));
    if (!tuples(ins, error, "request")) return false;
    out = Request{std::stoll(col(ins.get(), 0, 0)), record_id, requester, reason, "pending", now, 0, "", "", {}};
    if (!exec("UPDATE records SET state = 'requested' WHERE id = $1", Params().add(record_id), error)) {
      return false;
    }
    if (!audit(now, requester, role, "request", record_id,
               "request=" + std::to_string(out.id) + " reason=" + reason, error)) {
      return false;
    }
    return tx.commit(error);
  }

  bool requests(const std::string& record_id, std::vector<Request>& out,
                std::string* error) override {
    std::lock_guard lock(mu_);
    Result r = run("SELECT id, record_id, requester, reason, state, created, decided, decided_by, "
                   "decision_reason, approvals FROM requests WHERE record_id = $1 ORDER BY id",
                   Params().add(record_id));
    if (!tuples(r, error, "requests")) return false;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      out.push_back({std::stoll(col(r.get(), i, 0)), col(r.get(), i, 1), col(r.get(), i, 2),
                     col(r.get(), i, 3), col(r.get(), i, 4), std::stoll(col(r.get(), i, 5)),
                     std::stoll(col(r.get(), i, 6)), col(r.get(), i, 7), col(r.get(), i, 8),
                     splitLines(col(r.get(), i, 9))});
    }
    return true;
  }

  bool decide(std::int64_t request_id, bool approve, const std::string& actor,
              const std::string& role, const std::string& reason, std::size_t approvals_needed,
              std::string* error, std::string* state_out) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    Result cur = run("SELECT record_id, state, approvals FROM requests WHERE id = $1 FOR UPDATE",
                     Params().add(request_id));
    if (!tuples(cur, error, "decide")) return false;
    if (PQntuples(cur.get()) == 0) return fail(error, "no request " + std::to_string(request_id));
    const std::string record_id = col(cur.get(), 0, 0), state_now = col(cur.get(), 0, 1);
    if (state_now != "pending") {
      return fail(error, "request " + std::to_string(request_id) + " is not pending (" + state_now + ")");
    }
    const DecideStep d = decideStep(request_id, splitLines(col(cur.get(), 0, 2)), approve, actor,
                                    reason, approvals_needed);
    if (!d.error.empty()) return fail(error, d.error);
    const std::string& state = d.state;
    const std::int64_t now = nowSeconds();
    if (!exec("UPDATE requests SET state = $2, decided = $3, decided_by = $4, decision_reason = $5, "
              "approvals = $6 WHERE id = $1",
              Params().add(request_id).add(state).add(d.done ? now : std::int64_t{0})
                  .add(d.done ? actor : std::string()).add(reason).add(joinLines(d.approvals)),
              error)) {
      return false;
    }
    if (d.done && !exec("UPDATE records SET state = $2 WHERE id = $1",
                        Params().add(record_id).add(state), error)) {
      return false;
    }
    if (!audit(now, actor, role, approve ? "approve" : "deny", record_id, d.detail, error)) return false;
    if (!tx.commit(error)) return false;
    if (state_out) *state_out = state;
    return true;
  }

  bool discard(const std::string& id, const std::string& why, std::string* error) override {
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    Result d = run("DELETE FROM records WHERE id = $1 AND NOT hold AND state = 'withheld' AND "
                   "NOT EXISTS (SELECT 1 FROM requests WHERE record_id = $1)",
                   Params().add(id));
    if (PQresultStatus(d.get()) != PGRES_COMMAND_OK) {
      return fail(error, std::string("discard: ") + PQresultErrorMessage(d.get()));
    }
    if (std::string(PQcmdTuples(d.get())) == "0") {
      return fail(error, "no withheld record " + id + " to discard");
    }
    if (!audit(nowSeconds(), "mugai", "system", "discard", id, why, error)) return false;
    return tx.commit(error);
  }

  bool purge(std::int64_t now, bool dry_run, const std::string& actor, PurgeResult& out,
             std::string* error) override {
    std::lock_guard lock(mu_);
    Result held = run("SELECT count(*) FROM records WHERE hold AND expires > 0 AND expires <= $1",
                      Params().add(now));
    if (!tuples(held, error, "purge")) return false;
    out.held_skipped = std::stoull(col(held.get(), 0, 0));
    if (dry_run) {
      Result due = run("SELECT id, stored FROM records WHERE NOT hold AND expires > 0 AND "
                       "expires <= $1 ORDER BY expires",
                       Params().add(now));
      if (!tuples(due, error, "purge")) return false;
      for (int i = 0; i < PQntuples(due.get()); ++i) {
        out.purged.push_back(col(due.get(), i, 0));
        out.bytes += std::stoull(col(due.get(), i, 1));
      }
      return true;
    }
    // One record per transaction, taken with SKIP LOCKED: another gateway's purge (or a release
    // holding the row) is never waited for, and a killed purge leaves whole records only.
    for (;;) {
      Tx tx(*this);
      if (!tx.begin(error)) return false;
      Result due = run("SELECT id, stored FROM records WHERE NOT hold AND expires > 0 AND "
                       "expires <= $1 ORDER BY expires LIMIT 1 FOR UPDATE SKIP LOCKED",
                       Params().add(now));
      if (!tuples(due, error, "purge")) return false;
      if (PQntuples(due.get()) == 0) return tx.commit(error);
      const std::string id = col(due.get(), 0, 0);
      if (!exec("DELETE FROM records WHERE id = $1", Params().add(id), error)) return false;
      if (!audit(nowSeconds(), actor, "system", "purge", id, "retention", error)) return false;
      if (!tx.commit(error)) return false;
      out.purged.push_back(id);
      out.bytes += std::stoull(col(due.get(), 0, 1));
    }
  }

  bool queueRelease(const ReleaseOrder& o, const std::string& actor, const std::string& role,
                    ReleaseJob& out, std::string* error) override {
    if (const std::string bad = checkOrder(o); !bad.empty()) return fail(error, bad);
    std::string packed;
    if (!compress(o.payload, packed)) return fail(error, "cannot compress the payload");
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return false;
    // The record row is locked: two admins' releases of one record cannot both pass the check.
    Result rec = run("SELECT id FROM records WHERE id = $1 FOR UPDATE", Params().add(o.record_id));
    if (!tuples(rec, error, "queue")) return false;
    if (PQntuples(rec.get()) == 0) return fail(error, "no record " + o.record_id);
    if (o.kind == "release" && o.request_id) {
      Result r = run("SELECT state FROM requests WHERE id = $1 AND record_id = $2 FOR UPDATE",
                     Params().add(o.request_id).add(o.record_id));
      if (!tuples(r, error, "queue")) return false;
      if (PQntuples(r.get()) == 0) {
        return fail(error, "no request " + std::to_string(o.request_id) + " for " + o.record_id);
      }
      if (col(r.get(), 0, 0) != "approved") {
        return fail(error, "request " + std::to_string(o.request_id) + " is not approved (" +
                               col(r.get(), 0, 0) + ")");
      }
    } else if (o.kind == "release") {
      Result r = run("SELECT count(*) FROM releases WHERE record_id = $1 AND kind = 'release' AND "
                     "state IN ('queued', 'running', 'retry')",
                     Params().add(o.record_id));
      if (!tuples(r, error, "queue")) return false;
      if (col(r.get(), 0, 0) != "0") return fail(error, o.record_id + " has a release under way already");
    }
    const std::int64_t now = nowSeconds(), due = o.due ? o.due : now;
    const std::string dedup = dedupKey(o);
    Params p;
    p.add(o.record_id).add(o.kind).add(o.request_id).add(joinLines(o.recipients)).add(dedup);
    p.add(actor).add(role).add(now).add(due).bytes(packed);
    Result ins = run("INSERT INTO releases(record_id, kind, request_id, recipients, dedup, state, "
                     "by_actor, by_role, created, due, payload) VALUES ($1,$2,$3,$4,NULLIF($5,''),"
                     "'queued',$6,$7,$8,$9,$10) RETURNING id",
                     p);
    if (PQresultStatus(ins.get()) != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(ins.get(), PG_DIAG_SQLSTATE);
      return state && std::string(state) == "23505"
                 ? fail(error, "a " + o.kind + " for " + dedup + " was queued already")
                 : fail(error, std::string("queue: ") + PQresultErrorMessage(ins.get()));
    }
    const std::int64_t id = std::stoll(col(ins.get(), 0, 0));
    if (!audit(now, actor, role, o.kind + ".queue", o.record_id, queueDetail(o, id), error)) {
      return false;
    }
    if (!tx.commit(error)) return false;
    out = queuedJob(o, id, actor, role, dedup, now, due);
    return true;
  }

  std::optional<ReleaseJob> claimRelease(const std::string& worker, std::int64_t now,
                                         std::int64_t lease_seconds, std::string* error) override {
    if (error) error->clear();
    std::lock_guard lock(mu_);
    Tx tx(*this);
    if (!tx.begin(error)) return std::nullopt;
    // SKIP LOCKED: a job another runner is claiming right now is passed over, never waited for
    // and never handed out twice.
    Result r = run(std::string("SELECT ") + kReleaseColumns + " FROM releases WHERE " +
                       dueCondition("$1") + " ORDER BY due, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                   Params().add(now));
    if (!tuples(r, error, "claim")) return std::nullopt;
    if (PQntuples(r.get()) == 0) {
      tx.commit(error);
      return std::nullopt;
    }
    ReleaseJob j = job(r.get(), 0);
    Params p;
    p.add(j.id);
    Result pay(PQexecParams(c_, "SELECT payload FROM releases WHERE id = $1", 1, nullptr,
                            ptrs(p).data(), lens(p).data(), p.binary.data(), 1),
               PQclear);  // binary result: the bytes as stored
    if (!tuples(pay, error, "claim") || PQntuples(pay.get()) != 1 ||
        !decompress(std::string_view(PQgetvalue(pay.get(), 0, 0),
                                     static_cast<std::size_t>(PQgetlength(pay.get(), 0, 0))),
                    kOriginalLimit, j.payload)) {
      if (error && error->empty()) *error = "vault: the payload of job " + std::to_string(j.id) + " is damaged";
      return std::nullopt;
    }
    const std::string was = j.state;
    j.state = "running";
    j.worker = worker;
    j.lease_until = now + lease_seconds;
    ++j.attempts;
    if (!exec("UPDATE releases SET state = 'running', worker = $2, lease_until = $3, "
              "attempts = attempts + 1 WHERE id = $1",
              Params().add(j.id).add(worker).add(j.lease_until), error) ||
        !audit(now, worker, "system", j.kind + ".claim", j.record_id,
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
    Result cur = run("SELECT record_id, kind, request_id, state, worker FROM releases WHERE id = $1 "
                     "FOR UPDATE",
                     Params().add(job_id));
    if (!tuples(cur, error, "finish")) return false;
    if (PQntuples(cur.get()) == 0) return fail(error, "no release job " + std::to_string(job_id));
    if (col(cur.get(), 0, 3) != "running" || col(cur.get(), 0, 4) != worker) {
      return fail(error, "release job " + std::to_string(job_id) + " is not held by " + worker +
                             " (" + col(cur.get(), 0, 3) + ", " + col(cur.get(), 0, 4) + ")");
    }
    const std::string record_id = col(cur.get(), 0, 0), kind = col(cur.get(), 0, 1);
    const std::int64_t request_id = std::stoll(col(cur.get(), 0, 2));
    const FinishStates f = finishStates(kind, outcome);
    const std::int64_t now = nowSeconds();
    const bool final = outcome != ReleaseOutcome::Retry;
    if (!exec("UPDATE releases SET state = $2, detail = $3, due = $4, finished = $5, "
              "lease_until = 0 WHERE id = $1",
              Params().add(job_id).add(f.job).add(detail).add(final ? now : retry_at)
                  .add(final ? now : std::int64_t{0}),
              error)) {
      return false;
    }
    if (!f.record.empty() &&
        !exec("UPDATE records SET state = $2 WHERE id = $1", Params().add(record_id).add(f.record), error)) {
      return false;
    }
    if (!f.request.empty() && request_id &&
        !exec("UPDATE requests SET state = $2 WHERE id = $1", Params().add(request_id).add(f.request),
              error)) {
      return false;
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
    Result r = run(std::string("SELECT ") + kReleaseColumns +
                       " FROM releases WHERE ($1 = '' OR record_id = $1) AND ($2 = '' OR state = $2) "
                       "ORDER BY id LIMIT $3::bigint",
                   Params().add(record_id).add(state).add(static_cast<std::int64_t>(kListLimit)));
    if (!tuples(r, error, "releases")) return false;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(job(r.get(), i));
    return true;
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
    Result r = run("SELECT seq, time, actor, role, action, record_id, detail, prev_hash, hash FROM "
                   "audit WHERE time >= $1 ORDER BY seq",
                   Params().add(since));
    if (!tuples(r, error, "audit")) return false;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(row(r.get(), i));
    return true;
  }

  AuditCheck verifyAudit() override {
    std::lock_guard lock(mu_);
    Result r = run("SELECT seq, time, actor, role, action, record_id, detail, prev_hash, hash FROM "
                   "audit ORDER BY seq",
                   {});
    std::string err;
    if (!tuples(r, &err, "audit")) return ChainCheck::failed(err);
    ChainCheck check;
    for (int i = 0; i < PQntuples(r.get()) && check.add(row(r.get(), i)); ++i) {
    }
    Result m = run("SELECT value FROM meta WHERE key = 'audit_head'", {});
    return check.finish(PQntuples(m.get()) ? col(m.get(), 0, 0) : "");
  }

 private:
  class Tx {
   public:
    explicit Tx(PgVault& v) : v_(v) {}
    ~Tx() {
      if (open_) v_.exec("ROLLBACK", {}, nullptr);
    }
    bool begin(std::string* error) {
      open_ = v_.exec("BEGIN", {}, error);
      return open_;
    }
    bool commit(std::string* error) {
      open_ = false;
      return v_.exec("COMMIT", {}, error);
    }

   private:
    PgVault& v_;
    bool open_ = false;
  };

  static std::vector<const char*> ptrs(const Params& p) {
    std::vector<const char*> v;
    for (const auto& s : p.values) v.push_back(s.data());
    return v;
  }
  static std::vector<int> lens(const Params& p) {
    std::vector<int> v;
    for (const auto& s : p.values) v.push_back(static_cast<int>(s.size()));
    return v;
  }
  Result run(const std::string& sql, const Params& p) {
    auto pv = ptrs(p);
    auto lv = lens(p);
    return Result(PQexecParams(c_, sql.c_str(), static_cast<int>(p.values.size()), nullptr,
                               pv.data(), lv.data(), p.binary.data(), 0),
                  PQclear);
  }
  bool exec(const std::string& sql, const Params& p, std::string* error) {
    Result r = run(sql, p);
    const auto st = PQresultStatus(r.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return true;
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    last_state_ = state ? state : "";
    return fail(error, std::string(PQresultErrorMessage(r.get())));
  }
  bool tuples(const Result& r, std::string* error, const std::string& what) {
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) return true;
    return fail(error, what + ": " + PQresultErrorMessage(r.get()));
  }
  static std::string col(const PGresult* r, int row, int c) {
    return std::string(PQgetvalue(r, row, c), static_cast<std::size_t>(PQgetlength(r, row, c)));
  }
  static RecordInfo readRecord(const PGresult* r, int i) {
    RecordInfo x;
    x.id = col(r, i, 0);
    x.kind = col(r, i, 1);
    x.created = std::stoll(col(r, i, 2));
    x.expires = std::stoll(col(r, i, 3));
    x.envelope.sender = col(r, i, 4);
    x.envelope.recipients = splitLines(col(r, i, 5));
    x.envelope.client_addr = col(r, i, 6);
    x.envelope.client_name = col(r, i, 7);
    x.envelope.helo = col(r, i, 8);
    x.envelope.xforward = col(r, i, 9);
    x.envelope.source = col(r, i, 10);
    x.subject = col(r, i, 11);
    x.from = col(r, i, 12);
    x.filename = col(r, i, 13);
    x.verdict = col(r, i, 14);
    x.reason = col(r, i, 15);
    x.reasons = splitLines(col(r, i, 16));
    x.sha256 = col(r, i, 17);
    x.size = std::stoull(col(r, i, 18));
    x.stored = std::stoull(col(r, i, 19));
    x.delivered_id = col(r, i, 20);
    x.tier = tierFromName(col(r, i, 21)).value_or(Tier::Admin);
    x.state = col(r, i, 22);
    x.hold = col(r, i, 23) == "t";
    return x;
  }
  static ReleaseJob job(const PGresult* r, int i) {
    ReleaseJob j;
    j.id = std::stoll(col(r, i, 0));
    j.record_id = col(r, i, 1);
    j.kind = col(r, i, 2);
    j.request_id = std::stoll(col(r, i, 3));
    j.recipients = splitLines(col(r, i, 4));
    j.dedup = col(r, i, 5);
    j.state = col(r, i, 6);
    j.by = col(r, i, 7);
    j.role = col(r, i, 8);
    j.worker = col(r, i, 9);
    j.detail = col(r, i, 10);
    j.created = std::stoll(col(r, i, 11));
    j.due = std::stoll(col(r, i, 12));
    j.lease_until = std::stoll(col(r, i, 13));
    j.finished = std::stoll(col(r, i, 14));
    j.attempts = std::stoi(col(r, i, 15));
    return j;
  }

  static AuditRow row(const PGresult* r, int i) {
    return AuditRow{std::stoll(col(r, i, 0)), std::stoll(col(r, i, 1)), col(r, i, 2), col(r, i, 3),
                    col(r, i, 4), col(r, i, 5), col(r, i, 6), col(r, i, 7), col(r, i, 8)};
  }

  /// Appends one audit row inside the caller's transaction. The row lock on meta('audit_head')
  /// makes every writer (every gateway) wait its turn: one chain, no two rows with one seq.
  bool audit(std::int64_t time, const std::string& actor, const std::string& role,
             const std::string& action, const std::string& record_id, const std::string& detail,
             std::string* error) {
    Result head = run("SELECT value FROM meta WHERE key = 'audit_head' FOR UPDATE", {});
    if (!tuples(head, error, "audit head")) return false;
    AuditRow r{0, time, actor, role, action, record_id, detail, kZeroHash, ""};
    const std::string h = PQntuples(head.get()) ? col(head.get(), 0, 0) : "";
    if (!h.empty()) {
      r.seq = std::stoll(h.substr(0, h.find(' ')));
      r.prev_hash = h.substr(h.find(' ') + 1);
    }
    ++r.seq;
    r.hash = auditHash(r);
    if (!exec("INSERT INTO audit(seq, time, actor, role, action, record_id, detail, prev_hash, hash) "
              "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
              Params().add(r.seq).add(r.time).add(r.actor).add(r.role).add(r.action)
                  .add(r.record_id).add(r.detail).add(r.prev_hash).add(r.hash),
              error)) {
      return false;
    }
    return exec("UPDATE meta SET value = $1 WHERE key = 'audit_head'",
                Params().add(std::to_string(r.seq) + " " + r.hash), error);
  }

  bool fail(std::string* error, const std::string& what) {
    if (error) *error = "vault: " + what;
    return false;
  }

  std::mutex mu_;
  GroupCommit commits_;     ///< put()'s records, written a group per transaction
  std::string last_state_;  ///< SQLSTATE of the last failed exec()
  PGconn* c_;
  std::string url_;
  bool text_indexed_ = false;
};

}  // namespace

std::unique_ptr<Vault> openPgVault(const std::string& url, std::string* error) {
  PGconn* c = PQconnectdb(url.c_str());
  if (!c || PQstatus(c) != CONNECTION_OK) {
    if (error) *error = "vault: cannot connect to PostgreSQL: " + std::string(c ? PQerrorMessage(c) : "out of memory");
    PQfinish(c);
    return nullptr;
  }
  // Quiet notices ("relation exists, skipping") instead of libpq's default stderr printer.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  auto v = std::make_unique<PgVault>(c, url);
  if (!v->init(error)) return nullptr;
  return v;
}

}  // namespace mugai::vault
