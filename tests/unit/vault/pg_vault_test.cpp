// The PostgreSQL vault against a real, throwaway PostgreSQL server (tests/support/postgres.h):
// the same behaviour as SQLite, and what several gateways sharing one vault need — one audit
// chain whatever the number of writers, a request decided once, a record purged once.
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mugai/vault/vault.h"
#include "support/postgres.h"
#include "support/test_support.h"

namespace mv = mugai::vault;

namespace {

mugai::test::PostgresServer& server() {
  static mugai::test::PostgresServer s;
  return s;
}

/// A fresh database on the shared server; "" (and the test is skipped) without PostgreSQL.
std::string freshDatabase(const std::string& name) {
  auto& s = server();
  if (!s.ok()) return "";
  REQUIRE(s.psql("CREATE DATABASE " + name));
  std::string url = s.url();
  return url.replace(url.find("/postgres?"), 10, "/" + name + "?");
}

std::unique_ptr<mv::Vault> open(const std::string& url) {
  std::string err;
  auto v = mv::openVault(url, &err);
  INFO(err);
  REQUIRE(v);
  return v;
}

mv::NewRecord record(const std::string& id, std::int64_t expires = 0) {
  mv::NewRecord r;
  r.id = id;
  r.kind = "mail";
  r.created = 1000;
  r.expires = expires;
  r.envelope.sender = "partner@example.co.jp";
  r.envelope.recipients = {"Tanaka@City.Example.lg.jp"};
  r.subject = "見積書";
  r.verdict = "sanitized";
  r.reason = "content.active";
  r.reasons = {"content.active", "filename.changed"};
  r.report_json = "{}";
  r.original = std::string(100000, 'x') + id + std::string("\0\xff\x01", 3);
  r.objects = {{"2", "vbaProject.bin", "removed", "content.active", std::string(64, 'b')}};
  r.tier = mv::Tier::Approval;
  return r;
}

#define NEED_POSTGRES(url)            \
  if ((url).empty()) {                \
    WARN(server().why());             \
    return;                           \
  }

}  // namespace

TEST_CASE("pg vault: records, originals byte for byte, list and usage", "[postgres]") {
  const std::string url = freshDatabase("records");
  NEED_POSTGRES(url);
  auto v = open(url);
  std::string err;
  REQUIRE(v->put(record("id-1"), &err));
  REQUIRE(v->put(record("id-2"), &err));
  CHECK_FALSE(v->put(record("id-1"), &err));
  CHECK(err.find("exists already") != std::string::npos);
  auto r = v->get("id-1", &err);
  REQUIRE(r);
  CHECK(r->subject == "見積書");
  CHECK(r->objects.size() == 1);
  CHECK(r->tier == mv::Tier::Approval);
  std::string bytes;
  REQUIRE(v->original("id-2", bytes, &err));
  CHECK(bytes == record("id-2").original);
  std::vector<mv::RecordInfo> out;
  mv::Query q;
  q.recipient = "tanaka@city.example.LG.jp";
  q.reason = "filename.changed";
  REQUIRE(v->list(q, out, &err));
  CHECK(out.size() == 2);
  mv::Usage u;
  REQUIRE(v->usage(u, &err));
  CHECK(u.records == 2);
  CHECK(v->verifyAudit().ok);
}

TEST_CASE("pg vault: two gateways writing at once keep one audit chain", "[postgres]") {
  const std::string url = freshDatabase("twogateways");
  NEED_POSTGRES(url);
  open(url);  // the schema
  std::atomic<int> failures{0};
  std::vector<std::thread> gateways;
  for (int g = 0; g < 2; ++g) {
    gateways.emplace_back([&, g] {
      auto v = mv::openVault(url, nullptr);
      if (!v) {
        ++failures;
        return;
      }
      for (int i = 0; i < 60; ++i) {
        std::string err;
        if (!v->put(record("gw" + std::to_string(g) + "-" + std::to_string(i)), &err)) ++failures;
      }
    });
  }
  for (auto& t : gateways) t.join();
  CHECK(failures == 0);
  auto v = open(url);
  auto c = v->verifyAudit();
  INFO(c.problem);
  CHECK(c.ok);
  CHECK(c.rows == 120);
}

TEST_CASE("pg vault: a request approved on two gateways at once is carried out once", "[postgres]") {
  const std::string url = freshDatabase("decideonce");
  NEED_POSTGRES(url);
  auto v = open(url);
  std::string err;
  REQUIRE(v->put(record("id-r"), &err));
  mv::Request req;
  REQUIRE(v->addRequest("id-r", "tanaka", "必要", "staff", req, &err));
  std::atomic<int> approved{0}, refused{0};
  std::vector<std::thread> ts;
  for (int g = 0; g < 4; ++g) {
    ts.emplace_back([&, g] {
      auto gw = mv::openVault(url, nullptr);
      std::string e;
      if (gw && gw->decide(req.id, true, "approver" + std::to_string(g), "approver", "", 1, &e)) {
        ++approved;
      } else {
        ++refused;
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(approved == 1);
  CHECK(refused == 3);
  std::vector<mv::AuditRow> rows;
  REQUIRE(v->audit(0, rows, &err));
  int approvals = 0;
  for (const auto& r : rows) approvals += r.action == "approve";
  CHECK(approvals == 1);
  CHECK(v->get("id-r", &err)->state == "approved");
}

TEST_CASE("pg vault: retention from two gateways purges each record once, never a held one", "[postgres]") {
  const std::string url = freshDatabase("purge");
  NEED_POSTGRES(url);
  auto v = open(url);
  std::string err;
  for (int i = 0; i < 40; ++i) REQUIRE(v->put(record("old-" + std::to_string(i), 2000), &err));
  REQUIRE(v->put(record("new", 9000), &err));
  REQUIRE(v->setHold("old-7", true, "admin", "security_admin", &err));
  mv::PurgeResult dry;
  REQUIRE(v->purge(5000, true, "mugai", dry, &err));
  CHECK(dry.purged.size() == 39);
  CHECK(dry.held_skipped == 1);
  std::vector<mv::PurgeResult> results(2);
  std::vector<std::thread> ts;
  for (int g = 0; g < 2; ++g) {
    ts.emplace_back([&, g] {
      auto gw = mv::openVault(url, nullptr);
      if (gw) gw->purge(5000, false, "gw" + std::to_string(g), results[g], nullptr);
    });
  }
  for (auto& t : ts) t.join();
  CHECK(results[0].purged.size() + results[1].purged.size() == 39);
  CHECK(v->get("old-7", &err));
  CHECK(v->get("new", &err));
  CHECK_FALSE(v->get("old-0", &err));
  CHECK(v->verifyAudit().ok);
}

TEST_CASE("pg vault: audit verify finds a row edited by hand", "[postgres]") {
  const std::string url = freshDatabase("tamper");
  NEED_POSTGRES(url);
  auto v = open(url);
  std::string err;
  for (int i = 0; i < 4; ++i) REQUIRE(v->put(record("t" + std::to_string(i)), &err));
  REQUIRE(v->verifyAudit().ok);
  // psql on the test server (database tamper).
  std::string sql_url = url;
  REQUIRE(std::system(("psql -X -q '" + sql_url + "' -c \"UPDATE audit SET actor = 'x' WHERE seq = 2\" >/dev/null 2>&1")
                          .c_str()) == 0);
  auto c = v->verifyAudit();
  CHECK_FALSE(c.ok);
  CHECK(c.first_bad == 2);
}

TEST_CASE("pg vault: a gateway starting while another is inside a transaction opens at once", "[postgres]") {
  // CI once lost the record of a delivered release: a second runner's openVault ran the schema
  // (CREATE INDEX IF NOT EXISTS takes a SHARE lock on the table before it looks), deadlocked with
  // the first runner's finishing transaction, and PostgreSQL aborted that one.
  const std::string url = freshDatabase("busy");
  NEED_POSTGRES(url);
  auto first = open(url);
  std::string err;
  REQUIRE(first->put(record("b1"), &err));
  // Another gateway, by psql: a transaction that has written to records and releases and stays open.
  std::atomic<bool> done{false};
  std::thread other([&] {
    std::system(("psql -X -q '" + url +
                 "' -c \"BEGIN; UPDATE records SET state = state; UPDATE releases SET state = state; "
                 "SELECT pg_sleep(20); COMMIT\" >/dev/null 2>&1")
                    .c_str());
    done = true;
  });
  // Wait until its transaction is under way (pg_stat_activity shows it sleeping).
  bool seen = false;
  for (int i = 0; i < 200 && !seen && !done; ++i) {
    seen = std::system(("psql -X -q -t -A '" + url +
                        "' -c \"SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND "
                        "wait_event = 'PgSleep'\" | grep -q 1")
                           .c_str()) == 0;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(seen);
  // The second gateway opens and writes a record while the other transaction is still open.
  auto second = open(url);
  CHECK(second->put(record("b2"), &err));
  CHECK_FALSE(done.load());
  other.join();
  CHECK(first->get("b2", &err));
}

// ---- the release queue: the same checks as on SQLite (release_queue_checks.h) ----
#include "release_queue_checks.h"

TEST_CASE("pg vault release queue: approved request, admin release, notices, leases", "[postgres]") {
  const std::string url = freshDatabase("releasequeue");
  NEED_POSTGRES(url);
  const mugai::test::release_queue::Open o = [url] { return open(url); };
  mugai::test::release_queue::approvedRequestIsOneJob(o);
  mugai::test::release_queue::adminReleaseAndNotices(o);
  mugai::test::release_queue::leaseOfADeadRunner(o);
}

TEST_CASE("pg vault release queue: four runners on two gateways claim each of 60 jobs once", "[postgres]") {
  const std::string url = freshDatabase("releaserunners");
  NEED_POSTGRES(url);
  mugai::test::release_queue::runnersClaimEachJobOnce([url] { return open(url); }, 4, 60);
}

// ---- the free-text search: pg_trgm indexes, the same checks as on SQLite (text_search_checks.h) ----
#include "text_search_checks.h"

namespace {
/// psql -t -A on `url`: the single value a query answers.
std::string pgValue(const std::string& url, const std::string& query) {
  std::string out;
  FILE* p = ::popen(("psql -X -q -t -A '" + url + "' -c \"" + query + "\" 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}
}  // namespace

TEST_CASE("pg vault text search: pg_trgm finds exactly what the scan found, purge included", "[postgres]") {
  const std::string url = freshDatabase("textsearch");
  NEED_POSTGRES(url);
  auto v = open(url);
  CHECK(v->textIndexed());
  CHECK(pgValue(url, "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'records_%_trgm'") == "3");
  mugai::test::text_search::sameRowsAsTheScan(*v, true);
  mugai::test::text_search::purgeLeavesTheIndex(*v);
  // The delivered body text (bodies) comes back with get().
  std::string err;
  auto b = record("body-1");
  b.body_text = "本文です <script>\n";
  REQUIRE(v->put(b, &err));
  CHECK(v->get("body-1", &err)->body_text == b.body_text);
  // The planner can answer the search from the trigram indexes (no sequential scan when it may not).
  const std::string plan = pgValue(url, "SET enable_seqscan = off; EXPLAIN SELECT id FROM records WHERE "
                                        "lower(subject) LIKE lower('%見積書%') OR lower(sender) LIKE "
                                        "lower('%見積書%') OR lower(filename) LIKE lower('%見積書%')");
  INFO(plan);
  CHECK(plan.find("records_subject_trgm") != std::string::npos);
  CHECK(plan.find("Seq Scan") == std::string::npos);
}

TEST_CASE("pg vault text search: a vault of schema 1 gets its indexes once, when opened", "[postgres]") {
  const std::string url = freshDatabase("textmigrate");
  NEED_POSTGRES(url);
  std::string err;
  { auto v = open(url); REQUIRE(v->put(record("m1"), &err)); }
  REQUIRE(std::system(("psql -X -q '" + url + "' -c \"DROP INDEX records_subject_trgm, records_sender_trgm, "
                       "records_filename_trgm; DELETE FROM meta WHERE key = 'text_index'; "
                       "UPDATE meta SET value = '1' WHERE key = 'schema'\" >/dev/null 2>&1")
                          .c_str()) == 0);
  auto v = open(url);
  CHECK(v->textIndexed());
  CHECK(pgValue(url, "SELECT value FROM meta WHERE key = 'schema'") == "2");
  CHECK(pgValue(url, "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'records_%_trgm'") == "3");
  CHECK(mugai::test::text_search::search(*v, "見積書") == std::set<std::string>{"m1"});
}

TEST_CASE("pg vault text search: a user who may not create pg_trgm gets the scan, same rows", "[postgres]") {
  const std::string url = freshDatabase("textplain");
  NEED_POSTGRES(url);
  // A role that may create tables in the schema but not extensions in the database.
  REQUIRE(server().psql("CREATE ROLE plain LOGIN"));
  REQUIRE(std::system(("psql -X -q '" + url + "' -c \"GRANT CREATE ON SCHEMA public TO plain\" >/dev/null 2>&1")
                          .c_str()) == 0);
  std::string plain_url = url;
  plain_url.replace(plain_url.find("mugai@"), 6, "plain@");
  auto v = open(plain_url);
  CHECK_FALSE(v->textIndexed());
  CHECK(pgValue(url, "SELECT value FROM meta WHERE key = 'text_index'") == "none");
  CHECK(pgValue(url, "SELECT value FROM meta WHERE key = 'schema'") == "2");
  mugai::test::text_search::sameRowsAsTheScan(*v, true);
  // Opened again: no DDL is tried again (schema current), still the scan.
  v.reset();
  v = open(plain_url);
  CHECK_FALSE(v->textIndexed());
}

// ---- group commit: the same checks as on SQLite (group_commit_checks.h) ----
#include "group_commit_checks.h"

TEST_CASE("pg vault group commit: eight sessions writing at once each get a durable record", "[postgres]") {
  const std::string url = freshDatabase("groupdurable");
  NEED_POSTGRES(url);
  mugai::test::group_commit::concurrentWritersAreDurable([url] { return open(url); }, 8, 6);
}

TEST_CASE("pg vault group commit: a commit PostgreSQL refuses fails its records, and only what was answered stored is", "[postgres]") {
  const std::string url = freshDatabase("grouppoison");
  NEED_POSTGRES(url);
  // A deferred foreign key: PostgreSQL checks it at COMMIT.
  const auto poison = [url](const std::string& id) {
    CHECK(pgValue(url, "CREATE TABLE poison_parent(id int PRIMARY KEY);"
                       "CREATE TABLE poison_child(x int REFERENCES poison_parent(id) DEFERRABLE INITIALLY DEFERRED);"
                       "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS "
                       "'BEGIN INSERT INTO poison_child VALUES (1); RETURN NEW; END';"
                       "CREATE TRIGGER poison AFTER INSERT ON records FOR EACH ROW WHEN (NEW.id = '" + id +
                       "') EXECUTE FUNCTION poison();") == "");
  };
  mugai::test::group_commit::aFailedCommitFailsItsGroup([url] { return open(url); }, poison, 8, 4);
}
