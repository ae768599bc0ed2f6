// Helpers shared by the test suites: where things are, reading files, skipping politely.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace mugai::test {

/// ../shared/corpus (or $MUGAI_CORPUS); nullopt when absent, and tests then say so.
inline std::optional<std::filesystem::path> corpusDir() {
  const char* env = std::getenv("MUGAI_CORPUS");
  std::filesystem::path p = env && *env ? env : MUGAI_CORPUS_DIR_DEFAULT;
  std::error_code ec;
  if (std::filesystem::is_regular_file(p / "MANIFEST.csv", ec)) return std::filesystem::weakly_canonical(p);
  return std::nullopt;
}

/// Use at the top of a corpus test: `auto corpus = MUGAI_REQUIRE_CORPUS();`
#define MUGAI_REQUIRE_CORPUS()                                            \
  ([]() {                                                                 \
    auto c = ::mugai::test::corpusDir();                                  \
    if (!c) {                                                             \
      WARN("skipped: corpus not found (set MUGAI_CORPUS or -DMUGAI_CORPUS_DIR)"); \
    }                                                                     \
    return c;                                                             \
  }())

inline std::filesystem::path sourceDir() { return MUGAI_SOURCE_DIR; }
/// Fixtures generated at build time by tests/data/gen (EICAR, bombs, ...).
inline std::filesystem::path generatedDir() { return MUGAI_TEST_DATA_DIR; }

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) FAIL("cannot read " << p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeFile(const std::filesystem::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

/// A fresh temporary directory, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mugai-test-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mugai::test
