// sanitizer.test_probe: compiled into the isolation test binary only, never into mugai. It does
// what a compromised parser would try, as its input says:
//   "probe"  try socket(), open() and openat() of a file, and report each as a finding
//            ("allowed" or "refused: <errno text>");
//   "crash"  SIGSEGV;  "hang"  spin forever;  "oom"  allocate until it fails;
//   "once-crash:<path-unused>" is not supported: tests use a fresh pool instead.
// Anything else: kept as it is.
#pragma once

#include "mugai/sanitizer/registry.h"

namespace mugai::test {

void registerProbe(Registry& registry);

}  // namespace mugai::test
