// Shared helpers of the fuzz targets (fuzz/targets/*.cpp): the production limits, a sanitizer
// run as the engine would start it, and a small reader that splits the fuzz input into choices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mugai/core/limits.h"
#include "mugai/sanitizer/registry.h"

namespace mugai::fuzz {

// In mugai_fuzz_base (every target):

/// The limits a default installation runs with (params.def defaults): the fuzzer tests what ships,
/// but for a 10 s item deadline (base.cpp says why).
const Limits& shippedLimits();

/// Aborts with `what` on stderr: a target's own check failed (libFuzzer keeps the input).
[[noreturn]] void fail(const char* what);

/**
 * Applies `s` to `data` as the engine hands a part over: a fresh budget from the shipped limits,
 * no scanner, and a member processor that keeps every archive member as it is (so containers are
 * unpacked and repacked instead of failing closed for want of an engine). Checks what the
 * Sanitizer contract promises whatever the input: a Modified outcome has a replacement, a kept
 * part has none; a broken promise aborts (a finding).
 */
Outcome applySanitizer(const Sanitizer& s, std::string data, std::string detected_mime,
                       std::string filename);

// In mugai_fuzz_support (targets that run sanitizers or the rules loader):

/// Every built-in sanitizer, registered as `mugai` registers them.
const Registry& builtinRegistry();

/// The sanitizer `name` built with its default parameters (cached; nullptr when unknown).
SanitizerConstSharedPtr defaultSanitizer(std::string_view name);

/// Reads choices off the front of the fuzz input; what is left is the payload.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}
  /// One byte (0 when the input is exhausted).
  std::uint8_t byte() {
    if (rest_.empty()) return 0;
    auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace mugai::fuzz
