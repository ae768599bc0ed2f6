#include "mugai/obs/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace mugai::obs {

bool validMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool validLabelName(const std::string& s) {
  return validMetricName(s) && s.find(':') == std::string::npos && s.rfind("__", 0) != 0;
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, r.ptr);
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back the same
  return std::string(buf, r.ptr);
}

std::string escapeLabelValue(const std::string& v) {
  std::string o;
  o.reserve(v.size());
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

/// HELP text escaping: \\ and \n (the exposition format's rule for docstrings).
static std::string escapeHelp(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

Histogram::Histogram(const std::vector<double>& bounds) : bounds_(bounds) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end() ||
      std::any_of(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); })) {
    throw std::invalid_argument("histogram bounds must be finite, ascending and distinct");
  }
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  // `le` is inclusive: the first bound not below v.
  std::size_t i = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

FamilyBase::FamilyBase(std::string name, std::string help, std::string type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(std::move(type)),
      label_names_(std::move(label_names)) {
  if (!validMetricName(name_)) throw std::invalid_argument("bad metric name: " + name_);
  for (const auto& l : label_names_) {
    if (!validLabelName(l) || l == "le") throw std::invalid_argument("bad label name: " + l);
  }
}

void FamilyBase::write(std::string& out) const {
  out += "# HELP " + name_ + " " + escapeHelp(help_) + "\n";
  out += "# TYPE " + name_ + " " + type_ + "\n";
  writeSamples(out);
}

std::string FamilyBase::labelText(const std::vector<std::string>& values,
                                  const std::string& extra) const {
  std::string o;
  for (std::size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
    if (!o.empty()) o += ",";
    o += label_names_[i] + "=\"" + escapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) o += (o.empty() ? "" : ",") + extra;
  return o.empty() ? "" : "{" + o + "}";
}

template <>
void Family<Counter>::writeSamples(std::string& out) const {
  std::shared_lock<std::shared_mutex> lock(m_);
  for (const auto& [labels, c] : children_) {
    out += name_ + labelText(labels, "") + " " + formatValue(static_cast<double>(c->value())) + "\n";
  }
}

template <>
void Family<Gauge>::writeSamples(std::string& out) const {
  std::shared_lock<std::shared_mutex> lock(m_);
  for (const auto& [labels, g] : children_) {
    out += name_ + labelText(labels, "") + " " + formatValue(g->value()) + "\n";
  }
}

template <>
void Family<Histogram>::writeSamples(std::string& out) const {
  std::shared_lock<std::shared_mutex> lock(m_);
  for (const auto& [labels, h] : children_) {
    Histogram::Snapshot s = h->snapshot();
    for (std::size_t i = 0; i <= s.bounds.size(); ++i) {
      std::string le = i < s.bounds.size() ? formatValue(s.bounds[i]) : "+Inf";
      out += name_ + "_bucket" + labelText(labels, "le=\"" + le + "\"") + " " +
             formatValue(static_cast<double>(s.cumulative[i])) + "\n";
    }
    out += name_ + "_sum" + labelText(labels, "") + " " + formatValue(s.sum) + "\n";
    out += name_ + "_count" + labelText(labels, "") + " " +
           formatValue(static_cast<double>(s.count)) + "\n";
  }
}

CallbackHandle& CallbackHandle::operator=(CallbackHandle&& o) noexcept {
  if (this != &o) {
    if (release_) release_();
    release_ = std::move(o.release_);
    o.release_ = {};
  }
  return *this;
}

CallbackHandle::~CallbackHandle() {
  if (release_) release_();
}

void Registry::add(std::unique_ptr<FamilyBase> f) {
  std::lock_guard<std::mutex> lock(m_);
  for (const auto& have : families_) {
    if (have->name() == f->name()) throw std::invalid_argument("metric registered twice: " + f->name());
  }
  families_.push_back(std::move(f));
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels) {
  auto f = std::make_unique<Family<Counter>>(name, help, "counter", std::move(labels),
                                             [] { return std::make_unique<Counter>(); });
  auto* p = f.get();
  add(std::move(f));
  return *p;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> labels) {
  auto f = std::make_unique<Family<Gauge>>(name, help, "gauge", std::move(labels),
                                           [] { return std::make_unique<Gauge>(); });
  auto* p = f.get();
  add(std::move(f));
  return *p;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, std::vector<double> bounds) {
  Histogram probe(bounds);  // the bounds are checked now, not at the first observation
  auto f = std::make_unique<Family<Histogram>>(
      name, help, "histogram", std::move(labels),
      [bounds] { return std::make_unique<Histogram>(bounds); });
  auto* p = f.get();
  add(std::move(f));
  return *p;
}

CallbackHandle Registry::callbackGauge(const std::string& name, const std::string& help,
                                       std::function<std::optional<double>()> read) {
  return callback(name, help, "gauge", std::move(read));
}

CallbackHandle Registry::callbackCounter(const std::string& name, const std::string& help,
                                         std::function<std::optional<double>()> read) {
  return callback(name, help, "counter", std::move(read));
}

CallbackHandle Registry::callback(const std::string& name, const std::string& help,
                                  const char* type, std::function<std::optional<double>()> read) {
  if (!validMetricName(name)) throw std::invalid_argument("bad metric name: " + name);
  std::lock_guard<std::mutex> lock(m_);
  std::uint64_t serial = ++serial_;
  auto it = std::find_if(callbacks_.begin(), callbacks_.end(),
                         [&](const Callback& c) { return c.name == name; });
  if (it != callbacks_.end()) {
    *it = Callback{name, help, type, std::move(read), serial};
  } else {
    callbacks_.push_back(Callback{name, help, type, std::move(read), serial});
  }
  return CallbackHandle([this, name, serial] {
    std::lock_guard<std::mutex> l(m_);
    callbacks_.erase(std::remove_if(callbacks_.begin(), callbacks_.end(),
                                    [&](const Callback& c) {
                                      return c.name == name && c.serial == serial;
                                    }),
                     callbacks_.end());
  });
}

std::string Registry::expose() const {
  std::string out;
  std::lock_guard<std::mutex> lock(m_);
  for (const auto& f : families_) f->write(out);
  for (const auto& c : callbacks_) {
    std::optional<double> v;
    try {
      v = c.read();
    } catch (...) {
      v.reset();  // a source that fails this time is left out of this scrape
    }
    if (!v) continue;
    out += "# HELP " + c.name + " " + escapeHelp(c.help) + "\n# TYPE " + c.name + " " + c.type +
           "\n" +
           c.name + " " + formatValue(*v) + "\n";
  }
  return out;
}

}  // namespace mugai::obs
