// Factory of sanitizer.clamav_scan (registered in sanitizers/register_builtin.cpp).
#pragma once

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::clamav_scan {

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::clamav_scan
