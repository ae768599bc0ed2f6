// sanitizer: drives any registered sanitizer by name (Envoy's uber filter fuzzer). The input
// starts with the sanitizer's name and a NUL ("sanitizer.pdf\0"), or else byte 0 picks one in the
// registry's order; the next byte picks the declared file name; the rest is the part. A new
// sanitizer is fuzzed here as soon as it is registered, with no new target to write, and seeds
// name their sanitizer, so they keep meaning the same one when others are registered.
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"

using namespace mugai;

MUGAI_FUZZ_TARGET(sanitizer) {
  static const std::vector<std::string> names = fuzz::builtinRegistry().names();
  static const char* const kNames[] = {"", "a.pdf", "a.docx", "a.xlsm", "a.odt", "a.doc", "a.rtf",
                                       "a.zip", "a.png", "a.jpg", "a.txt", "a.html", "a.exe",
                                       "\xe2\x80\xaegpj.exe", "../../etc/passwd", "CON.txt"};
  fuzz::Input in(data, size);
  std::string name;
  std::string_view all = in.rest();
  if (std::size_t nul = all.substr(0, 64).find('\0');
      nul != std::string_view::npos && all.starts_with("sanitizer.")) {
    name = all.substr(0, nul);
    in = fuzz::Input(data + nul + 1, size - nul - 1);
    if (!fuzz::builtinRegistry().find(name)) return 0;  // a name since unregistered
  } else {
    name = names[in.byte() % names.size()];
  }
  const char* filename = kNames[in.byte() % (sizeof kNames / sizeof kNames[0])];
  auto s = fuzz::defaultSanitizer(name);
  if (!s) fuzz::fail("a registered name has no sanitizer");
  fuzz::applySanitizer(*s, std::string(in.rest()), "application/octet-stream", filename);
  return 0;
}
