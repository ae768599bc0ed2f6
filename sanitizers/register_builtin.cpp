// The one explicit list of built-in sanitizers (OpenSMTPD table.c backends[] style).
// Adding a sanitizer: see sanitizers/README.md.
#include "mugai/sanitizer/registry.h"

namespace mugai {

void registerBuiltinSanitizers(Registry& registry) { (void)registry; }

}  // namespace mugai
