// The gateway's wait for an engine that runs in serve's own threads (isolation = none) and does
// not return: a step that cannot be interrupted. Past twice sanitizer_deadline_ms (at least the
// deadline + 10 s) the gateway stops waiting and gives the message the verdict a worker killed at
// its deadline gets (limit.time): the original kept in the vault, the recipients' notice relayed
// in its place, 250 to the client. Never a 4xx the sender would retry and pay again, and never a
// bounce without a word to the recipient. The next hop is a real smtp-sink.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/peers.h"
#include "mugai/disposition/disposition.h"
#include "mugai/pipeline/pipeline.h"
#include "src/smtp/gateway.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai;
using namespace mugai::test;

namespace {

/// The real engine's policy, and a processMessage() that waits until the test lets it go: an
/// engine stuck in a step that never looks at its deadline.
class StuckEngine final : public ItemProcessor {
 public:
  explicit StuckEngine(std::shared_ptr<const Engine> real) : real_(std::move(real)) {}
  ProcessResult processMessage(std::string_view, const Envelope&,
                               const std::string&) const override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return released_; });
    return {};  // TempFail: the gateway has long stopped waiting for it
  }
  ProcessResult processFile(std::string_view, const std::string&,
                            const std::string&) const override {
    return {};
  }
  const policy::Policy& policy() const override { return real_->policy(); }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::shared_ptr<const Engine> real_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool released_ = false;
};

std::string replaceOnce(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("gateway: an in-process engine that never returns gets limit.time, the notice and 250",
          "[integration]") {
  if (anyMissing({kSink})) return;
  TempDir tmp;
  // The shipped rules with a 100 ms deadline: the gateway waits 10.1 s for a running engine.
  std::string rules = readFile(sourceDir() / "rules" / "default.yaml");
  rules = replaceOnce(rules, "limits:\n", "limits:\n  sanitizer_deadline_ms: 100\n");
  rules = replaceOnce(rules, "signatures: [signatures]",
                      "signatures: [" + (sourceDir() / "rules" / "signatures").string() + "]");
  rules = replaceOnce(rules, "system_database: true", "system_database: false");
  writeFile(tmp.path() / "rules.yaml", rules);
  std::vector<std::string> errors;
  std::shared_ptr<const Engine> real = makeEngine((tmp.path() / "rules.yaml").string(), errors);
  REQUIRE(real);
  auto stuck = std::make_shared<StuckEngine>(real);

  // smtp-sink, dumping each message to its own file.
  fs::path dump = tmp.path() / "dump";
  fs::create_directories(dump);
  chmod(tmp.path().c_str(), 0755);
  chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
  const std::uint16_t sink_port = freePort();
  auto sink = startSmtpSink(dump, sink_port, tmp.path() / "sink.log", {}, 10);
  REQUIRE(sink);

  const std::string url = stateVault(tmp.path().string());
  std::vector<std::string> lines;
  disposition::Disposition disposition(disposition::Options{
      openTestVault(url), [&lines](const std::string& l) { lines.push_back(l); }, nullptr});
  smtp::WorkerPool pool(1, 4);
  struct Release {  // lets the stuck engine go before the pool joins its thread
    StuckEngine& e;
    ~Release() { e.release(); }
  } release{*stuck};
  smtp::GatewayOptions go;
  go.relay.port = sink_port;
  go.relay.timeout_s = 10;
  smtp::Gateway gateway([stuck] { return stuck; }, pool, disposition, go);

  smtp::Transaction t;
  t.sender = "partner@example.com";
  t.recipients = {"staff@city.example.lg.jp"};
  t.helo = "mx.example.com";
  t.client_name = "mx.example.com";
  t.client_addr = "192.0.2.7";
  t.data = "From: partner@example.com\r\nTo: staff@city.example.lg.jp\r\nSubject: stuck\r\n\r\n"
           "The engine never finishes this one.\r\n";
  const std::string original = t.data;
  smtp::Reply reply = gateway.deliver(t);
  std::string log;
  for (const auto& l : lines) log += l + "\n";
  INFO(reply.code << " " << reply.text << "\n" << log);
  CHECK(reply.code == 250);
  CHECK(log.find("limit.time") != std::string::npos);

  // The notice reached the recipient in place of the message.
  std::vector<fs::path> delivered = filesIn(dump);
  for (int i = 0; i < 100 && delivered.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    delivered = filesIn(dump);
  }
  REQUIRE(delivered.size() == 1);
  const std::string notice = readFile(delivered[0]);
  CHECK(notice.find("X-Mugai-Verdict: blocked") != std::string::npos);
  CHECK(notice.find("The engine never finishes this one.") == std::string::npos);

  // The original is in the vault with its reason, and the report says who gave up on it.
  auto records = vaultRecords(url);
  REQUIRE(records.size() == 1);
  CHECK(records[0].reason == "limit.time");
  CHECK(vaultOriginal(url, records[0].id) == original);
  CHECK(notice.find("X-Mugai-Id: " + records[0].id) != std::string::npos);
  const std::string text = vaultText(url);
  CHECK(text.find("\"sanitizer\":\"gateway\"") != std::string::npos);
  CHECK(text.find("twice sanitizer_deadline_ms") != std::string::npos);
}
