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
  std::size_t max_depth = 0;
  std::size_t max_attributes = 0;  ///< most attributes seen on one element  ///< estimated; end tags only close what is open nearby
  std::optional<Reason> failure;
};

/// `attribute_limit`: most attributes on one element (Gumbo checks each new attribute against all
/// earlier ones: 100,000 distinct attributes on one element took 40 s); over it: limit.html_nodes.
PrescanResult prescan(std::string_view html, std::size_t node_limit, std::size_t depth_limit,
                      std::size_t attribute_limit = 1000);

}  // namespace mugai::sanitizers::html_to_text
