/**
 * @file limits.h
 * @brief Immutable engine limits, generated from config/params.def.
 *
 * Trust: values come from our embedded defaults or from validated rules files.
 * Limits: each field has a [min, max] range checked by setLimit().
 * Errors: setLimit() returns an error string for an unknown name or an out-of-range value.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mugai {

struct Limits {
#define MUGAI_PARAM(name, def, min, max, unit, doc) std::uint64_t name = def;
#include "mugai/config/params.def"
#undef MUGAI_PARAM
};

struct ParamInfo {
  std::string_view name;
  std::uint64_t default_value, min_value, max_value;
  std::string_view unit, doc;
};

const ParamInfo* paramTable(std::size_t* count);
/// Sets `name` to `value` in `limits`; returns an error text (unknown name, out of range) or nullopt.
std::optional<std::string> setLimit(Limits& limits, std::string_view name, std::uint64_t value);
std::optional<std::uint64_t> getLimit(const Limits& limits, std::string_view name);

}  // namespace mugai
