// The one explicit list of built-in sanitizers (OpenSMTPD table.c backends[] style).
// Adding a sanitizer: see sanitizers/README.md.
#include "mugai/sanitizer/registry.h"
#include "sanitizers/clamav_scan/factory.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"
#include "sanitizers/html_to_text/factory.h"
#include "sanitizers/image/image.h"
#include "sanitizers/text_normalize/text_normalize.h"

namespace mugai {

void registerBuiltinSanitizers(Registry& registry) {
  registry.add(sanitizers::clamav_scan::makeFactory());
  registry.add(sanitizers::filename_sanitize::makeFactory());
  registry.add(sanitizers::html_to_text::makeFactory());
  registry.add(sanitizers::image::makeFactory());
  registry.add(sanitizers::text_normalize::makeFactory());
}

}  // namespace mugai
