#include "sanitizers/rtf/rtf.h"

namespace mugai::sanitizers::rtf {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.rtf"; }
  std::string_view summary() const override {
    return "Rebuilds RTF without embedded objects, DDE/INCLUDE/LINK fields (their shown result "
           "stays), data stores, attached templates and \\bin payloads outside pictures.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"max_input_bytes", ParamSpec::Kind::Int, "67108864", 1024, 1073741824,
         "Largest RTF file rebuilt; larger: cdr.failed."},
        {"max_depth", ParamSpec::Kind::Int, "256", 16, 10000,
         "Deepest group nesting ({...}); deeper: cdr.failed."},
        {"max_unclosed", ParamSpec::Kind::Int, "4", 0, 64,
         "Groups still open at the end of the file that are closed silently; more: cdr.failed."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.max_input_bytes = static_cast<std::uint64_t>(params.getInt(specs, "max_input_bytes"));
    o.max_depth = static_cast<int>(params.getInt(specs, "max_depth"));
    o.max_unclosed = static_cast<int>(params.getInt(specs, "max_unclosed"));
    return std::make_shared<const RtfSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::rtf
