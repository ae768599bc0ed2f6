/**
 * @file odf.h
 * @brief sanitizer.odf: OpenDocument packages (odt/ods/odp/odg/odf and templates) rebuilt
 *        without Basic/script libraries, event listeners, macro links, OLE objects, applets,
 *        DDE/linked-sheet sources, external (linked) resources and members nothing refers to.
 *
 * Trust: the package is hostile (names, manifest, XML). What runs is decided by the XML
 *        (office:scripts, event listeners, macro URLs), so every content.xml, styles.xml and
 *        meta.xml is scanned, embedded sub-documents ("Object 1/content.xml") included. The
 *        manifest is not evidence that a member is used: only a reference from a kept part is.
 * Limits: the ZIP reader's limits (document_object_limit, expanded_size_limit,
 *         expansion_ratio_limit); inflated bytes and the output are charged to the budget; the
 *         deadline is checked per member; references are resolved in one pass per part and
 *         sub-documents are walked once each (linear in the input).
 * Errors: unreadable, encrypted (manifest:encryption-data or ZIP encryption) or over-limit
 *         packages fail closed with their reason; nothing throws out of apply().
 */
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/sanitizer/registry.h"

namespace mugai::zip {
class Archive;
}

namespace mugai::sanitizers::odf {

struct Options {
  bool keep_odf_objects = true;  ///< embedded ODF sub-documents (charts, formulas) stay, scrubbed
};

class OdfSanitizer : public Sanitizer {
 public:
  explicit OdfSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.odf"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Outcome rebuild(const Part& part, MessageContext& ctx) const;
  std::optional<Outcome> checkMembers(const zip::Archive& archive, std::vector<bool>& removed,
                                      std::map<std::size_t, std::string>& rewritten,
                                      std::vector<Finding>& findings, MessageContext& ctx) const;
  std::optional<Outcome> checkXml(const zip::Archive& archive, const std::vector<bool>& removed,
                                  const std::map<std::size_t, std::string>& rewritten,
                                  MessageContext& ctx) const;
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::odf
