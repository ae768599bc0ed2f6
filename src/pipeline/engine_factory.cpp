// Assembles an Engine from a rules file (or the embedded defaults): registry, policy, scanner
// (made by the caller's ScannerMaker: libclamav here or in the scanner process), detector. Startup problems are configuration errors: reported, and the caller refuses to start.
#include "mugai/pipeline/pipeline.h"

namespace mugai {

std::unique_ptr<Engine> makeEngine(const std::string& rules_path, std::vector<std::string>& errors,
                                   const ScannerMaker& make_scanner) {
  static const Registry* registry = [] {
    auto* r = new Registry();
    registerBuiltinSanitizers(*r);
    return r;
  }();
  policy::PolicyConstSharedPtr pol =
      rules_path.empty()
          ? policy::loadPolicyText(policy::embeddedDefaultRules(), "(embedded defaults)",
                                   policy::embeddedRulesDir(), *registry, errors)
          : policy::loadPolicyFile(rules_path, *registry, errors);
  if (!pol) return nullptr;

  ClamavOptions opts;
  opts.signature_paths = pol->signature_paths;
  opts.include_system_db = pol->system_signatures;
  opts.limits = pol->limits;
  std::string err;
  std::shared_ptr<const Scanner> scanner = make_scanner(opts, &err);
  if (!scanner) {
    errors.push_back("scanner: " + err);
    return nullptr;
  }
  EngineServices services{pol, scanner, makeMagicTypeDetector()};
  return std::make_unique<Engine>(std::move(services));
}

}  // namespace mugai
