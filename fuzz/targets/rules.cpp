// rules_loader: the security team's rules (YAML) through the loader and validator
// (src/policy). The rules are trusted configuration, but a typo must give an error, never a
// crash; and a file that loads must route every type without surprises. Relative signature paths
// resolve against a folder that does not exist.
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/policy/policy.h"

using namespace mugai;

MUGAI_FUZZ_TARGET(rules_loader) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  auto policy = policy::loadPolicyText(text, "fuzz.yaml", "/nonexistent/mugai-fuzz", fuzz::builtinRegistry(), errors);
  if (!policy) {
    if (errors.empty()) fuzz::fail("refused rules without an error");
    return 0;
  }
  for (const char* mime : {"application/pdf", "text/plain", "text/html", "application/zip",
                           "image/png", "application/octet-stream", "application/x-dosexec"})
    (void)policy->route(mime);
  for (const char* p : {"*", "image/*", "application/pdf", "text*"}) (void)policy::mimeMatches(p, "image/png");
  return 0;
}
