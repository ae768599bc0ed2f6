// Internal: linear pre-scan bounding element count and nesting before Gumbo runs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/verdict.h"

namespace mugai::sanitizers::html_to_text {

struct PrescanResult {
  std::size_t start_tags = 0;
  std::size_t max_depth = 0;  ///< estimated; end tags only close what is open nearby
  std::optional<Reason> failure;
};

PrescanResult prescan(std::string_view html, std::size_t node_limit, std::size_t depth_limit);

}  // namespace mugai::sanitizers::html_to_text
