#include "mugai/sanitizer/registry.h"

#include <charconv>
#include <stdexcept>

namespace mugai {
namespace {

const ParamSpec* findSpec(const std::vector<ParamSpec>& specs, const std::string& name) {
  for (const auto& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<std::int64_t> parseInt(const std::string& v) {
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> SanitizerParams::validate(const std::vector<ParamSpec>& specs) const {
  for (const auto& [key, value] : values_) {
    const ParamSpec* spec = findSpec(specs, key);
    if (!spec) return "unknown parameter '" + key + "'";
    switch (spec->kind) {
      case ParamSpec::Kind::Bool:
        if (value != "true" && value != "false") {
          return "parameter '" + key + "' must be true or false, not '" + value + "'";
        }
        break;
      case ParamSpec::Kind::Int: {
        auto n = parseInt(value);
        if (!n) return "parameter '" + key + "' must be a whole number, not '" + value + "'";
        if (*n < spec->min || *n > spec->max) {
          return "parameter '" + key + "' = " + value + " is out of range [" +
                 std::to_string(spec->min) + ", " + std::to_string(spec->max) + "]";
        }
        break;
      }
      case ParamSpec::Kind::String:
      case ParamSpec::Kind::List:
        break;
    }
  }
  return std::nullopt;
}

std::string SanitizerParams::raw(const std::vector<ParamSpec>& specs, const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const ParamSpec* spec = findSpec(specs, name);
  if (!spec) throw std::logic_error("sanitizer asked for undeclared parameter " + name);
  return spec->default_value;
}

bool SanitizerParams::getBool(const std::vector<ParamSpec>& specs, const std::string& name) const {
  return raw(specs, name) == "true";
}

std::int64_t SanitizerParams::getInt(const std::vector<ParamSpec>& specs,
                                     const std::string& name) const {
  return parseInt(raw(specs, name)).value_or(0);
}

std::string SanitizerParams::getString(const std::vector<ParamSpec>& specs,
                                       const std::string& name) const {
  return raw(specs, name);
}

std::vector<std::string> SanitizerParams::getList(const std::vector<ParamSpec>& specs,
                                                  const std::string& name) const {
  std::vector<std::string> out;
  std::string v = raw(specs, name);
  std::size_t start = 0;
  while (start <= v.size()) {
    std::size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

void Registry::add(SanitizerFactoryPtr factory) {
  std::string name(factory->name());
  if (factories_.count(name)) throw std::logic_error("double registration of sanitizer " + name);
  factories_.emplace(std::move(name), std::move(factory));
}

const SanitizerFactory* Registry::find(std::string_view name) const {
  if (disabled_.count(name)) return nullptr;
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

void Registry::disable(std::string_view name) { disabled_.emplace(name); }
bool Registry::disabled(std::string_view name) const { return disabled_.count(name) > 0; }

}  // namespace mugai
