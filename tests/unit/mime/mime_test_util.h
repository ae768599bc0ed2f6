// Helpers for the mime tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mugai/core/budget.h"
#include "mugai/core/limits.h"
#include "mugai/mime/mime.h"

namespace mugai::mime::test {

/// Parses with its own Budget over `limits`.
inline ParseResult parseWith(const std::string& raw, const Limits& limits = Limits()) {
  Budget budget(limits);
  return parse(raw, budget);
}

/// All entities in pre-order, without recursion.
inline std::vector<const Entity*> flatten(const Entity& root) {
  std::vector<const Entity*> out;
  std::vector<const Entity*> stack{&root};
  while (!stack.empty()) {
    const Entity* e = stack.back();
    stack.pop_back();
    out.push_back(e);
    for (auto it = e->children.rbegin(); it != e->children.rend(); ++it) stack.push_back(&*it);
  }
  return out;
}

inline const Entity* findPath(const Entity& root, const std::string& path) {
  for (const Entity* e : flatten(root)) {
    if (e->path == path) return e;
  }
  return nullptr;
}

}  // namespace mugai::mime::test
