#include "sanitizers/filename_sanitize/filename_sanitize.h"

namespace mugai::sanitizers::filename_sanitize {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.filename_sanitize"; }
  std::string_view summary() const override {
    return "Makes attachment file names safe: no control or bidi characters, no path or "
           "Windows-reserved characters or device names, bounded length.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"max_bytes", ParamSpec::Kind::Int, "200", 16, 255, "Longest name in UTF-8 bytes."},
        {"fallback", ParamSpec::Kind::String, "attachment", 0, 0,
         "Name used when nothing usable is left."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.max_bytes = static_cast<std::size_t>(params.getInt(specs, "max_bytes"));
    o.fallback = sanitizeFilename(params.getString(specs, "fallback"), {});
    return std::make_shared<const FilenameSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::filename_sanitize
