#include "sanitizers/text_normalize/text_normalize.h"

namespace mugai::sanitizers::text_normalize {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.text_normalize"; }
  std::string_view summary() const override {
    return "Converts a text body to UTF-8 (declared or detected charset), LF line ends, no "
           "control or bidi override characters, folded long lines.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"line_limit", ParamSpec::Kind::Int, "100000", 78, 100000,
         "Fold lines longer than this many bytes (also capped by text_line_length_limit)."},
        {"keep_tabs", ParamSpec::Kind::Bool, "true", 0, 0, "Keep TAB characters."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.line_limit = static_cast<std::size_t>(params.getInt(specs, "line_limit"));
    o.keep_tabs = params.getBool(specs, "keep_tabs");
    return std::make_shared<const TextNormalizeSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::text_normalize
