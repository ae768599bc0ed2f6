/**
 * @file ole2.h
 * @brief sanitizer.ole2: rebuilds legacy Office compound files (doc/xls/ppt and their templates)
 *        without VBA projects, embedded OLE objects, ActiveX state and signatures.
 *
 * Trust: the part's bytes are hostile; libgsf parses the compound file structure, we read the
 *        directory it built and copy the streams we keep into a fresh compound file.
 * Limits: document_object_limit (storages + streams), expanded_size_limit (sum of stream sizes),
 *         expansion_ratio_limit (stream bytes / file bytes: shared sector chains), a storage depth
 *         limit (parameter), the message budget charged before each stream is read, the deadline.
 * Errors: never throws out of apply(); unparseable -> parse.malformed, library failure ->
 *         cdr.failed, encryption -> content.encrypted, macros with macros=remove and PowerPoint
 *         embedded objects/VBA (which cannot be cut out) -> content.active.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::ole2 {

struct Options {
  bool remove_on_macros = false;  ///< macros: remove -> the whole file goes (content.active)
  int max_storage_depth = 32;     ///< deeper storages: limit.archive_depth
};

class Ole2Sanitizer : public Sanitizer {
 public:
  explicit Ole2Sanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.ole2"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

/// One entry of a compound file to write: "Macros/VBA/dir" (storages are implied by the path;
/// an entry with is_storage creates an empty storage). Used by tests and the bench to build
/// fixtures through the same writer (libgsf) the sanitizer uses.
struct CompoundEntry {
  std::string path;
  std::string data;
  bool is_storage = false;
};

/// Writes a compound file holding `entries` (in order). Returns "" on a libgsf error.
std::string writeCompoundFile(const std::vector<CompoundEntry>& entries);

/// One root stream of a compound file (tests read what the rebuild wrote); nullopt when the file
/// or the stream cannot be read. Not for hostile input outside tests (no directory pre-check).
std::optional<std::string> readCompoundStream(std::string_view file, const std::string& name);

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::ole2
