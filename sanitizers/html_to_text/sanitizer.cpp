#include "mugai/text/charset.h"
#include "sanitizers/html_to_text/factory.h"
#include "sanitizers/html_to_text/html_to_text.h"

namespace mugai::sanitizers::html_to_text {

Outcome HtmlToTextSanitizer::apply(const Part& part, MessageContext& ctx) const {
  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  Options o = options_;
  o.input_limit = ctx.limits.html_input_limit;
  o.node_limit = ctx.limits.html_node_limit;
  o.depth_limit = ctx.limits.html_depth_limit;
  o.attribute_limit = ctx.limits.html_attribute_limit;
  o.line_length_limit = ctx.limits.text_line_length_limit;
  o.budget = &ctx.budget;
  std::string label = part.charset.unverifiedValue();
  if (label.empty()) label = sniffMetaCharset(part.data);
  text::DecodeResult decoded = text::toUtf8(part.data, label);
  Result r = htmlToText(decoded.utf8, o);
  if (r.failure) return Outcome::fail(*r.failure, r.detail);
  Part next = replacedPart(part, std::move(r.text));
  next.output_type = "text/plain";
  next.charset = Untrusted<std::string>("utf-8");
  // The file name stays as declared: the pipeline's outputName() appends ".txt" for text/plain.
  Outcome out = Outcome::replace(std::move(next), Reason::HtmlConverted);
  out.findings.push_back({"charset", decoded.charset});
  if (decoded.guessed) out.findings.push_back({"charset_guessed", "true"});
  out.findings.push_back({"links", std::to_string(r.links)});
  if (r.links_removed) out.findings.push_back({"links_removed", std::to_string(r.links_removed)});
  if (r.links_differing) out.findings.push_back({"links_differing", std::to_string(r.links_differing)});
  if (r.links_mixed_scripts) out.findings.push_back({"links_mixed_scripts", std::to_string(r.links_mixed_scripts)});
  out.findings.push_back({"images_removed", std::to_string(r.images)});
  out.findings.push_back({"elements_removed", std::to_string(r.removed_elements)});
  if (r.hidden_text > 0) {
    out.findings.push_back({"removed_hidden_text", std::to_string(r.hidden_text) + " (" + r.hidden_why + ")"});
  }
  return out;
}

namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.html_to_text"; }
  std::string_view summary() const override {
    return "Renders HTML as UTF-8 plain text (Gumbo): visible text in reading order, links as "
           "'text <URL>', images as their alt text; scripts, styles, comments, forms, embedded "
           "objects and remote content dropped.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"show_links", ParamSpec::Kind::Bool, "true", 0, 0,
         "Show link targets as 'text <URL>', resolved as a browser does (other schemes as removed)."},
        {"show_image_alt", ParamSpec::Kind::Bool, "true", 0, 0, "Show images as [alt text]."},
    };
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.show_links = params.getBool(specs, "show_links");
    o.show_image_alt = params.getBool(specs, "show_image_alt");
    return std::make_shared<const HtmlToTextSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::html_to_text
