#include "sanitizers/clamav_scan/clamav_scan.h"

#include <string>

namespace mugai::sanitizers::clamav_scan {
namespace {

constexpr std::string_view kEncryptedPrefix = "Heuristics.Encrypted.";

/// libclamav's macro heuristic (CL_SCAN_HEURISTIC_MACROS): "this document carries a VBA/XLM
/// project", not "this is malware". It becomes content.active, which the pipeline lets through
/// to a rebuilder (and nowhere else) and requires gone from the rebuilt output.
bool isMacroHeuristic(std::string_view signature) {
  return signature.rfind("Heuristics.", 0) == 0 && signature.find("Macros") != std::string_view::npos;
}

/// Signature names come from our databases and libclamav, but keep reports plain anyway.
std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
  }
  return out;
}

}  // namespace

Outcome outcomeFor(const ScanResult& result, std::string_view stage) {
  const std::string signature = printable(result.signature);
  switch (result.status) {
    case ScanResult::Status::Clean: {
      Outcome o = Outcome::keep();
      o.findings.push_back({"av", "clean"});
      if (result.cached) o.findings.push_back({"scan", "cached"});
      return o;
    }
    case ScanResult::Status::Infected: {
      if (isMacroHeuristic(signature)) {
        Outcome o = Outcome::fail(Reason::ContentActive, "signature " + signature);
        o.findings.push_back({"av", "macros"});
        return o;
      }
      Outcome o = Outcome::fail(Reason::AvInfected, "signature " + signature);
      o.detections.push_back({signature, std::string(stage)});
      o.findings.push_back({"av", "infected"});
      if (result.cached) o.findings.push_back({"scan", "cached"});
      return o;
    }
    case ScanResult::Status::Incomplete: {
      const bool encrypted = signature.compare(0, kEncryptedPrefix.size(), kEncryptedPrefix) == 0;
      Outcome o =
          Outcome::fail(encrypted ? Reason::ContentEncrypted : Reason::AvIncomplete,
                        signature + (result.detail.empty() ? "" : ": ") + printable(result.detail));
      o.findings.push_back({"av", "incomplete"});
      o.findings.push_back({"av_incomplete", signature});
      return o;
    }
    case ScanResult::Status::Error:
      break;
  }
  Outcome o = Outcome::fail(Reason::AvError, printable(result.detail));
  o.findings.push_back({"av", "error"});
  return o;
}

Outcome ClamavScanSanitizer::apply(const Part& part, MessageContext& ctx) const {
  if (ctx.scanner == nullptr) return Outcome::fail(Reason::AvError, "no scanner");
  if (auto reason = ctx.budget.checkDeadline()) return Outcome::fail(*reason);
  // The tree path is ours; the sender's file name never reaches the engine.
  return outcomeFor(ctx.scanner->scan(part.data, part.path), options_.stage);
}

}  // namespace mugai::sanitizers::clamav_scan
