/**
 * @file metrics.h
 * @brief A small metrics registry (counters, gauges, fixed-bucket histograms, labels) and the
 *        Prometheus text exposition format (version 0.0.4).
 *
 * Trust: metric and label names are ours (checked when registered: a bad one is a programming
 *        error and throws std::invalid_argument at start-up). Label *values* must come from
 *        closed sets (verdict words, reason names, ingress kinds), never from sender text; they
 *        are escaped anyway (\\, \", \n) so that no value can break the exposition.
 * Limits: a family keeps at most kMaxChildren label combinations; further ones are counted in
 *         one child whose label values are all "other" (a bug elsewhere cannot grow memory).
 * Threading: updates are lock-free atomics; finding a labelled child takes a shared lock (an
 *            exclusive one only the first time a combination is seen). Callback gauges are
 *            called at scrape time, under the registry's collector lock.
 * Errors: none at run time.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace mugai::obs {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

/// Fixed upper bounds (ascending, finite); the +Inf bucket is implied.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  ///< per bucket, +Inf last; not cumulative
  std::atomic<double> sum_{0};
};

/// Formats a sample value as Prometheus reads it: integers without a point, "+Inf", "NaN".
std::string formatValue(double v);
/// A label value escaped for the exposition: \\ \" \n.
std::string escapeLabelValue(const std::string& v);

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::string type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  /// Appends "# HELP", "# TYPE" and every sample.
  void write(std::string& out) const;

  static constexpr std::size_t kMaxChildren = 1000;

 protected:
  /// `{a="x",b="y"}` (or "" without labels), `extra` appended inside the braces.
  std::string labelText(const std::vector<std::string>& values, const std::string& extra) const;
  virtual void writeSamples(std::string& out) const = 0;

  std::string name_, help_, type_;
  std::vector<std::string> label_names_;
};

template <class M>
class Family : public FamilyBase {
 public:
  using Maker = std::function<std::unique_ptr<M>()>;
  Family(std::string name, std::string help, std::string type, std::vector<std::string> labels,
         Maker make)
      : FamilyBase(std::move(name), std::move(help), std::move(type), std::move(labels)),
        make_(std::move(make)) {}

  /// The child for these label values (as many as the family has label names).
  M& with(const std::vector<std::string>& values) {
    {
      std::shared_lock<std::shared_mutex> lock(m_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    std::unique_lock<std::shared_mutex> lock(m_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
    std::vector<std::string> key = values;
    key.resize(label_names_.size());
    if (children_.size() >= kMaxChildren || values.size() != label_names_.size()) {
      key.assign(label_names_.size(), "other");
      it = children_.find(key);
      if (it != children_.end()) return *it->second;
    }
    return *children_.emplace(key, make_()).first->second;
  }
  M& get() { return with({}); }

 protected:
  void writeSamples(std::string& out) const override;

 private:
  Maker make_;
  mutable std::shared_mutex m_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;  // guarded by m_
};

template <>
void Family<Counter>::writeSamples(std::string& out) const;
template <>
void Family<Gauge>::writeSamples(std::string& out) const;
template <>
void Family<Histogram>::writeSamples(std::string& out) const;

/// Unregisters its callback gauge when destroyed (before what the callback reads goes away).
class CallbackHandle {
 public:
  CallbackHandle() = default;
  explicit CallbackHandle(std::function<void()> release) : release_(std::move(release)) {}
  CallbackHandle(CallbackHandle&& o) noexcept : release_(std::move(o.release_)) { o.release_ = {}; }
  CallbackHandle& operator=(CallbackHandle&& o) noexcept;
  CallbackHandle(const CallbackHandle&) = delete;
  CallbackHandle& operator=(const CallbackHandle&) = delete;
  ~CallbackHandle();

 private:
  std::function<void()> release_;
};

class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> labels, std::vector<double> bounds);
  /// A gauge read at scrape time; nullopt leaves it out of that scrape. Name and help as above;
  /// one callback per name (a second one for the same name replaces the first).
  CallbackHandle callbackGauge(const std::string& name, const std::string& help,
                               std::function<std::optional<double>()> read);
  /// The same for a counter another object keeps (its name ends in _total).
  CallbackHandle callbackCounter(const std::string& name, const std::string& help,
                                 std::function<std::optional<double>()> read);
  /// The whole registry in the text exposition format (families in registration order).
  std::string expose() const;

 private:
  CallbackHandle callback(const std::string& name, const std::string& help, const char* type,
                          std::function<std::optional<double>()> read);
  struct Callback {
    std::string name, help;
    const char* type = "gauge";
    std::function<std::optional<double>()> read;
    std::uint64_t serial = 0;
  };
  void add(std::unique_ptr<FamilyBase> f);

  mutable std::mutex m_;
  std::vector<std::unique_ptr<FamilyBase>> families_;  // guarded by m_
  std::vector<Callback> callbacks_;                    // guarded by m_
  std::uint64_t serial_ = 0;                           // guarded by m_
};

/// True for a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) / label name ([a-zA-Z_][a-zA-Z0-9_]*,
/// not starting with "__").
bool validMetricName(const std::string& s);
bool validLabelName(const std::string& s);

}  // namespace mugai::obs
