// sanitizer.calendar: iCalendar (RFC 5545, .ics/.vcs) and vCard (RFC 6350/2426/2.1, .vcf) files
// rebuilt with the event or contact and without what runs, plays or fetches.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/verdict.h"
#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::calendar {

struct Options {
  std::size_t line_limit = 1u << 20;  ///< bytes of one unfolded content line
  std::size_t property_limit = 20000;  ///< content lines in the whole file
  std::size_t depth_limit = 8;         ///< BEGIN/END nesting
  bool keep_web_links = true;          ///< keep URL properties with http(s) targets
};

/// One unfolded content line: [group.]NAME *(;param) : value.
struct ContentLine {
  std::string group;  ///< vCard "item1" of "item1.EMAIL", as written
  std::string name;   ///< upper case
  struct Param {
    std::string name;   ///< upper case; "" for a vCard 2.1 bare type ("TEL;WORK:...")
    std::string value;  ///< as written, quotes included
  };
  std::vector<Param> params;
  std::string value;  ///< raw value (escapes not undone)
  std::string raw;    ///< the physical lines it came from, joined with CRLF
  bool changed = false;

  const Param* param(std::string_view upper_name) const;
};

/// A component (BEGIN:X ... END:X): its own lines and sub-components, in order.
struct Component {
  std::string name;  ///< upper case
  ContentLine begin, end;
  struct Item {
    bool is_component = false;
    ContentLine line;
    std::size_t child = 0;  ///< index into children when is_component
  };
  std::vector<Item> items;
  std::vector<Component> children;
};

struct ParseResult {
  std::vector<Component> top;  ///< top-level components (one VCALENDAR, or one or more VCARDs)
  std::optional<Reason> failure;
  std::string detail;
};

/// Unfolds (RFC 5545 3.1 and vCard 2.1 quoted-printable soft breaks) and parses UTF-8 text into
/// components. Every limit is checked before the data it guards is kept; nothing is recursive
/// on input. Anything that is not a well-formed calendar or card fails (parse.malformed).
ParseResult parse(std::string_view utf8, const Options& options);

/// What the rebuild took out, for the report.
struct Removed {
  std::size_t attachments = 0, alarms = 0, html = 0, binaries = 0, keys = 0, links = 0;
  std::size_t components = 0, properties = 0, params = 0;
};

/// Filters the components in place (the policy in README.md) and writes them again: kept lines
/// as they came (CRLF), changed lines folded at 75 octets. `html_to_text` renders X-ALT-DESC.
std::string rebuild(std::vector<Component>& top, const Options& options, Removed& removed,
                    const Budget* budget);

class CalendarSanitizer : public Sanitizer {
 public:
  explicit CalendarSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.calendar"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::calendar
