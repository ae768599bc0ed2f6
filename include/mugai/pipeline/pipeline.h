/**
 * @file pipeline.h
 * @brief The engine: one message (or file) in, one harmless message (or file) out, plus a report.
 *
 * Trust: the raw bytes and everything in them are hostile; the envelope is trusted only as far as
 *        the ingress that built it (SMTP session, file-drop folder).
 * Limits: every Limits field applies (message size, MIME structure, decoded bytes, HTML, scan
 *         limits, and sanitizer_deadline_ms for the whole item).
 * Errors: process*() never throw. An exception from any sanitizer or library is caught around
 *         each step and becomes internal.error -> TempFail for the item (never a pass).
 *
 * The Engine is immutable and shared by all worker threads: policy, sanitizer instances, scanner
 * and detector are const. Per-item state lives on the stack of process*().
 */
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/detect/type_detector.h"
#include "mugai/pipeline/item_processor.h"
#include "mugai/pipeline/report.h"
#include "mugai/policy/policy.h"
#include "mugai/scan/scanner.h"

namespace mugai {
namespace pipeline {
struct BuiltMessage;
}

struct EngineServices {
  policy::PolicyConstSharedPtr policy;
  std::shared_ptr<const Scanner> scanner;  ///< null disables scanning (tests only)
  std::shared_ptr<const TypeDetector> detector;
};

/// The in-process ItemProcessor: `mugai mail`/`mugai file`, tests, and the code that runs inside
/// each sandboxed worker (src/isolation).
class Engine final : public ItemProcessor {
 public:
  explicit Engine(EngineServices services);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  ProcessResult processMessage(std::string_view raw, const Envelope& envelope,
                               const std::string& id) const override;
  ProcessResult processFile(std::string_view data, const std::string& untrusted_filename,
                            const std::string& id) const override;
  const policy::Policy& policy() const override { return *services_.policy; }
  const EngineServices& services() const { return services_; }

 private:
  void scanDelivered(ProcessResult& r, const pipeline::BuiltMessage& built,
                     const policy::Policy& pol, const policy::Override* ov,
                     const std::string& console_url) const;

  EngineServices services_;
};

/// Makes the scanner for the policy's signature options: makeClamavScanner (libclamav in this
/// process: tests, benchmarks) or scanclient::makeRemoteScanner (the scanner process: mugai).
using ScannerMaker =
    std::function<std::shared_ptr<const Scanner>(const ClamavOptions&, std::string* error)>;

/// Builds registry, policy (rules_path, or the embedded defaults when empty), the scanner and
/// the libmagic detector. On failure returns nullptr with one line per problem.
std::unique_ptr<Engine> makeEngine(const std::string& rules_path, std::vector<std::string>& errors,
                                   const ScannerMaker& make_scanner);
/// The same with libclamav in this process (module engine_inproc: tests and benchmarks; the
/// mugai executable does not link it).
std::unique_ptr<Engine> makeEngine(const std::string& rules_path, std::vector<std::string>& errors);

/// How the recipient gets the original back, for a notice or a file-drop note, in one language
/// (`ja` or English): the release tier the rules' vault section gives these reasons (names), in
/// words, and where to ask: `console_link` (the item's page in the console, consoleItemLink)
/// when the service has a console, else the rules' vault.contact. One line each, without line
/// ends.
std::vector<std::string> howToGetOriginal(const policy::VaultRules& rules,
                                          const std::vector<std::string>& reasons, bool ja,
                                          const std::string& console_link = {});
/// The item's page in the console: CONSOLE_URL/items/ID (a trailing '/' of the URL dropped);
/// "" when there is no console_url.
std::string consoleItemLink(const std::string& console_url, const std::string& id);

/// A fresh report/queue id: time-ordered, unique within the host ("20261123T141203-5f3a9c").
std::string newItemId();

}  // namespace mugai
