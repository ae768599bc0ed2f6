#include "sanitizers/clamav_scan/factory.h"

#include <memory>

#include "sanitizers/clamav_scan/clamav_scan.h"

namespace mugai::sanitizers::clamav_scan {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.clamav_scan"; }
  std::string_view summary() const override {
    return "Scans the part with ClamAV: a signature hit blocks the message, an incomplete scan "
           "(limit reached, encrypted content) quarantines it, a scanner failure defers it.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"stage", ParamSpec::Kind::String, "original", 0, 0,
         "What the scanned bytes are, for the report: original (as received) or output (after "
         "sanitizing)."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.stage = params.getString(specs, "stage");
    if (o.stage != "original" && o.stage != "output") {
      *error = "parameter 'stage' must be original or output, not '" + o.stage + "'";
      return nullptr;
    }
    return std::make_shared<const ClamavScanSanitizer>(std::move(o));
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::clamav_scan
