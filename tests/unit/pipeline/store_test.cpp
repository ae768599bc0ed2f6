#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include "mugai/io/store.h"
#include "support/test_support.h"

using namespace mugai;

TEST_CASE("store: atomic writes, unique names", "[unit]") {
  test::TempDir dir;
  std::string err;
  auto p = (dir.path() / "a.txt").string();
  REQUIRE(io::writeFileAtomic(p, "one", &err));
  REQUIRE(io::writeFileAtomic(p, "two", &err));
  REQUIRE(test::readFile(p) == "two");
  struct stat st {};
  REQUIRE(stat(p.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE(io::writeFileUnique(dir.path().string(), "a.txt", "three", &err) == (dir.path() / "a-1.txt").string());
  REQUIRE(io::writeFileUnique(dir.path().string(), "a.txt", "four", &err) == (dir.path() / "a-2.txt").string());
  REQUIRE(test::readFile(p) == "two");  // never overwritten
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    REQUIRE(e.path().filename().string().rfind(".mugai-tmp", 0) != 0);  // no temporary left
  }
  REQUIRE_FALSE(io::writeFileAtomic("/nonexistent-dir/x", "y", &err));
  REQUIRE(err.find("/nonexistent-dir") != std::string::npos);
}
