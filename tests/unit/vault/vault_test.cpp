// The SQLite vault: records with their originals, requests, legal hold, retention, and the
// hash-chained audit log that notices a row edited or removed by hand.
#include "mugai/vault/vault.h"

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace mv = mugai::vault;

namespace {

mv::NewRecord record(const std::string& id, std::int64_t created, std::int64_t expires,
                     const std::string& original) {
  mv::NewRecord r;
  r.id = id;
  r.kind = "mail";
  r.created = created;
  r.expires = expires;
  r.envelope.sender = "partner@example.co.jp";
  r.envelope.recipients = {"Tanaka@City.Example.lg.jp", "sato@city.example.lg.jp"};
  r.envelope.client_addr = "192.0.2.7";
  r.subject = "見積書 <script>alert(1)</script>";
  r.verdict = "sanitized";
  r.reason = "content.active";
  r.reasons = {"content.active", "filename.changed"};
  r.report_json = "{\"id\":\"" + id + "\"}";
  r.original = original;
  r.objects = {{"2", "word/vbaProject.bin", "removed", "content.active", std::string(64, 'a')}};
  r.tier = mv::Tier::Approval;
  return r;
}

std::unique_ptr<mv::Vault> open(const std::filesystem::path& p) {
  std::string err;
  auto v = mv::openVault("sqlite:" + p.string(), &err);
  INFO(err);
  REQUIRE(v);
  return v;
}

void sql(const std::filesystem::path& db, const std::string& statement) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &msg);
  INFO((msg ? msg : ""));
  sqlite3_free(msg);
  sqlite3_close(h);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("vault: a record keeps its original byte for byte, its envelope and objects") {
  mugai::test::TempDir t;
  auto v = open(t.path() / "vault.db");
  std::string original = "Subject: x\r\n\r\n" + std::string(300000, 'Z') + "\x00\xff tail";
  std::string err;
  REQUIRE(v->put(record("20261206T100000-aaaaaa", 1000, 0, original), &err));
  auto r = v->get("20261206T100000-aaaaaa", &err);
  REQUIRE(r);
  CHECK(r->size == original.size());
  CHECK(r->stored < original.size() / 10);  // compressed
  CHECK(r->sha256 == mv::sha256Hex(original));
  CHECK(r->envelope.recipients.size() == 2);
  CHECK(r->subject == "見積書 <script>alert(1)</script>");
  CHECK(r->tier == mv::Tier::Approval);
  CHECK(r->state == "withheld");
  REQUIRE(r->objects.size() == 1);
  CHECK(r->objects[0].what == "word/vbaProject.bin");
  std::string back;
  REQUIRE(v->original("20261206T100000-aaaaaa", back, &err));
  CHECK(back == original);
  // The same id twice is refused: ids never collide silently.
  CHECK_FALSE(v->put(record("20261206T100000-aaaaaa", 1000, 0, "x"), &err));
  CHECK(err.find("exists already") != std::string::npos);
  // The database holds originals: owner-only.
  struct stat st {};
  REQUIRE(stat((t.path() / "vault.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0);
}

TEST_CASE("vault: a damaged original is refused, not returned") {
  mugai::test::TempDir t;
  auto db = t.path() / "vault.db";
  {
    auto v = open(db);
    std::string err;
    REQUIRE(v->put(record("id-1", 1000, 0, std::string(5000, 'q')), &err));
  }
  std::string packed;
  REQUIRE(mv::compress(std::string(5000, 'r'), packed));
  sql(db, "UPDATE originals SET data = x'" + [&] {
    std::string hex;
    for (unsigned char c : packed) {
      static const char* h = "0123456789abcdef";
      hex += h[c >> 4];
      hex += h[c & 15];
    }
    return hex;
  }() + "' WHERE id = 'id-1'");
  auto v = open(db);
  std::string bytes, err;
  CHECK_FALSE(v->original("id-1", bytes, &err));
  CHECK(err.find("damaged") != std::string::npos);
  CHECK(bytes.empty());
}

TEST_CASE("vault: list by recipient (any case), sender, reason, state, text, newest first, paged") {
  mugai::test::TempDir t;
  auto v = open(t.path() / "vault.db");
  std::string err;
  for (int i = 0; i < 30; ++i) {
    auto r = record("id-" + std::to_string(100 + i), 1000 + i, 0, "m" + std::to_string(i));
    if (i % 3 == 0) r.envelope.recipients = {"suzuki@city.example.lg.jp"};
    if (i % 5 == 0) r.reason = "av.infected";
    REQUIRE(v->put(r, &err));
  }
  std::vector<mv::RecordInfo> out;
  mv::Query q;
  q.recipient = "SUZUKI@city.example.lg.jp";
  REQUIRE(v->list(q, out, &err));
  CHECK(out.size() == 10);
  CHECK(out.front().id == "id-127");  // i = 27, the newest multiple of 3
  out.clear();
  q = {};
  q.reason = "av.infected";
  REQUIRE(v->list(q, out, &err));
  CHECK(out.size() == 6);
  out.clear();
  q = {};
  q.reason = "filename.changed";  // any of the reasons, not only the main one
  REQUIRE(v->list(q, out, &err));
  CHECK(out.size() == 30);
  out.clear();
  q = {};
  q.limit = 7;
  q.offset = 28;
  REQUIRE(v->list(q, out, &err));
  CHECK(out.size() == 2);
  out.clear();
  q = {};
  q.text = "SCRIPT>";
  q.since = 1025;
  REQUIRE(v->list(q, out, &err));
  CHECK(out.size() == 5);
  mv::Usage u;
  REQUIRE(v->usage(u, &err));
  CHECK(u.records == 30);
}

TEST_CASE("vault: a request is decided once, the audit log records each step") {
  mugai::test::TempDir t;
  auto v = open(t.path() / "vault.db");
  std::string err;
  REQUIRE(v->put(record("id-7", 1000, 0, "orig"), &err));
  mv::Request req;
  REQUIRE(v->addRequest("id-7", "tanaka", "取引先の見積書が必要です", "staff", req, &err));
  CHECK(v->get("id-7", &err)->state == "requested");
  // A second pending request by the same person is refused.
  mv::Request dup;
  CHECK_FALSE(v->addRequest("id-7", "tanaka", "again", "staff", dup, &err));
  CHECK_FALSE(v->addRequest("no-such", "tanaka", "x", "staff", dup, &err));
  REQUIRE(v->decide(req.id, true, "sato", "approver", "", 1, &err));
  CHECK(v->get("id-7", &err)->state == "approved");
  // Decided already: a second decision (another approver, or a deny) is refused.
  CHECK_FALSE(v->decide(req.id, false, "suzuki", "approver", "no", 1, &err));
  CHECK(err.find("not pending") != std::string::npos);
  std::vector<mv::Request> rs;
  REQUIRE(v->requests("id-7", rs, &err));
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].decided_by == "sato");
  std::vector<mv::AuditRow> rows;
  REQUIRE(v->audit(0, rows, &err));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].action == "store");
  CHECK(rows[1].action == "request");
  CHECK(rows[1].actor == "tanaka");
  CHECK(rows[2].action == "approve");
  CHECK(rows[2].prev_hash == rows[1].hash);
  CHECK(v->verifyAudit().ok);
}

TEST_CASE("vault: approval 'all' waits for every approver, a denial ends it at once") {
  mugai::test::TempDir t;
  auto v = open(t.path() / "vault.db");
  std::string err, state;
  REQUIRE(v->put(record("id-8", 1000, 0, "orig"), &err));
  mv::Request req;
  REQUIRE(v->addRequest("id-8", "suzuki", "必要です", "staff", req, &err));
  REQUIRE(v->decide(req.id, true, "yamada", "approver", "", 2, &err, &state));
  CHECK(state == "pending");
  CHECK(v->get("id-8", &err)->state == "requested");
  CHECK_FALSE(v->decide(req.id, true, "yamada", "approver", "", 2, &err));  // not twice
  CHECK(err.find("already") != std::string::npos);
  REQUIRE(v->decide(req.id, true, "sato", "approver", "", 2, &err, &state));
  CHECK(state == "approved");
  CHECK(v->get("id-8", &err)->state == "approved");
  mv::Request again;
  REQUIRE(v->addRequest("id-8", "tanaka", "x", "staff", again, &err));
  REQUIRE(v->decide(again.id, false, "sato", "approver", "業務に不要", 2, &err, &state));
  CHECK(state == "denied");
  CHECK(v->verifyAudit().ok);
}

TEST_CASE("vault: retention purges what is due, never what is held") {
  mugai::test::TempDir t;
  auto v = open(t.path() / "vault.db");
  std::string err;
  REQUIRE(v->put(record("old-1", 1000, 2000, "a"), &err));
  REQUIRE(v->put(record("old-2", 1000, 2000, "b"), &err));
  REQUIRE(v->put(record("new-1", 1000, 9000, "c"), &err));
  REQUIRE(v->put(record("forever", 1000, 0, "d"), &err));
  REQUIRE(v->setHold("old-2", true, "admin", "security_admin", &err));
  mv::PurgeResult dry;
  REQUIRE(v->purge(5000, true, "mugai", dry, &err));
  CHECK(dry.purged == std::vector<std::string>{"old-1"});
  CHECK(dry.held_skipped == 1);
  CHECK(v->get("old-1", &err));
  mv::PurgeResult done;
  REQUIRE(v->purge(5000, false, "mugai", done, &err));
  CHECK(done.purged == std::vector<std::string>{"old-1"});
  CHECK_FALSE(v->get("old-1", &err));
  std::string bytes;
  CHECK_FALSE(v->original("old-1", bytes, &err));  // its original went with it
  CHECK(v->get("old-2", &err));
  CHECK(v->get("new-1", &err));
  REQUIRE(v->setHold("old-2", false, "admin", "security_admin", &err));
  mv::PurgeResult later;
  REQUIRE(v->purge(5000, false, "mugai", later, &err));
  CHECK(later.purged == std::vector<std::string>{"old-2"});
  CHECK(v->verifyAudit().ok);
}

TEST_CASE("vault: a purge killed midway leaves whole records only") {
  mugai::test::TempDir t;
  auto db = t.path() / "vault.db";
  {
    auto v = open(db);
    std::string err;
    for (int i = 0; i < 200; ++i) {
      REQUIRE(v->put(record("r" + std::to_string(i), 1000, 2000, std::string(20000, 'x') + std::to_string(i)), &err));
    }
  }
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto v = mv::openVault("sqlite:" + db.string(), nullptr);
    mv::PurgeResult r;
    v->purge(5000, false, "mugai", r, nullptr);
    _exit(0);
  }
  // Kill it as soon as the first purge is committed (the rest are still to come).
  for (int i = 0; i < 20000; ++i) {
    sqlite3* h = nullptr;
    std::int64_t n = 0;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(h, "SELECT count(*) FROM audit WHERE action = 'purge'", -1, &st,
                             nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(h);
    if (n > 0) break;
    usleep(500);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  auto v = open(db);
  std::string err;
  std::vector<mv::RecordInfo> left;
  mv::Query q;
  q.limit = 1000;
  REQUIRE(v->list(q, left, &err));
  INFO("left " << left.size());
  if (left.size() == 0) WARN("the purge finished before it was killed");
  for (const auto& r : left) {
    std::string bytes;
    REQUIRE(v->original(r.id, bytes, &err));
  }
  // Every purged record has its audit row and every audit row's record is gone.
  std::vector<mv::AuditRow> rows;
  REQUIRE(v->audit(0, rows, &err));
  std::size_t purged = 0;
  for (const auto& row : rows) purged += row.action == "purge";
  CHECK(purged + left.size() == 200);
  CHECK(v->verifyAudit().ok);
}

TEST_CASE("vault: audit verify fails after a row is edited, removed or cut off by hand") {
  mugai::test::TempDir t;
  auto db = t.path() / "vault.db";
  auto fill = [&] {
    auto v = open(db);
    std::string err;
    for (int i = 0; i < 5; ++i) REQUIRE(v->put(record("id-" + std::to_string(i), 1000, 0, "x"), &err));
    REQUIRE(v->appendAudit("sato", "approver", "download", "id-1", "", &err));
    auto c = v->verifyAudit();
    CHECK(c.ok);
    CHECK(c.rows == 6);
    CHECK(c.head.size() == 64);
  };
  SECTION("edited") {
    fill();
    sql(db, "UPDATE audit SET actor = 'someone-else' WHERE seq = 3");
    auto c = open(db)->verifyAudit();
    CHECK_FALSE(c.ok);
    CHECK(c.first_bad == 3);
    CHECK(c.problem.find("changed") != std::string::npos);
  }
  SECTION("removed in the middle") {
    fill();
    sql(db, "DELETE FROM audit WHERE seq = 4");
    auto c = open(db)->verifyAudit();
    CHECK_FALSE(c.ok);
    CHECK(c.first_bad == 4);
  }
  SECTION("the last row cut off") {
    fill();
    sql(db, "DELETE FROM audit WHERE seq = 6");
    auto c = open(db)->verifyAudit();
    CHECK_FALSE(c.ok);
  }
  SECTION("rehashed by someone who knows the formula but not the head") {
    fill();
    sql(db, "UPDATE audit SET detail = 'x' WHERE seq = 2");
    CHECK_FALSE(open(db)->verifyAudit().ok);
  }
}

TEST_CASE("vault: URLs") {
  std::string err;
  CHECK_FALSE(mv::openVault("postgresql://db/mugai", &err));
  CHECK(err.find("PostgreSQL") != std::string::npos);
  CHECK_FALSE(mv::openVault("mysql://x", &err));
  CHECK_FALSE(mv::openVault("sqlite:", &err));
  CHECK_FALSE(mv::openVault("sqlite:/nonexistent-dir/x/vault.db", &err));
  CHECK(mv::tierFromName("approval") == mv::Tier::Approval);
  CHECK_FALSE(mv::tierFromName("maybe"));
}

// ---- the release queue (tests/unit/vault/release_queue_checks.h, also run on PostgreSQL) ----
#include "release_queue_checks.h"

namespace {
mugai::test::release_queue::Open sqliteOpener(const std::filesystem::path& db) {
  return [db] { return open(db); };
}
}  // namespace

TEST_CASE("vault release queue: an approved request becomes one job, retried, delivered once") {
  mugai::test::TempDir t;
  mugai::test::release_queue::approvedRequestIsOneJob(sqliteOpener(t.path() / "v.db"));
}

TEST_CASE("vault release queue: an admin's release, a refused re-scan, notices sent once") {
  mugai::test::TempDir t;
  mugai::test::release_queue::adminReleaseAndNotices(sqliteOpener(t.path() / "v.db"));
}

TEST_CASE("vault release queue: a dead runner's job is taken over when its lease ends") {
  mugai::test::TempDir t;
  mugai::test::release_queue::leaseOfADeadRunner(sqliteOpener(t.path() / "v.db"));
}

TEST_CASE("vault release queue: four runners on four connections claim each of 40 jobs once") {
  mugai::test::TempDir t;
  mugai::test::release_queue::runnersClaimEachJobOnce(sqliteOpener(t.path() / "v.db"), 4, 40);
}

TEST_CASE("vault: the base64 of compressed bytes is stored without entropy coding, text with it",
          "[vault]") {
  // What most kept originals are: headers, a line of text and the base64 of a DOCX or PDF, whose
  // bytes look random. Level 1 would win base64's 25 % at ~400 MB/s; level -1 leaves it.
  std::string headers = "From: a@example.jp\r\nTo: b@example.lg.jp\r\nSubject: report\r\n\r\n";
  std::uint64_t x = 88172645463325252ULL;
  static const char* const b64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string mail = headers;
  for (int line = 0; line < 4000; ++line) {
    for (int i = 0; i < 76; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      mail += b64[x % 64];
    }
    mail += "\r\n";
  }
  CHECK(mv::compressionLevel(mail) == -1);
  std::string packed, back;
  REQUIRE(mv::compress(mail, packed));
  CHECK(packed.size() > mail.size() * 9 / 10);  // not entropy coded
  CHECK(packed.size() < mail.size() + 1024);
  REQUIRE(mv::decompress(packed, mail.size(), back));
  CHECK(back == mail);

  std::string text = headers;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i * 7919 % 10007) + " of the mail\r\n";
  CHECK(mv::compressionLevel(text) == 1);
  CHECK(mv::compressionLevel(headers) == 1);  // small: always level 1
  REQUIRE(mv::compress(text, packed));
  CHECK(packed.size() < text.size() / 3);
}

TEST_CASE("vault: originals are stored with zstd, and records written with zlib before still read",
          "[vault]") {
  std::string original;
  for (int i = 0; i < 20000; ++i) original += "line " + std::to_string(i * 7919 % 10007) + " of the mail\r\n";
  std::string packed, back;
  REQUIRE(mv::compress(original, packed));
  REQUIRE(packed.size() >= 4);
  CHECK(static_cast<unsigned char>(packed[0]) == 0x28);  // zstd's frame magic 28 b5 2f fd
  CHECK(static_cast<unsigned char>(packed[3]) == 0xfd);
  CHECK(packed.size() < original.size() / 3);
  REQUIRE(mv::decompress(packed, original.size(), back));
  CHECK(back == original);
  CHECK_FALSE(mv::decompress(packed, original.size() - 1, back));  // over the limit: refused

  // What an earlier vault holds: a zlib stream (compress2, level 6).
  uLongf size = compressBound(static_cast<uLong>(original.size()));
  std::string old(size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(old.data()), &size,
                    reinterpret_cast<const Bytef*>(original.data()),
                    static_cast<uLong>(original.size()), 6) == Z_OK);
  old.resize(size);
  REQUIRE(mv::decompress(old, original.size(), back));
  CHECK(back == original);
  CHECK_FALSE(mv::decompress(old, 100, back));

  // Damaged: a zstd magic with garbage after it is refused, not half read.
  std::string bad = packed.substr(0, 4) + std::string(64, '\x55');
  CHECK_FALSE(mv::decompress(bad, original.size(), back));
}

// ---- the free-text search index (tests/unit/vault/text_search_checks.h, also run on PostgreSQL) ----
#include "text_search_checks.h"

namespace {
std::int64_t sqlCount(const std::filesystem::path& db, const std::string& statement) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, statement.c_str(), -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const std::int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(h);
  return n;
}
}  // namespace

TEST_CASE("vault text search: the FTS5 trigram index finds exactly what the scan found") {
  mugai::test::TempDir t;
  auto v = open(t.path() / "vault.db");
  CHECK(v->textIndexed());
  mugai::test::text_search::sameRowsAsTheScan(*v);
}

TEST_CASE("vault text search: purge and discard take a record out of the index") {
  mugai::test::TempDir t;
  const auto db = t.path() / "vault.db";
  auto v = open(db);
  mugai::test::text_search::purgeLeavesTheIndex(*v);
  // The index itself (not only the check against the text) holds no entry of the purged record:
  // one for the text, the record put again after the purge (p-again).
  CHECK(sqlCount(db, "SELECT count(*) FROM records_text WHERE records_text MATCH '\"purge-me\"'") == 1);
  CHECK(sqlCount(db, "SELECT count(*) FROM records_text WHERE records_text MATCH '\"keep-me\"'") == 1);
  CHECK(sqlCount(db, "SELECT count(*) FROM records_text WHERE records_text MATCH '\"discard-me\"'") == 0);
}

TEST_CASE("vault text search: a vault of schema 1 gets its index built when opened") {
  mugai::test::TempDir t;
  const auto db = t.path() / "vault.db";
  std::string err;
  {
    auto v = open(db);
    REQUIRE(v->put(mugai::test::text_search::record("old-1", {"移行前の件名", "a@example.jp", ""}, 100), &err));
  }
  // What a vault written before schema 2 looks like: no text index, meta says 1, and a record
  // written by the old version after that.
  sql(db, "DROP TRIGGER records_text_insert; DROP TRIGGER records_text_delete; "
          "DROP TRIGGER records_text_update; DROP TABLE records_text; "
          "UPDATE meta SET value = '1' WHERE key = 'schema'; "
          "INSERT INTO records SELECT 'old-2', kind, 200, expires, sender, recipients, client_addr, "
          "client_name, helo, xforward, source, '移行前の二通目', from_header, filename, verdict, "
          "reason, reasons, sha256, size, stored, delivered_id, tier, state, hold, report FROM records "
          "WHERE id = 'old-1'");
  auto v = open(db);
  CHECK(sqlCount(db, "SELECT value FROM meta WHERE key = 'schema'") == 3);
  CHECK(mugai::test::text_search::search(*v, "移行前の") == std::set<std::string>{"old-1", "old-2"});
  CHECK(sqlCount(db, "SELECT count(*) FROM records_text WHERE records_text MATCH '\"移行前\"'") == 2);
  // Opened again: not built twice.
  v.reset();
  v = open(db);
  CHECK(sqlCount(db, "SELECT count(*) FROM records_text WHERE records_text MATCH '\"移行前\"'") == 2);
}

TEST_CASE("vault text search: a text found in more records than the index hands out is still exact") {
  // Over 20,000 candidates list() reads the records newest first instead of looking each up.
  mugai::test::TempDir t;
  const auto db = t.path() / "vault.db";
  { open(db); }
  sql(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 20049) "
          "INSERT INTO records(id, kind, created, expires, sender, recipients, client_addr, client_name, "
          "helo, xforward, source, subject, from_header, filename, verdict, reason, reasons, sha256, "
          "size, stored, delivered_id, tier, state, hold, report) SELECT printf('c-%05d', i), 'mail', "
          "1000 + i, 0, 's@example.jp', 'x@example.jp', '', '', '', '', '', "
          "CASE WHEN i % 1000 = 7 THEN '見積書 Special ' || i ELSE '見積書 ' || i END, '', '', "
          "'sanitized', 'r', 'r', '00', 1, 1, '', 'admin', 'withheld', 0, '{}' FROM n");
  auto v = open(db);
  mv::Query q;
  q.text = "見積書";
  q.limit = 5;
  std::vector<mv::RecordInfo> rows;
  std::string err;
  REQUIRE(v->list(q, rows, &err));
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].id == "c-20049");
  CHECK(rows[4].id == "c-20045");
  rows.clear();
  q.text = "SPECIAL";  // 21 candidates: looked up by the index, sorted newest first
  q.limit = 100;
  REQUIRE(v->list(q, rows, &err));
  REQUIRE(rows.size() == 21);
  CHECK(rows.front().id == "c-20007");
  CHECK(rows.back().id == "c-00007");
}

TEST_CASE("vault: a record keeps the delivered body text, and purge removes it with the record") {
  mugai::test::TempDir t;
  const auto db = t.path() / "vault.db";
  auto v = open(db);
  std::string err;
  auto r = record("b-1", 100, 200, "orig");
  r.body_text = "本文です <script>alert(1)</script>\n\u202Eexe.txt";
  REQUIRE(v->put(r, &err));
  REQUIRE(v->put(record("b-2", 100, 0, "orig"), &err));
  CHECK(v->get("b-1", &err)->body_text == r.body_text);
  CHECK(v->get("b-2", &err)->body_text.empty());
  mv::PurgeResult res;
  REQUIRE(v->purge(300, false, "test", res, &err));
  CHECK(sqlCount(db, "SELECT count(*) FROM bodies") == 0);
}

// ---- group commit on SQLite: the same checks as on PostgreSQL (group_commit_checks.h) ----
#include "group_commit_checks.h"

TEST_CASE("vault group commit: eight sessions writing at once each get a durable record") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  mugai::test::group_commit::concurrentWritersAreDurable([db] { return open(db); }, 8, 6);
}

TEST_CASE("vault group commit: a commit SQLite refuses fails its records, and only what was answered stored is") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  // A deferred foreign key: SQLite checks it at COMMIT, so the transaction holding the poisoned
  // record fails at its commit, as a full disk would.
  const auto poison = [db](const std::string& id) {
    sql(db, "CREATE TABLE poison_parent(id INTEGER PRIMARY KEY);"
            "CREATE TABLE poison_child(x INTEGER REFERENCES poison_parent(id) DEFERRABLE INITIALLY DEFERRED);"
            "CREATE TRIGGER poison AFTER INSERT ON records WHEN new.id = '" + id + "' BEGIN "
            "INSERT INTO poison_child VALUES (1); END;");
  };
  mugai::test::group_commit::aFailedCommitFailsItsGroup([db] { return open(db); }, poison, 8, 4);
}

// ---- originals beside the database (src/vault/original_files.h) ----
namespace {

std::string randomBytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

std::vector<std::string> besideFiles(const std::filesystem::path& db) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(db.string() + ".originals")) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void age(const std::filesystem::path& f, int seconds) {
  const timespec t[2] = {{time(nullptr) - seconds, 0}, {time(nullptr) - seconds, 0}};
  REQUIRE(utimensat(AT_FDCWD, f.c_str(), t, 0) == 0);
}

}  // namespace

TEST_CASE("vault beside: a large original is one file beside the database, a small one stays inside") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  auto v = open(db);
  std::string err;
  const std::string big = randomBytes(300000, 1), small = "Subject: x\r\n\r\nsmall\r\n";
  REQUIRE(v->put(record("big", 1000, 0, big), &err));
  REQUIRE(v->put(record("small", 1000, 0, small), &err));
  const auto files = besideFiles(db);
  REQUIRE(files.size() == 1);
  CHECK(files[0].size() == 32);
  struct stat st {};
  REQUIRE(::stat((db.string() + ".originals/" + files[0]).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(sqlCount(db, "SELECT length(data) FROM originals WHERE id = 'big'") == 0);
  CHECK(sqlCount(db, "SELECT count(*) FROM originals WHERE id = 'big' AND file = '" + files[0] + "'") == 1);
  CHECK(sqlCount(db, "SELECT count(*) FROM originals WHERE id = 'small' AND file = '' AND length(data) > 0") == 1);
  auto w = open(db);  // another connection reads both back, byte for byte
  std::string bytes;
  REQUIRE(w->original("big", bytes, &err));
  CHECK(bytes == big);
  REQUIRE(w->original("small", bytes, &err));
  CHECK(bytes == small);
}

TEST_CASE("vault beside: a file changed, cut short or gone is refused, never handed out") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  auto v = open(db);
  std::string err;
  REQUIRE(v->put(record("big", 1000, 0, randomBytes(300000, 2)), &err));
  const std::string file = db.string() + ".originals/" + besideFiles(db)[0];
  std::string bytes;
  SECTION("one byte changed") {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100000);
    f.put('\x5a');
  }
  SECTION("cut short") { std::filesystem::resize_file(file, 1000); }
  SECTION("removed") { std::filesystem::remove(file); }
  SECTION("replaced by a symbolic link to a copy") {
    std::filesystem::copy_file(file, dir.path() / "copy");
    std::filesystem::remove(file);
    std::filesystem::create_symlink(dir.path() / "copy", file);
  }
  CHECK_FALSE(v->original("big", bytes, &err));
  CHECK(bytes.empty());
  CHECK(err.find("damaged") != std::string::npos);
}

TEST_CASE("vault beside: purge and discard remove the file with the record") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  auto v = open(db);
  std::string err;
  REQUIRE(v->put(record("old", 1000, 2000, randomBytes(300000, 3)), &err));
  REQUIRE(v->put(record("retry", 1000, 0, randomBytes(300000, 4)), &err));
  REQUIRE(v->put(record("kept", 1000, 0, randomBytes(300000, 5)), &err));
  REQUIRE(besideFiles(db).size() == 3);
  mv::PurgeResult done;
  REQUIRE(v->purge(5000, false, "mugai", done, &err));
  REQUIRE(done.purged == std::vector<std::string>{"old"});
  REQUIRE(v->discard("retry", "next hop deferred", &err));
  const auto files = besideFiles(db);
  REQUIRE(files.size() == 1);
  CHECK(sqlCount(db, "SELECT count(*) FROM originals WHERE id = 'kept' AND file = '" + files[0] + "'") == 1);
}

TEST_CASE("vault beside: a file no record names is removed at open once it is old, never a record's") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  const std::string folder = db.string() + ".originals/";
  std::string err;
  {
    auto v = open(db);
    REQUIRE(v->put(record("kept", 1000, 0, randomBytes(300000, 6)), &err));
  }
  const std::string kept = besideFiles(db)[0];
  age(folder + kept, 2 * 86400);
  // What a crash between a file's write and its record's commit leaves (or a purge killed
  // between its commit and the unlink): files no record names, one old, one just written.
  const std::string old_orphan(32, 'a'), young_orphan(32, 'b');
  std::ofstream(folder + old_orphan) << "x";
  std::ofstream(folder + young_orphan) << "y";
  std::ofstream(folder + "notes.txt") << "not a name the vault makes";
  age(folder + old_orphan, 2 * 86400);
  age(folder + "notes.txt", 2 * 86400);
  auto v = open(db);
  const auto left = besideFiles(db);
  CHECK(std::set<std::string>(left.begin(), left.end()) ==
        std::set<std::string>{young_orphan, kept, "notes.txt"});
  std::string bytes;
  REQUIRE(v->original("kept", bytes, &err));
  CHECK(bytes == randomBytes(300000, 6));
}

TEST_CASE("vault beside: a record refused (its id exists) leaves no file and the first one's alone") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  auto v = open(db);
  std::string err;
  REQUIRE(v->put(record("same", 1000, 0, randomBytes(300000, 7)), &err));
  const auto before = besideFiles(db);
  CHECK_FALSE(v->put(record("same", 1000, 0, randomBytes(300000, 8)), &err));
  CHECK(err.find("exists already") != std::string::npos);
  CHECK(besideFiles(db) == before);
  std::string bytes;
  REQUIRE(v->original("same", bytes, &err));
  CHECK(bytes == randomBytes(300000, 7));
}

TEST_CASE("vault beside: the folder removed under a running vault: put fails (4xx), nothing half stored") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  auto v = open(db);
  std::string err;
  std::filesystem::remove_all(db.string() + ".originals");
  CHECK_FALSE(v->put(record("lost", 1000, 0, randomBytes(300000, 9)), &err));
  CHECK_FALSE(err.empty());
  CHECK(sqlCount(db, "SELECT count(*) FROM records WHERE id = 'lost'") == 0);
}

TEST_CASE("vault beside: a vault of schema 2 gets the file column when opened, its originals read as before") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  std::string err;
  std::string text;  // 1.3 MB that compresses far below the threshold: stays inside
  for (int i = 0; i < 60000; ++i) text += "line " + std::to_string(i % 97) + " of the old mail\r\n";
  {
    auto v = open(db);
    REQUIRE(v->put(record("old", 1000, 0, text), &err));
  }
  REQUIRE(besideFiles(db).empty());
  // What a vault written before schema 3 looks like: no file column, no index, meta says 2.
  sql(db, "DROP INDEX originals_file; ALTER TABLE originals DROP COLUMN file; "
          "UPDATE meta SET value = '2' WHERE key = 'schema';");
  auto v = open(db);
  CHECK(sqlCount(db, "SELECT value FROM meta WHERE key = 'schema'") == 3);
  CHECK(sqlCount(db, "SELECT count(*) FROM pragma_table_info('originals') WHERE name = 'file'") == 1);
  std::string bytes;
  REQUIRE(v->original("old", bytes, &err));
  CHECK(bytes == text);
  REQUIRE(v->put(record("new", 1000, 0, randomBytes(300000, 10)), &err));
  CHECK(besideFiles(db).size() == 1);
  REQUIRE(v->original("new", bytes, &err));
  CHECK(bytes == randomBytes(300000, 10));
}

TEST_CASE("vault stage: an original staged while the engine runs is the one put() keeps, and dropped "
          "unused, or refused with its record, its file goes") {
  mugai::test::TempDir dir;
  const auto db = dir.path() / "vault.db";
  auto v = open(db);
  std::string err;
  const std::string big = randomBytes(300000, 11);
  SECTION("staged, then put: the staged file is the record's, byte for byte") {
    auto rec = record("staged", 1000, 0, big);
    rec.staged = v->stage(big, &err);
    REQUIRE(rec.staged);
    const auto staged_files = besideFiles(db);
    REQUIRE(staged_files.size() == 1);  // written (and synced) before the record exists
    CHECK(sqlCount(db, "SELECT count(*) FROM records") == 0);
    REQUIRE(v->put(rec, &err));
    rec.staged.reset();  // the caller drops it: the record's file stays
    CHECK(besideFiles(db) == staged_files);
    CHECK(sqlCount(db, "SELECT count(*) FROM originals WHERE id = 'staged' AND file = '" +
                           staged_files[0] + "'") == 1);
    std::string bytes;
    REQUIRE(open(db)->original("staged", bytes, &err));
    CHECK(bytes == big);
    REQUIRE(v->get("staged", &err));
    CHECK(v->get("staged", &err)->sha256 == mv::sha256Hex(big));
  }
  SECTION("staged and dropped (the message was clean): no file is left") {
    auto staged = v->stage(big, &err);
    REQUIRE(staged);
    CHECK(besideFiles(db).size() == 1);
    staged.reset();
    CHECK(besideFiles(db).empty());
  }
  SECTION("staged for a record refused (its id exists): no file of it is left") {
    REQUIRE(v->put(record("same", 1000, 0, randomBytes(300000, 12)), &err));
    const auto before = besideFiles(db);
    auto rec = record("same", 1000, 0, big);
    rec.staged = v->stage(big, &err);
    CHECK_FALSE(v->put(rec, &err));
    rec.staged.reset();
    CHECK(besideFiles(db) == before);
  }
  SECTION("a token used twice, or staged for other bytes of the same size: put() does its own") {
    auto rec = record("first", 1000, 0, big);
    rec.staged = v->stage(big, &err);
    REQUIRE(v->put(rec, &err));
    auto again = record("second", 1000, 0, big);
    again.staged = rec.staged;  // the same token again
    REQUIRE(v->put(again, &err));
    std::string other = big;
    other[150000] ^= 1;  // same size, other bytes (not at the ends)
    other[0] ^= 1;
    auto third = record("third", 1000, 0, other);
    third.staged = v->stage(big, &err);
    REQUIRE(v->put(third, &err));
    rec.staged.reset();
    again.staged.reset();
    third.staged.reset();
    std::string bytes;
    for (const auto& [id, want] : {std::pair{"first", big}, {"second", big}, {"third", other}}) {
      INFO(id);
      REQUIRE(v->original(id, bytes, &err));
      CHECK(bytes == want);
    }
    CHECK(besideFiles(db).size() == 3);  // the unused staged file of "third" went with its token
  }
  SECTION("a staged file removed before its record (an orphan sweep elsewhere): put() fails, "
          "nothing half stored") {
    auto rec = record("gone", 1000, 0, big);
    rec.staged = v->stage(big, &err);
    REQUIRE(besideFiles(db).size() == 1);
    std::filesystem::remove(db.string() + ".originals/" + besideFiles(db)[0]);
    CHECK_FALSE(v->put(rec, &err));
    CHECK(err.find("gone") != std::string::npos);
    CHECK_FALSE(v->get("gone", &err));
    REQUIRE(v->put(record("after", 1000, 0, big), &err));  // the vault goes on
  }
  SECTION("staged on another vault, or for other bytes: put() does its own, nothing is mixed") {
    mugai::test::TempDir other_dir;
    auto other = open(other_dir.path() / "vault.db");
    auto rec = record("mine", 1000, 0, big);
    rec.staged = other->stage(big, &err);
    REQUIRE(v->put(rec, &err));
    auto rec2 = record("short", 1000, 0, big.substr(0, 200000));
    rec2.staged = v->stage(big, &err);
    REQUIRE(v->put(rec2, &err));
    rec.staged.reset();
    rec2.staged.reset();
    std::string bytes;
    REQUIRE(v->original("mine", bytes, &err));
    CHECK(bytes == big);
    REQUIRE(v->original("short", bytes, &err));
    CHECK(bytes == big.substr(0, 200000));
    CHECK(besideFiles(db).size() == 2);
    CHECK(besideFiles(other_dir.path() / "vault.db").empty());
  }
}
