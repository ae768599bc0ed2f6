/**
 * @file untrusted.h
 * @brief Untrusted<T>: a value the sender controls (declared type, file name, charset, header text).
 *
 * Trust: the wrapped value is attacker-controlled.
 * Limits: none by itself; validators bound what they return.
 * Errors: none.
 *
 * The raw value can be read only through unverifiedValue(), so that review can grep every place
 * where sender-controlled data is used without validation (Dangerzone's untrusted_ prefix).
 */
#pragma once

#include <utility>

namespace mugai {

template <typename T>
class Untrusted {
 public:
  Untrusted() = default;
  explicit Untrusted(T value) : value_(std::move(value)) {}
  /// The raw sender-controlled value. Escape it before logging, never route on it.
  const T& unverifiedValue() const { return value_; }

 private:
  T value_{};
};

}  // namespace mugai
