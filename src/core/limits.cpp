#include "mugai/core/limits.h"

namespace mugai {
namespace {

constexpr ParamInfo kParams[] = {
#define MUGAI_PARAM(name, def, min, max, unit, doc) {#name, def, min, max, unit, doc},
#include "mugai/config/params.def"
#undef MUGAI_PARAM
};

std::uint64_t* field(Limits& l, std::string_view name) {
#define MUGAI_PARAM(n, def, min, max, unit, doc) \
  if (name == #n) return &l.n;
#include "mugai/config/params.def"
#undef MUGAI_PARAM
  return nullptr;
}

}  // namespace

const ParamInfo* paramTable(std::size_t* count) {
  *count = sizeof(kParams) / sizeof(kParams[0]);
  return kParams;
}

std::optional<std::string> setLimit(Limits& limits, std::string_view name, std::uint64_t value) {
  for (const auto& p : kParams) {
    if (p.name != name) continue;
    if (value < p.min_value || value > p.max_value) {
      return "value " + std::to_string(value) + " for '" + std::string(name) + "' is out of range [" +
             std::to_string(p.min_value) + ", " + std::to_string(p.max_value) + "]";
    }
    *field(limits, name) = value;
    return std::nullopt;
  }
  return "unknown parameter '" + std::string(name) + "'";
}

std::optional<std::uint64_t> getLimit(const Limits& limits, std::string_view name) {
  auto* f = field(const_cast<Limits&>(limits), name);
  if (!f) return std::nullopt;
  return *f;
}

}  // namespace mugai
