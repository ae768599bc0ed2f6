// The libFuzzer entry point of fuzz_<name>: the registered target MUGAI_FUZZ_NAME (a compile
// definition set per executable by fuzz/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_target.h"

#ifndef MUGAI_FUZZ_NAME
#error "MUGAI_FUZZ_NAME must name the target"
#endif

namespace {
mugai::fuzz::TargetFn selected() {
  static const mugai::fuzz::TargetFn fn = [] {
    auto& all = mugai::fuzz::targets();
    auto it = all.find(MUGAI_FUZZ_NAME);
    if (it == all.end()) {
      std::fprintf(stderr, "fuzz target %s is not linked into this executable\n", MUGAI_FUZZ_NAME);
      std::abort();
    }
    return it->second;
  }();
  return fn;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return selected()(data, size);
}
