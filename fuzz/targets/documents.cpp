// One target per document rebuilder, run as the engine runs it (fuzz/support.h applySanitizer:
// shipped limits, archive members kept as they are). The input is the file itself, so any
// document is a seed. Checked by applySanitizer: the Outcome keeps the Sanitizer contract.
#include <string>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"

using namespace mugai;

namespace {

void run(const char* sanitizer, const char* mime, const char* filename, const std::uint8_t* data,
         std::size_t size) {
  auto s = fuzz::defaultSanitizer(sanitizer);
  if (!s) fuzz::fail("sanitizer not registered");
  fuzz::applySanitizer(*s, std::string(reinterpret_cast<const char*>(data), size), mime, filename);
}

SanitizerConstSharedPtr withParams(const char* name, SanitizerParams params) {
  std::string error;
  auto s = fuzz::builtinRegistry().find(name)->create(params, &error);
  if (!s) fuzz::fail("parameters refused");
  return s;
}

}  // namespace

MUGAI_FUZZ_TARGET(ooxml) {
  run("sanitizer.ooxml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "fuzz.docx", data, size);
  return 0;
}

MUGAI_FUZZ_TARGET(odf) {
  run("sanitizer.odf", "application/vnd.oasis.opendocument.text", "fuzz.odt", data, size);
  return 0;
}

MUGAI_FUZZ_TARGET(ole2) {
  run("sanitizer.ole2", "application/msword", "fuzz.doc", data, size);
  return 0;
}

MUGAI_FUZZ_TARGET(rtf) {
  run("sanitizer.rtf", "text/rtf", "fuzz.rtf", data, size);
  return 0;
}

MUGAI_FUZZ_TARGET(pdf) {
  run("sanitizer.pdf", "application/pdf", "fuzz.pdf", data, size);
  return 0;
}

/// Flatten mode (poppler renders every page), at the lowest resolution to keep runs short.
MUGAI_FUZZ_TARGET(pdf_flatten) {
  static const auto s = withParams("sanitizer.pdf", {{"mode", "flatten"}, {"flatten_dpi", "36"}});
  fuzz::applySanitizer(*s, std::string(reinterpret_cast<const char*>(data), size), "application/pdf",
                       "fuzz.pdf");
  return 0;
}

MUGAI_FUZZ_TARGET(archive) {
  run("sanitizer.archive", "application/zip", "fuzz.zip", data, size);
  return 0;
}
