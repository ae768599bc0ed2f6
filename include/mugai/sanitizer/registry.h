/**
 * @file registry.h
 * @brief Sanitizer factories, their parameters, and the name-keyed registry.
 *
 * Trust: parameters come from the security team's rules files (validated here).
 * Limits: integer parameters have [min, max]; unknown keys are errors.
 * Errors: SanitizerParams/Registry report errors as text naming the parameter; Registry::add()
 *         throws std::logic_error on a duplicate name (a programming error, Envoy "Double
 *         registration").
 */
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai {

struct ParamSpec {
  enum class Kind { Bool, Int, String, List };
  std::string name;
  Kind kind = Kind::String;
  std::string default_value;  ///< as text: "true", "42", "x", "a,b"
  std::int64_t min = 0, max = 0;  ///< Int only
  std::string doc;
};

/// Parameters given to a factory: name -> text value (lists comma-joined), checked against specs.
class SanitizerParams {
 public:
  SanitizerParams() = default;
  explicit SanitizerParams(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  SanitizerParams(std::initializer_list<std::pair<const std::string, std::string>> values)
      : values_(values) {}
  /// Checks that every key is known and every value fits its spec; returns the first error.
  std::optional<std::string> validate(const std::vector<ParamSpec>& specs) const;
  bool getBool(const std::vector<ParamSpec>& specs, const std::string& name) const;
  std::int64_t getInt(const std::vector<ParamSpec>& specs, const std::string& name) const;
  std::string getString(const std::vector<ParamSpec>& specs, const std::string& name) const;
  std::vector<std::string> getList(const std::vector<ParamSpec>& specs, const std::string& name) const;
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::string raw(const std::vector<ParamSpec>& specs, const std::string& name) const;
  std::map<std::string, std::string> values_;
};

class SanitizerFactory {
 public:
  virtual ~SanitizerFactory() = default;
  /// Dotted lower case: "sanitizer.html_to_text".
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  virtual std::vector<ParamSpec> describe() const = 0;
  /// Validates `params` (unknown keys and out-of-range values are errors) and builds the shared,
  /// immutable sanitizer. On error returns nullptr and sets *error.
  virtual SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const = 0;
};

using SanitizerFactoryPtr = std::unique_ptr<SanitizerFactory>;

class Registry {
 public:
  /// Throws std::logic_error on a duplicate name.
  void add(SanitizerFactoryPtr factory);
  /// nullptr when unknown or disabled.
  const SanitizerFactory* find(std::string_view name) const;
  std::vector<std::string> names() const;
  /// Kill switch: a disabled name cannot be used by rules (load fails naming it).
  void disable(std::string_view name);
  bool disabled(std::string_view name) const;

 private:
  std::map<std::string, SanitizerFactoryPtr, std::less<>> factories_;
  std::set<std::string, std::less<>> disabled_;
};

/// The one explicit registration list (sanitizers/register_builtin.cpp).
void registerBuiltinSanitizers(Registry& registry);

}  // namespace mugai
