// Shared by the rebuild and flatten paths of sanitizer.pdf: a quiet qpdf, the deadline hook for
// QPDFWriter, and the bounded findings log.
//
// Trust: strings logged here (embedded file names) come from the PDF and are cleaned first.
// Limits: at most kExamplesPerKind findings per kind, then one "N more" line per kind.
// Errors: DeadlineHit is thrown from inside qpdf loops and caught by the caller's apply path.
#pragma once

#include <cstddef>
#include <memory>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFWriter.hh>
#include <set>
#include <string>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai::sanitizers::pdf {

/// Thrown by our own callbacks (deadline, budget) to leave qpdf's loops; carries the Reason.
struct BudgetHit {
  Reason reason;
};

/// A QPDF that never writes to stdout/stderr (warnings are kept in memory, capped by qpdf).
void makeQuiet(QPDF& pdf);

/// Lets QPDFWriter::write() stop once the message deadline has passed (throws BudgetHit).
std::shared_ptr<QPDFWriter::ProgressReporter> deadlineReporter(const Budget& budget);

/// QPDFWriter output straight into a string the caller reserved: one allocation, no copy
/// (setOutputMemory grows a buffer by doubling and copies it out again; on a 20 MB file the
/// copies and page faults cost more than qpdf's own work).
class StringSink : public Pipeline {
 public:
  explicit StringSink(std::string& out) : Pipeline("output", nullptr), out_(out) {}
  void write(unsigned char const* data, size_t len) override {
    out_.append(reinterpret_cast<const char*>(data), len);
  }
  void finish() override {}

 private:
  std::string& out_;
};

/// One finding per removed thing, bounded: the first few of each kind verbatim, then a count.
/// A 1000-page document with /AA on every page yields 5 lines + "/AA: 995 more", not 1000.
/// A removed thing with bytes of its own (a script, an embedded file) carries their SHA-256; one
/// past the examples is still listed for its hash as {"removed_object", detail, sha256}, once per
/// distinct hash, up to kHashedExtras (the vault's objects; the notice names only "removed").
class RemovedLog {
 public:
  static constexpr std::size_t kExamplesPerKind = 5;
  static constexpr std::size_t kHashedExtras = 256;
  void add(const std::string& kind, const std::string& detail, const std::string& sha256 = {});
  /// Something inside a removed thing already named, listed for its hash only; nothing when it
  /// has no hash or the same hash is listed already (300 pages with the same script: one row).
  void addObject(const std::string& detail, const std::string& sha256);
  bool empty() const { return kinds_.empty(); }
  std::size_t total() const;
  void appendTo(std::vector<Finding>& out) const;

 private:
  struct Kind {
    std::string name;
    std::size_t count = 0;
    std::vector<Finding> examples;
  };
  std::vector<Kind> kinds_;  // first-seen order; a handful of kinds, linear search is fine
  std::vector<Finding> extras_;  // at most kHashedExtras
  std::set<std::string> hashes_;  // every hash listed so far (examples and extras)
};

/// A PDF text string (file name, a library message quoting the file, ...) made fit for a report:
/// valid UTF-8, no control characters, at most `max_bytes` bytes.
std::string reportable(const std::string& text, std::size_t max_bytes = 64);

}  // namespace mugai::sanitizers::pdf
