// The one explicit list of built-in sanitizers (OpenSMTPD table.c backends[] style).
// Adding a sanitizer: see sanitizers/README.md.
#include "mugai/sanitizer/registry.h"
#include "sanitizers/archive/archive.h"
#include "sanitizers/calendar/calendar.h"
#include "sanitizers/clamav_scan/factory.h"
#include "sanitizers/csv/csv.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"
#include "sanitizers/html_to_text/factory.h"
#include "sanitizers/image/image.h"
#include "sanitizers/odf/odf.h"
#include "sanitizers/ole2/ole2.h"
#include "sanitizers/ooxml/ooxml.h"
#include "sanitizers/pdf/pdf.h"
#include "sanitizers/rtf/rtf.h"
#include "sanitizers/text_normalize/text_normalize.h"

namespace mugai {

void registerBuiltinSanitizers(Registry& registry) {
  registry.add(sanitizers::archive::makeFactory());
  registry.add(sanitizers::calendar::makeFactory());
  registry.add(sanitizers::clamav_scan::makeFactory());
  registry.add(sanitizers::csv::makeFactory());
  registry.add(sanitizers::filename_sanitize::makeFactory());
  registry.add(sanitizers::html_to_text::makeFactory());
  registry.add(sanitizers::image::makeFactory());
  registry.add(sanitizers::odf::makeFactory());
  registry.add(sanitizers::ole2::makeFactory());
  registry.add(sanitizers::ooxml::makeFactory());
  registry.add(sanitizers::pdf::makeFactory());
  registry.add(sanitizers::rtf::makeFactory());
  registry.add(sanitizers::text_normalize::makeFactory());
}

}  // namespace mugai
