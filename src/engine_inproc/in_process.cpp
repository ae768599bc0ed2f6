// makeEngine() with libclamav linked into this process (tests, benchmarks). The mugai executable
// uses the scanner process instead (src/scanclient) and never links this module.
#include "mugai/pipeline/pipeline.h"

namespace mugai {

std::unique_ptr<Engine> makeEngine(const std::string& rules_path, std::vector<std::string>& errors) {
  return makeEngine(rules_path, errors, [](const ClamavOptions& o, std::string* error) {
    return makeClamavScanner(o, error);
  });
}

}  // namespace mugai
