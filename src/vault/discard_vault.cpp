// BENCH ONLY (discard_vault.h): a vault that keeps nothing, for bench/smtp_bench.sh's vault-off
// column. Every read finds nothing; every change but put() is refused.
#include "src/vault/discard_vault.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace mugai::vault {
namespace {

bool refuse(std::string* error) {
  if (error) *error = "vault: the discard: vault (bench only) keeps nothing";
  return false;
}

class DiscardVault final : public Vault {
 public:
  std::string url() const override { return "discard:"; }
  bool put(const NewRecord&, std::string*) override {
    ++stored_;
    return true;
  }
  bool discard(const std::string&, const std::string&, std::string*) override { return true; }
  std::optional<RecordInfo> get(const std::string&, std::string* error) override {
    refuse(error);
    return std::nullopt;
  }
  bool original(const std::string&, std::string&, std::string* error) override { return refuse(error); }
  std::optional<std::string> report(const std::string&, std::string* error) override {
    refuse(error);
    return std::nullopt;
  }
  bool list(const Query&, std::vector<RecordInfo>& out, std::string*) override {
    out.clear();
    return true;
  }
  bool textIndexed() const override { return false; }  // nothing is kept, nothing indexed
  bool usage(Usage& out, std::string*) override {
    out = Usage{};
    return true;
  }
  bool setHold(const std::string&, bool, const std::string&, const std::string&, std::string* error) override {
    return refuse(error);
  }
  bool addRequest(const std::string&, const std::string&, const std::string&, const std::string&, Request&,
                  std::string* error) override {
    return refuse(error);
  }
  bool requests(const std::string&, std::vector<Request>& out, std::string*) override {
    out.clear();
    return true;
  }
  bool decide(std::int64_t, bool, const std::string&, const std::string&, const std::string&, std::size_t,
              std::string* error, std::string*) override {
    return refuse(error);
  }
  bool purge(std::int64_t, bool, const std::string&, PurgeResult& out, std::string*) override {
    out = PurgeResult{};
    return true;
  }
  bool queueRelease(const ReleaseOrder&, const std::string&, const std::string&, ReleaseJob&,
                    std::string* error) override {
    return refuse(error);
  }
  std::optional<ReleaseJob> claimRelease(const std::string&, std::int64_t, std::int64_t,
                                         std::string* error) override {
    if (error) error->clear();  // nothing is ever due
    return std::nullopt;
  }
  bool finishRelease(std::int64_t, const std::string&, ReleaseOutcome, std::int64_t, const std::string&,
                     std::string* error) override {
    return refuse(error);
  }
  bool releases(const std::string&, const std::string&, std::vector<ReleaseJob>& out, std::string*) override {
    out.clear();
    return true;
  }
  bool appendAudit(const std::string&, const std::string&, const std::string&, const std::string&,
                   const std::string&, std::string*) override {
    return true;
  }
  bool audit(std::int64_t, std::vector<AuditRow>& out, std::string*) override {
    out.clear();
    return true;
  }
  AuditCheck verifyAudit() override { return AuditCheck{}; }

 private:
  std::atomic<std::uint64_t> stored_{0};
};

}  // namespace

std::unique_ptr<Vault> openDiscardVault(const std::string& url, std::string* error) {
  const char* token = std::getenv("MUGAI_BENCH_DISCARD_VAULT");
  if (url != "discard:" || !token || std::strcmp(token, kBenchDiscardToken) != 0) {
    if (error) {
      *error = "vault: '" + url + "' is the benchmark's vault that keeps nothing; it is not a product setting "
               "(every original is kept: use sqlite:PATH or postgresql://...)";
    }
    return nullptr;
  }
  return std::make_unique<DiscardVault>();
}

}  // namespace mugai::vault
