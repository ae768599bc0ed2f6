// The run marker and the journal of SMTP attempts in flight (inflight.h): what the start after a
// SIGKILL says and what it reconciles in the quarantine.
#include "src/smtp/inflight.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "support/test_support.h"

namespace fs = std::filesystem;
using mugai::smtp::Inflight;
using mugai::smtp::reconcileQuarantine;
using mugai::smtp::RunMarker;
using mugai::test::readFile;
using mugai::test::TempDir;
using mugai::test::writeFile;

namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

void setMtime(const fs::path& p, std::chrono::seconds from_now) {
  timeval tv[2];
  tv[0].tv_sec = tv[1].tv_sec = time(nullptr) + from_now.count();
  tv[0].tv_usec = tv[1].tv_usec = 0;
  REQUIRE(utimes(p.c_str(), tv) == 0);
}

void record(const fs::path& dir, const std::string& id) {
  writeFile(dir / (id + ".orig"), "the original");
  writeFile(dir / (id + ".json"), "{}");
}

}  // namespace

TEST_CASE("run marker: a clean stop is not reported, a run that never stopped is", "[smtp]") {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  {
    RunMarker first;
    CHECK(first.start(dir).empty());
    CHECK(readFile(tmp.path() / ".mugai-run" / "serve").find("state=running pid=") == 0);
    first.stopped();
  }
  CHECK(readFile(tmp.path() / ".mugai-run" / "serve").find("state=stopped") == 0);
  {
    RunMarker second;
    CHECK(second.start(dir).empty());
    // no stopped(): as after SIGKILL
  }
  RunMarker third;
  std::string said = joined(third.start(dir));
  CHECK(said.find("the previous run (pid " + std::to_string(getpid()) + ", started 20") == 0);
  CHECK(said.find("did not stop cleanly") != std::string::npos);
}

TEST_CASE("run marker: a second service on the same quarantine touches nothing", "[smtp]") {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  RunMarker running;
  REQUIRE(running.start(dir).empty());
  record(tmp.path(), "20261206T200000-aaaaaa");
  writeFile(tmp.path() / ".mugai-run" / "inflight-20261206T200000-aaaaaa", "stored");
  RunMarker other;
  std::string said = joined(other.start(dir));
  CHECK(said.find("another mugai serve uses the quarantine") != std::string::npos);
  CHECK(fs::exists(tmp.path() / "20261206T200000-aaaaaa.orig"));
  CHECK(fs::exists(tmp.path() / ".mugai-run" / "inflight-20261206T200000-aaaaaa"));
}

TEST_CASE("inflight: the journal entry says stored, then relaying, and goes when answered",
          "[smtp]") {
  TempDir tmp;
  const fs::path entry = tmp.path() / ".mugai-run" / "inflight-20261206T200000-bbbbbb";
  fs::create_directories(tmp.path() / ".mugai-run");
  {
    Inflight j(tmp.path().string(), "20261206T200000-bbbbbb");
    CHECK_FALSE(fs::exists(entry));  // nothing stored yet: nothing to journal
    j.stored();
    CHECK(readFile(entry) == "stored");
    j.relaying();
    CHECK(readFile(entry) == "relaying");
  }
  CHECK_FALSE(fs::exists(entry));
}

TEST_CASE("reconcile: unanswered records go, relayed ones stay, old temporary files go", "[smtp]") {
  TempDir tmp;
  const fs::path q = tmp.path();
  const fs::path run = q / ".mugai-run";
  fs::create_directories(run);
  record(q, "20261206T200000-000001");  // stored, never answered
  writeFile(run / "inflight-20261206T200000-000001", "stored");
  record(q, "20261206T200000-000002");  // on its way to the next hop
  writeFile(run / "inflight-20261206T200000-000002", "relaying");
  writeFile(run / "inflight-20261206T200000-000003", "stored");  // killed before the record
  record(q, "20261206T200000-000004");  // answered: no journal entry, a record like any other
  writeFile(q / ".mugai-tmp-12345", "half");
  setMtime(q / ".mugai-tmp-12345", std::chrono::seconds(-3600));
  writeFile(q / ".mugai-tmp-67890", "being written now");  // by someone else, after our start
  setMtime(q / ".mugai-tmp-67890", std::chrono::seconds(60));
  writeFile(run / "inflight-not.an.id", "stored");

  std::string said = joined(reconcileQuarantine(q.string(), std::chrono::system_clock::now()));
  INFO(said);
  CHECK(said.find("reconcile: removed 1 temporary file(s)") != std::string::npos);
  CHECK(said.find("reconcile: removed 20261206T200000-000001: the killed run never answered") !=
        std::string::npos);
  CHECK(said.find("reconcile: kept 20261206T200000-000002: the killed run was relaying it") !=
        std::string::npos);
  CHECK(said.find("000003") == std::string::npos);
  CHECK(said.find("000004") == std::string::npos);
  CHECK_FALSE(fs::exists(q / "20261206T200000-000001.orig"));
  CHECK_FALSE(fs::exists(q / "20261206T200000-000001.json"));
  CHECK(fs::exists(q / "20261206T200000-000002.orig"));
  CHECK(fs::exists(q / "20261206T200000-000004.orig"));
  CHECK_FALSE(fs::exists(q / ".mugai-tmp-12345"));
  CHECK(fs::exists(q / ".mugai-tmp-67890"));
  for (const char* n : {"inflight-20261206T200000-000001", "inflight-20261206T200000-000002",
                        "inflight-20261206T200000-000003"}) {
    CHECK_FALSE(fs::exists(run / n));
  }
  CHECK(fs::exists(run / "inflight-not.an.id"));  // not a name we write: left alone
  // Run again: nothing more to do.
  CHECK(reconcileQuarantine(q.string(), std::chrono::system_clock::now()).empty());
}
