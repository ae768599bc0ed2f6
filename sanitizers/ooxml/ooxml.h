/**
 * @file ooxml.h
 * @brief sanitizer.ooxml: Office Open XML packages (docx/xlsx/pptx and their macro/template
 *        variants) rebuilt without VBA, ActiveX, OLE objects, external links, custom UI, DDE,
 *        members nothing refers to and Excel formulas that fetch, link or run.
 *
 * Trust: the package is hostile: names, relationships, content types and XML all come from the
 *        sender. Relationship *types* decide what is active (a vbaProject renamed image1.png is
 *        still removed); names are a second net. Unknown relationship types go like active
 *        ones; pictures are sniffed and re-encoded (sanitizers/image); every XML part that stays
 *        is parsed by expat (no DTD).
 * Limits: the ZIP reader's limits (document_object_limit, expanded_size_limit,
 *         expansion_ratio_limit); every inflated byte and the output are charged to the budget;
 *         the deadline is checked per member.
 * Errors: unreadable, encrypted or over-limit packages fail closed with their reason; XML we
 *         must change but cannot read is parse.malformed; nothing throws out of apply().
 */
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::ooxml {

struct Options {
  bool keep_hyperlinks = true;  ///< external hyperlinks are visible text; keep them by default
};

class OoxmlSanitizer : public Sanitizer {
 public:
  explicit OoxmlSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.ooxml"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Outcome rebuild(const Part& part, MessageContext& ctx) const;
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::ooxml
