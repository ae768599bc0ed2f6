// The release queue's behaviour, checked the same way on both backends (vault_test.cpp runs it on
// SQLite, pg_vault_test.cpp on a throwaway PostgreSQL): an approved request becomes one job, a job
// is handed to one runner at a time, retries wait for their time, a runner that died gives its job
// up when its lease runs out, and every step is in the audit chain.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mugai/vault/vault.h"

namespace mugai::test::release_queue {

namespace mv = mugai::vault;
using Open = std::function<std::unique_ptr<mv::Vault>()>;

inline mv::NewRecord record(const std::string& id) {
  mv::NewRecord r;
  r.id = id;
  r.kind = "mail";
  r.created = 1000;
  r.envelope.sender = "partner@example.co.jp";
  r.envelope.recipients = {"tanaka@city.example.lg.jp", "sato@city.example.lg.jp"};
  r.subject = "見積書";
  r.verdict = "sanitized";
  r.reason = "content.active";
  r.reasons = {"content.active"};
  r.report_json = "{}";
  r.original = "Subject: x\r\n\r\nbody " + id + "\r\n";
  r.tier = mv::Tier::Approval;
  return r;
}

inline std::vector<std::string> actions(mv::Vault& v) {
  std::vector<mv::AuditRow> rows;
  std::string err;
  REQUIRE(v.audit(0, rows, &err));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.action);
  return out;
}

inline int count(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

/// Request -> approval -> one job; claim, retry at its time, deliver; record and request released.
inline void approvedRequestIsOneJob(const Open& open) {
  auto v = open();
  std::string err;
  REQUIRE(v->put(record("rq-1"), &err));
  mv::Request req;
  REQUIRE(v->addRequest("rq-1", "tanaka", "取引先の確認に必要", "staff", req, &err));
  mv::ReleaseOrder o;
  o.record_id = "rq-1";
  o.request_id = req.id;
  o.recipients = {"tanaka@city.example.lg.jp"};
  mv::ReleaseJob job;
  CHECK_FALSE(v->queueRelease(o, "admin", "security_admin", job, &err));  // pending, not approved
  CHECK(err.find("not approved") != std::string::npos);
  REQUIRE(v->decide(req.id, true, "kacho", "approver", "", 1, &err));
  REQUIRE(v->queueRelease(o, "kacho", "approver", job, &err));
  CHECK(job.state == "queued");
  mv::ReleaseJob again;
  CHECK_FALSE(v->queueRelease(o, "kacho", "approver", again, &err));  // one job per request
  CHECK(err.find("queued already") != std::string::npos);

  const std::int64_t now = job.due;
  auto c = v->claimRelease("runner-a", now, 300, &err);
  REQUIRE(c);
  CHECK(c->id == job.id);
  CHECK(c->recipients == std::vector<std::string>{"tanaka@city.example.lg.jp"});
  CHECK(c->attempts == 1);
  CHECK(c->payload.empty());
  CHECK_FALSE(v->claimRelease("runner-b", now, 300, &err));  // running: nobody else gets it
  CHECK(err.empty());
  CHECK_FALSE(v->finishRelease(job.id, "runner-b", mv::ReleaseOutcome::Delivered, 0, "", &err));
  REQUIRE(v->finishRelease(job.id, "runner-a", mv::ReleaseOutcome::Retry, now + 60,
                           "next hop: 451 try later", &err));
  CHECK_FALSE(v->claimRelease("runner-a", now + 59, 300, &err));  // not due yet
  auto c2 = v->claimRelease("runner-b", now + 60, 300, &err);
  REQUIRE(c2);
  CHECK(c2->attempts == 2);
  REQUIRE(v->finishRelease(job.id, "runner-b", mv::ReleaseOutcome::Delivered, 0,
                           "next hop: 250 ok", &err));
  CHECK_FALSE(v->claimRelease("runner-a", now + 100000, 300, &err));  // final: never again
  CHECK(v->get("rq-1", &err)->state == "released");
  std::vector<mv::Request> reqs;
  REQUIRE(v->requests("rq-1", reqs, &err));
  CHECK(reqs.at(0).state == "released");
  std::vector<mv::ReleaseJob> jobs;
  REQUIRE(v->releases("rq-1", "", jobs, &err));
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].state == "delivered");
  CHECK(jobs[0].detail == "next hop: 250 ok");
  CHECK(jobs[0].attempts == 2);
  const auto a = actions(*v);
  CHECK(count(a, "release.queue") == 1);
  CHECK(count(a, "release.claim") == 2);
  CHECK(count(a, "release.retry") == 1);
  CHECK(count(a, "release.delivered") == 1);
  CHECK(v->verifyAudit().ok);
}

/// An admin's release without a request: one under way at a time; refused is final and marks the
/// record; notices carry their payload byte for byte, are sent once (dedup) and change no state.
inline void adminReleaseAndNotices(const Open& open) {
  auto v = open();
  std::string err;
  REQUIRE(v->put(record("ad-1"), &err));
  mv::ReleaseOrder o;
  o.record_id = "ad-1";
  o.recipients = {"tanaka@city.example.lg.jp", "sato@city.example.lg.jp"};
  mv::ReleaseJob job, second;
  REQUIRE(v->queueRelease(o, "secadmin", "security_admin", job, &err));
  CHECK_FALSE(v->queueRelease(o, "secadmin", "security_admin", second, &err));
  CHECK(err.find("under way") != std::string::npos);
  auto c = v->claimRelease("r", job.due, 300, &err);
  REQUIRE(c);
  CHECK(c->recipients.size() == 2);
  REQUIRE(v->finishRelease(c->id, "r", mv::ReleaseOutcome::Refused, 0,
                           "re-scan: Eicar-Test-Signature", &err));
  CHECK(v->get("ad-1", &err)->state == "refused");
  REQUIRE(v->queueRelease(o, "secadmin", "security_admin", second, &err));  // finished: may again

  mv::ReleaseOrder bad = o;
  bad.recipients = {"a@b.example\r\nRCPT TO:<x@y>"};
  CHECK_FALSE(v->queueRelease(bad, "secadmin", "security_admin", second, &err));
  bad = o;
  bad.kind = "notice";
  CHECK_FALSE(v->queueRelease(bad, "secadmin", "security_admin", second, &err));  // no message

  mv::ReleaseOrder n;
  n.record_id = "ad-1";
  n.kind = "notice";
  n.recipients = {"kacho@city.example.lg.jp"};
  n.payload = std::string("Subject: =?UTF-8?B?5om/6KqN?=\r\n\r\n\x00\xff", 35) + std::string(5000, 'n');
  n.dedup = "notice:waiting:request=7:kacho@city.example.lg.jp";
  mv::ReleaseJob nj;
  REQUIRE(v->queueRelease(n, "mugai", "system", nj, &err));
  CHECK_FALSE(v->queueRelease(n, "mugai", "system", second, &err));  // each notice once
  // The release queued above is due first (same second, lower id); take both.
  std::map<std::string, mv::ReleaseJob> got;
  while (auto j = v->claimRelease("r", nj.due, 300, &err)) got[j->kind] = *j;
  REQUIRE(got.count("notice") == 1);
  CHECK(got["notice"].payload == n.payload);
  REQUIRE(v->finishRelease(got["notice"].id, "r", mv::ReleaseOutcome::Delivered, 0, "", &err));
  CHECK(v->get("ad-1", &err)->state == "refused");  // a notice changes no record state
  CHECK(count(actions(*v), "notice.delivered") == 1);
  CHECK(v->verifyAudit().ok);
}

/// A runner that died keeps its job only until its lease ends; its late finish is refused.
inline void leaseOfADeadRunner(const Open& open) {
  auto v = open();
  std::string err;
  REQUIRE(v->put(record("ls-1"), &err));
  mv::ReleaseOrder o;
  o.record_id = "ls-1";
  o.recipients = {"tanaka@city.example.lg.jp"};
  mv::ReleaseJob job;
  REQUIRE(v->queueRelease(o, "secadmin", "security_admin", job, &err));
  REQUIRE(v->claimRelease("dead", job.due, 10, &err));
  CHECK_FALSE(v->claimRelease("alive", job.due + 9, 10, &err));
  auto c = v->claimRelease("alive", job.due + 10, 10, &err);
  REQUIRE(c);
  CHECK(c->attempts == 2);
  CHECK_FALSE(v->finishRelease(job.id, "dead", mv::ReleaseOutcome::Delivered, 0, "", &err));
  CHECK(err.find("not held by dead") != std::string::npos);
  REQUIRE(v->finishRelease(job.id, "alive", mv::ReleaseOutcome::Failed, 0, "550 no such user", &err));
  CHECK(v->get("ls-1", &err)->state == "withheld");  // failed delivery: still withheld
  std::vector<mv::AuditRow> rows;
  REQUIRE(v->audit(0, rows, &err));
  bool noted = false;
  for (const auto& r : rows) noted |= r.detail.find("lease of a stopped runner") != std::string::npos;
  CHECK(noted);
}

/// Several runners, each with its own connection, on many jobs: every job claimed exactly once.
inline void runnersClaimEachJobOnce(const Open& open, int runners, int jobs) {
  auto v = open();
  std::string err;
  REQUIRE(v->put(record("many"), &err));
  std::int64_t due = 0;
  for (int i = 0; i < jobs; ++i) {
    mv::ReleaseOrder n;
    n.record_id = "many";
    n.kind = "notice";
    n.recipients = {"u" + std::to_string(i) + "@city.example.lg.jp"};
    n.payload = "notice " + std::to_string(i);
    n.dedup = "n" + std::to_string(i);
    mv::ReleaseJob j;
    REQUIRE(v->queueRelease(n, "mugai", "system", j, &err));
    due = std::max(due, j.due);
  }
  std::mutex mu;
  std::map<std::int64_t, int> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int r = 0; r < runners; ++r) {
    ts.emplace_back([&, r] {
      auto mine = open();
      const std::string name = "runner-" + std::to_string(r);
      std::string e;
      while (auto j = mine->claimRelease(name, due, 300, &e)) {
        {
          std::lock_guard l(mu);
          ++claimed[j->id];
        }
        if (!mine->finishRelease(j->id, name, mv::ReleaseOutcome::Delivered, 0, "", &e)) ++errors;
      }
      if (!e.empty()) ++errors;
    });
  }
  for (auto& t : ts) t.join();
  CHECK(errors == 0);
  CHECK(static_cast<int>(claimed.size()) == jobs);
  for (const auto& [id, n] : claimed) CHECK(n == 1);
  const auto a = actions(*v);
  CHECK(count(a, "notice.claim") == jobs);
  CHECK(count(a, "notice.delivered") == jobs);
  CHECK(v->verifyAudit().ok);
}

}  // namespace mugai::test::release_queue
