#include "sanitizers/ooxml/ooxml.h"

namespace mugai::sanitizers::ooxml {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.ooxml"; }
  std::string_view summary() const override {
    return "Rebuilds Office Open XML packages (docx/xlsx/pptx, macro-enabled and template "
           "variants) "
           "without VBA, ActiveX, embedded OLE objects, external links, custom UI, DDE fields, "
           "members nothing refers to and Excel formulas that fetch, link or run; "
           "macro-enabled types become their plain type.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"hyperlinks", ParamSpec::Kind::String, "keep", 0, 0,
         "keep: external hyperlinks stay (their URL is visible text); remove: the link is taken "
         "off, the text stays."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    std::string h = params.getString(specs, "hyperlinks");
    if (h != "keep" && h != "remove") {
      *error = "hyperlinks: must be keep or remove, not '" + h + "'";
      return nullptr;
    }
    Options o;
    o.keep_hyperlinks = h == "keep";
    return std::make_shared<const OoxmlSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::ooxml
