// Denial-of-service inputs from issue 10, through the shipped engine: each must be refused in
// well under a second. Prints the time, the verdict and the reason of each (not a test: tests
// never time things; tests/unit/pipeline/dos_prescreen_test.cpp checks the verdicts).
//   mugai_bench_dos [--rules FILE]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "mugai/pipeline/pipeline.h"
#include "tests/support/hostile_gen.h"

using Clock = std::chrono::steady_clock;

namespace {

void run(const mugai::Engine& e, const char* label, const std::string& data, const std::string& name) {
  auto t0 = Clock::now();
  mugai::ProcessResult r = e.processFile(data, name, "bench");
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::printf("%-34s %9zu bytes  %8.1f ms  %s %s%s\n", label, data.size(), ms,
              std::string(mugai::verdictName(r.verdict)).c_str(),
              std::string(mugai::reasonInfo(r.report.reason).name).c_str(),
              ms < 1000 ? "" : "  ** over 1 s **");
}

}  // namespace

int main(int argc, char** argv) {
  std::string rules = std::string(MUGAI_SOURCE_DIR) + "/rules/default.yaml";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rules")) rules = argv[i + 1];
  }
  std::vector<std::string> errors;
  auto engine = mugai::makeEngine(rules, errors);
  if (!engine) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  run(*engine, "zip, 60,000 entries", mugai::test::zipWithEntries(60000), "many.zip");
  run(*engine, "zip, 100,000 entries (ZIP64)", mugai::test::zipWithEntries(100000), "many.zip");
  run(*engine, "zip, 100,000 entries, count says 1", mugai::test::zipWithEntries(100000, 1), "lie.zip");
  run(*engine, "docx-named zip, 100,000 entries", mugai::test::zipWithEntries(100000), "report.docx");
  run(*engine, "HTML element, 100,000 attributes", mugai::test::htmlWithAttributes(100000), "page.html");
  run(*engine, "same, '>' in a quoted value first", mugai::test::htmlWithAttributes(100000, true), "page.html");
  return 0;
}
