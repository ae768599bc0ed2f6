#include "mugai/text/charset.h"
#include "sanitizers/archive/archive.h"

namespace mugai::sanitizers::archive {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.archive"; }
  std::string_view summary() const override {
    return "Unpacks ZIP, 7z, RAR, LZH, CAB, tar and gz/bz2/xz through libarchive within the "
           "archive limits, sends every member through the rules, and repacks what is kept as a "
           "ZIP with safe UTF-8 names. Encrypted archives are refused (content.encrypted).";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"name_charset", ParamSpec::Kind::String, "CP932", 0, 0,
         "Charset of member names that are not UTF-8 (ZIP without the UTF-8 flag, LZH): CP932 "
         "for Japanese Windows tools."},
        {"compression_level", ParamSpec::Kind::Int, "1", 0, 9,
         "Deflate level of the repacked ZIP (0 stores, 1 fastest, 9 is smallest and slowest)."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.name_charset = text::canonicalCharset(params.getString(specs, "name_charset"));
    if (o.name_charset.empty()) {
      *error = "name_charset: unknown charset '" + params.getString(specs, "name_charset") + "'";
      return nullptr;
    }
    o.compression_level = static_cast<int>(params.getInt(specs, "compression_level"));
    return std::make_shared<const ArchiveSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::archive
