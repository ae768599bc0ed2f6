/**
 * @file pdf.h
 * @brief sanitizer.pdf: rebuild a PDF without active content (qpdf), or flatten it to page images
 *        (poppler renders, qpdf writes).
 *
 * Trust: the PDF bytes are hostile: object graph, names, strings, stream data, xref, encryption.
 * Limits: document_object_limit on the object count (limit.document_objects), the message deadline
 *         between objects, pages and inside the writer (limit.time), the decoded-bytes budget for
 *         qpdf's in-memory model and for the output; flatten: flatten_max_pages and the sum of the
 *         rendered pixels of all pages against image_pixel_limit (limit.image_pixels).
 * Errors: apply() never throws. Needs a password: content.encrypted. qpdf or poppler throws, or the
 *         result has no pages: cdr.failed (fail closed).
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::pdf {

struct Options {
  enum class Mode { Rebuild, Flatten };
  Mode mode = Mode::Rebuild;
  bool remove_links = false;    ///< links: remove also drops /URI actions
  int flatten_dpi = 150;        ///< 36..300
  int flatten_max_pages = 200;  ///< more pages: limit.document_objects
};

/// Rebuild mode: qpdf parses (recovering what it can), every object is scrubbed, qpdf writes the
/// result with stream data and object streams as they were (no decoding, no recompression).
Outcome rebuildPdf(const Part& part, const Options& options, MessageContext& ctx);

/// Flatten mode: each page rendered by poppler at flatten_dpi, written as one JPEG per page into
/// a new image-only PDF (no fonts, no text, no annotations, nothing of the original objects).
Outcome flattenPdf(const Part& part, const Options& options, MessageContext& ctx);

class PdfSanitizer : public Sanitizer {
 public:
  explicit PdfSanitizer(Options options) : options_(options) {}
  std::string_view name() const override { return "sanitizer.pdf"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;
  /// Flatten mode renders text with the fonts a PDF names but does not embed, found through
  /// fontconfig, and CJK text with poppler-data's CMaps: a sandboxed worker may read those.
  std::vector<std::string> readOnlyPaths() const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::pdf
