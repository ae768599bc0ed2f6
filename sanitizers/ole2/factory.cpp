#include "sanitizers/ole2/ole2.h"

namespace mugai::sanitizers::ole2 {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.ole2"; }
  std::string_view summary() const override {
    return "Rebuilds legacy Office compound files (doc/xls/ppt) without VBA projects, embedded "
           "OLE objects, ActiveX control state and signatures; refuses encrypted files.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"macros", ParamSpec::Kind::String, "strip", 0, 0,
         "strip: rebuild the file without its VBA project (PowerPoint's too) and its Excel 4.0 "
         "macro sheets; remove: a file with either is removed as a whole (content.active)."},
        {"max_storage_depth", ParamSpec::Kind::Int, "32", 2, 256,
         "Deepest storage nesting read; deeper: limit.archive_depth."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    std::string macros = params.getString(specs, "macros");
    if (macros != "strip" && macros != "remove") {
      *error = "macros: must be 'strip' or 'remove', not '" + macros + "'";
      return nullptr;
    }
    o.remove_on_macros = macros == "remove";
    o.max_storage_depth = static_cast<int>(params.getInt(specs, "max_storage_depth"));
    return std::make_shared<const Ole2Sanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::ole2
