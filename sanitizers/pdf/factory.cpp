// Factory of sanitizer.pdf (registered in sanitizers/register_builtin.cpp).
#include "sanitizers/pdf/pdf.h"

namespace mugai::sanitizers::pdf {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.pdf"; }
  std::string_view summary() const override {
    return "Rebuilds a PDF with qpdf without JavaScript, automatic/additional actions, launch/"
           "submit/import/remote actions, embedded files, rich media, 3D and XFA; or flattens "
           "every page to an image (mode: flatten).";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"mode", ParamSpec::Kind::String, "rebuild", 0, 0,
         "rebuild: keep pages, text, fonts and images, remove active content. flatten: render each "
         "page to an image and deliver an image-only PDF (no text layer)."},
        {"links", ParamSpec::Kind::String, "keep", 0, 0,
         "keep: web links (/URI actions) stay clickable. remove: /URI actions are removed too."},
        {"flatten_dpi", ParamSpec::Kind::Int, "150", 36, 300,
         "Resolution of the page images in flatten mode."},
        {"flatten_max_pages", ParamSpec::Kind::Int, "200", 1, 10000,
         "Most pages flattened; a longer document is refused (limit.document_objects)."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    std::string mode = params.getString(specs, "mode");
    if (mode == "rebuild") {
      o.mode = Options::Mode::Rebuild;
    } else if (mode == "flatten") {
      o.mode = Options::Mode::Flatten;
    } else {
      *error = "parameter 'mode' must be rebuild or flatten";
      return nullptr;
    }
    std::string links = params.getString(specs, "links");
    if (links != "keep" && links != "remove") {
      *error = "parameter 'links' must be keep or remove";
      return nullptr;
    }
    o.remove_links = links == "remove";
    o.flatten_dpi = static_cast<int>(params.getInt(specs, "flatten_dpi"));
    o.flatten_max_pages = static_cast<int>(params.getInt(specs, "flatten_max_pages"));
    return std::make_shared<const PdfSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

std::vector<std::string> PdfSanitizer::readOnlyPaths() const {
  if (options_.mode != Options::Mode::Flatten) return {};  // qpdf never opens a file
  // fontconfig's configuration (/etc/fonts/conf.d links into /usr/share/fontconfig: without
  // them Helvetica is not mapped to a sans font) and cache, the system's fonts, poppler-data
  // (CMaps, e.g. Adobe-Japan1 for Japanese text whose font is not embedded).
  return {"/etc/fonts",       "/usr/share/fontconfig",  "/usr/share/fonts",
          "/usr/local/share/fonts", "/var/cache/fontconfig", "/usr/share/poppler"};
}

Outcome PdfSanitizer::apply(const Part& part, MessageContext& ctx) const {
  // Both paths catch everything themselves; this is the last guard of "apply() never throws".
  try {
    return options_.mode == Options::Mode::Flatten ? flattenPdf(part, options_, ctx)
                                                   : rebuildPdf(part, options_, ctx);
  } catch (...) {
    return Outcome::fail(Reason::CdrFailed, "pdf: unexpected error");
  }
}

}  // namespace mugai::sanitizers::pdf
