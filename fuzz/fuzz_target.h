/**
 * @file fuzz_target.h
 * @brief One fuzz target = one named entry point, used by libFuzzer and by the regression replay.
 *
 * A target file says
 *
 *     MUGAI_FUZZ_TARGET(mime_parse) { ...use data, size...; return 0; }
 *
 * which registers `mime_parse` in a name-keyed table. The libFuzzer executable fuzz_<name>
 * (MUGAI_FUZZ=ON, libfuzzer_entry.cpp) defines LLVMFuzzerTestOneInput as "call the target
 * <name>"; the replay executable (replay_main.cpp, the normal gcc build) calls the same function on
 * each file of tests/fuzz-regressions/<name>/. So what the fuzzer found is replayed through exactly
 * the code it crashed, without libFuzzer.
 *
 * Trust: `data` is hostile (that is the point). Targets never keep state between calls that could
 * make a crash depend on the inputs before it (lazily built immutable objects are fine).
 * Errors: a target returns 0; it must not throw (an escaping exception is a finding).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace mugai::fuzz {

using TargetFn = int (*)(const std::uint8_t* data, std::size_t size);

/// Every target linked into this executable, by name.
std::map<std::string, TargetFn>& targets();

inline bool registerTarget(const char* name, TargetFn fn) {
  targets().emplace(name, fn);
  return true;
}

}  // namespace mugai::fuzz

#define MUGAI_FUZZ_TARGET(name)                                                              \
  static int mugai_fuzz_target_##name(const std::uint8_t* data, std::size_t size);           \
  [[maybe_unused]] static const bool mugai_fuzz_registered_##name =                          \
      ::mugai::fuzz::registerTarget(#name, &mugai_fuzz_target_##name);                       \
  static int mugai_fuzz_target_##name(const std::uint8_t* data, std::size_t size)
