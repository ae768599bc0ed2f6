// mugai_fuzz_replay TARGET PATH...: feeds every file (a directory: every file in it, sorted) to
// the registered fuzz target TARGET, as libFuzzer would, in the normal (non-libFuzzer) build.
// `mugai_fuzz_replay --list` prints the target names; `--expect a,b,...` checks them. Exit 0 when every input ran to the end; a
// crash, a sanitizer report or a failed target check ends the process as it would the fuzzer.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"

namespace fs = std::filesystem;

namespace {

bool readFile(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  auto& all = mugai::fuzz::targets();
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, fn] : all) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "--expect") {
    std::string have;
    for (const auto& [name, fn] : all) have += (have.empty() ? "" : ",") + name;
    std::vector<std::string> want;
    std::string list = argv[2];
    for (std::size_t p = 0; p <= list.size();) {
      std::size_t c = list.find(',', p);
      if (c == std::string::npos) c = list.size();
      want.push_back(list.substr(p, c - p));
      p = c + 1;
    }
    std::sort(want.begin(), want.end());
    std::string expected;
    for (const auto& w : want) expected += (expected.empty() ? "" : ",") + w;
    if (have != expected) {
      std::fprintf(stderr, "registered: %s\nexpected:   %s\n", have.c_str(), expected.c_str());
      return 1;
    }
    std::printf("%zu targets registered\n", all.size());
    return 0;
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TARGET [FILE|DIR]... | --list\n", argv[0]);
    return 2;
  }
  auto it = all.find(argv[1]);
  if (it == all.end()) {
    std::fprintf(stderr, "unknown fuzz target '%s' (--list shows them)\n", argv[1]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    fs::path p(argv[i]);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::directory_iterator(p, ec))
        if (e.is_regular_file() && e.path().filename().string().front() != '.' &&
            e.path().filename() != "README.md")
          files.push_back(e.path());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  // The empty input first: every target must take it.
  it->second(reinterpret_cast<const std::uint8_t*>(""), 0);
  for (const auto& f : files) {
    std::string data;
    if (!readFile(f, data)) {
      std::fprintf(stderr, "%s: cannot read\n", f.c_str());
      return 2;
    }
    std::fprintf(stderr, "%s: %s (%zu bytes)\n", argv[1], f.filename().c_str(), data.size());
    it->second(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::printf("%s: %zu input(s) replayed\n", argv[1], files.size());
  return 0;
}
