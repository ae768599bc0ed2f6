// The isolation suite's own main: started with --mugai-worker, this test binary is a sandboxed
// worker whose registry also holds the test-only probe sanitizer (probe.h). Otherwise Catch2.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>

#include "src/isolation/worker.h"
#include "unit/isolation/probe.h"

int main(int argc, char** argv) {
  if (argc == 2 && !std::strcmp(argv[1], "--mugai-worker")) {
    return mugai::isolation::workerMain(mugai::test::registerProbe);
  }
  return Catch::Session().run(argc, argv);
}
