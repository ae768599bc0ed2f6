// sanitizer: drives any registered sanitizer by name (Envoy's uber filter fuzzer). Byte 0 picks
// the sanitizer among the registry's names, byte 1 the declared file name; the rest is the part.
// A new sanitizer is fuzzed here as soon as it is registered, with no new target to write.
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
  const std::string& name = names[in.byte() % names.size()];
  const char* filename = kNames[in.byte() % (sizeof kNames / sizeof kNames[0])];
  auto s = fuzz::defaultSanitizer(name);
  if (!s) fuzz::fail("a registered name has no sanitizer");
  fuzz::applySanitizer(*s, std::string(in.rest()), "application/octet-stream", filename);
  return 0;
}
