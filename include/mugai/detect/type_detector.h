/**
 * @file type_detector.h
 * @brief TypeDetector port: the true type of some bytes (libmagic behind it).
 *
 * Trust: input bytes are hostile.
 * Limits: the adapter never decompresses (no MAGIC_COMPRESS) and bounds libmagic via magic_setparam.
 * Errors: never throws; an engine failure yields {"application/octet-stream", "<error text>"},
 *         which routes to the most restrictive default.
 */
#pragma once

#include <memory>
#include <string_view>

#include "mugai/core/part.h"

namespace mugai {

class TypeDetector {
 public:
  virtual ~TypeDetector() = default;
  /// Thread-safe. @return the detected MIME type (lower case) and description.
  virtual TypeInfo detect(std::string_view data) const = 0;
};

/// The libmagic adapter (src/detect/). One magic cookie per thread, created on first use.
std::shared_ptr<const TypeDetector> makeMagicTypeDetector();

}  // namespace mugai
