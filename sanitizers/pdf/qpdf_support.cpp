#include "sanitizers/pdf/qpdf_support.h"

#include <algorithm>
#include <qpdf/QPDFLogger.hh>

#include "mugai/text/charset.h"

namespace mugai::sanitizers::pdf {

void makeQuiet(QPDF& pdf) {
  // A private logger per document: the default logger is process-global and prints to stderr.
  auto logger = QPDFLogger::create();
  logger->setInfo(logger->discard());
  logger->setWarn(logger->discard());
  logger->setError(logger->discard());
  pdf.setLogger(logger);
  pdf.setSuppressWarnings(true);
  pdf.setAttemptRecovery(true);  // damaged files: qpdf rebuilds the xref; no pages -> cdr.failed
}

namespace {
class DeadlineReporter : public QPDFWriter::ProgressReporter {
 public:
  explicit DeadlineReporter(const Budget& budget) : budget_(budget) {}
  void reportProgress(int) override {
    if (auto r = budget_.checkDeadline()) throw BudgetHit{*r};
  }

 private:
  const Budget& budget_;
};
}  // namespace

std::shared_ptr<QPDFWriter::ProgressReporter> deadlineReporter(const Budget& budget) {
  return std::make_shared<DeadlineReporter>(budget);
}

void RemovedLog::add(const std::string& kind, const std::string& detail, const std::string& sha256) {
  for (auto& k : kinds_) {
    if (k.name == kind) {
      if (++k.count <= kExamplesPerKind) {
        k.examples.push_back({"removed", detail, sha256});
        if (!sha256.empty()) hashes_.insert(sha256);
      } else {
        addObject(detail, sha256);
      }
      return;
    }
  }
  kinds_.push_back({kind, 1, {{"removed", detail, sha256}}});
  if (!sha256.empty()) hashes_.insert(sha256);
}

void RemovedLog::addObject(const std::string& detail, const std::string& sha256) {
  if (sha256.empty() || extras_.size() >= kHashedExtras || !hashes_.insert(sha256).second) return;
  extras_.push_back({"removed_object", detail, sha256});
}

std::size_t RemovedLog::total() const {
  std::size_t n = 0;
  for (const auto& k : kinds_) n += k.count;
  return n;
}

void RemovedLog::appendTo(std::vector<Finding>& out) const {
  for (const auto& k : kinds_) {
    for (const auto& e : k.examples) out.push_back(e);
    if (k.count > k.examples.size())
      out.push_back(
          {"removed", k.name + ": " + std::to_string(k.count - k.examples.size()) + " more"});
  }
  out.insert(out.end(), extras_.begin(), extras_.end());
}

std::string reportable(const std::string& s, std::size_t max_bytes) {
  // Valid UTF-8 first (src/text helpers), then no controls, cut on a character boundary.
  std::string clean = text::sanitizeUtf8(s);
  std::string out;
  for (std::size_t i = 0; i < clean.size();) {
    unsigned char c = static_cast<unsigned char>(clean[i]);
    std::size_t len = std::min(text::utf8SequenceLength(c), clean.size() - i);
    if (out.size() + len > max_bytes) break;
    if (len == 1 && (c < 0x20 || c == 0x7f)) {
      out.push_back('?');
    } else {
      out.append(clean, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace mugai::sanitizers::pdf
