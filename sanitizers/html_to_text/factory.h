#pragma once

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::html_to_text {

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::html_to_text
