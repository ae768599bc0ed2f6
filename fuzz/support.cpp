#include "fuzz/support.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "mugai/core/budget.h"

namespace mugai::fuzz {

const Registry& builtinRegistry() {
  static const Registry* registry = [] {
    auto* r = new Registry;
    registerBuiltinSanitizers(*r);
    return r;
  }();
  return *registry;
}

SanitizerConstSharedPtr defaultSanitizer(std::string_view name) {
  static std::map<std::string, SanitizerConstSharedPtr, std::less<>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  SanitizerConstSharedPtr s;
  if (const SanitizerFactory* f = builtinRegistry().find(name)) {
    std::string error;
    s = f->create(SanitizerParams{}, &error);
    if (!s) {
      std::fprintf(stderr, "%.*s: default parameters refused: %s\n", static_cast<int>(name.size()),
                   name.data(), error.c_str());
      std::abort();
    }
  }
  cache.emplace(std::string(name), s);
  return s;
}

}  // namespace mugai::fuzz
