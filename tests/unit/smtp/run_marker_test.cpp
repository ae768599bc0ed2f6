// The run marker (run_marker.h): what the start after a SIGKILL says, and a second service on the
// same state folder.
#include "src/smtp/run_marker.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/test_support.h"

namespace fs = std::filesystem;
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

TEST_CASE("run marker: a second service on the same state folder is told, the first keeps it",
          "[smtp]") {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  RunMarker running;
  REQUIRE(running.start(dir).empty());
  RunMarker other;
  std::string said = joined(other.start(dir));
  CHECK(said.find("another mugai serve uses the state folder " + dir) != std::string::npos);
  CHECK(readFile(tmp.path() / ".mugai-run" / "serve").find("state=running pid=" +
                                                          std::to_string(getpid())) == 0);
}

