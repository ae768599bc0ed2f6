#include "sanitizers/calendar/calendar.h"

namespace mugai::sanitizers::calendar {
namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.calendar"; }
  std::string_view summary() const override {
    return "Rebuilds iCalendar and vCard files with the event or contact, without attachments, "
           "alarms that run or play things, HTML descriptions, pictures, sounds and keys.";
  }
  std::vector<ParamSpec> describe() const override {
    return {
        {"line_limit", ParamSpec::Kind::Int, "1048576", 1024, 16777216,
         "Bytes of one unfolded content line; a longer one refuses the file (limit.document_objects)."},
        {"property_limit", ParamSpec::Kind::Int, "20000", 16, 1000000,
         "Content lines in one file; more refuses the file (limit.document_objects)."},
        {"depth_limit", ParamSpec::Kind::Int, "8", 2, 64,
         "BEGIN/END nesting; deeper refuses the file (limit.document_objects)."},
        {"keep_web_links", ParamSpec::Kind::Bool, "true", 0, 0,
         "Keep URL properties whose target is http(s) (other targets are always removed)."},
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
    o.property_limit = static_cast<std::size_t>(params.getInt(specs, "property_limit"));
    o.depth_limit = static_cast<std::size_t>(params.getInt(specs, "depth_limit"));
    o.keep_web_links = params.getBool(specs, "keep_web_links");
    return std::make_shared<const CalendarSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::calendar
