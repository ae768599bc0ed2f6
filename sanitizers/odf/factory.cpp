#include "sanitizers/odf/odf.h"

namespace mugai::sanitizers::odf {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.odf"; }
  std::string_view summary() const override {
    return "Rebuilds OpenDocument packages (odt/ods/odp/odg and templates) without Basic and "
           "script libraries, event listeners, macro links, OLE objects, applets, DDE links, "
           "external (linked) resources and members nothing refers to.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"keep_odf_objects", ParamSpec::Kind::Bool, "true", 0, 0,
         "Keep embedded OpenDocument objects (charts, formulas: 'Object N/' folders, their XML "
         "scrubbed like the main document); false removes them too (their picture stays)."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.keep_odf_objects = params.getBool(specs, "keep_odf_objects");
    return std::make_shared<const OdfSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::odf
