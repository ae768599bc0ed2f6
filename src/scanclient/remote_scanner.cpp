// The client side of the scanner process (remote_scanner.h).
#include "src/scanclient/remote_scanner.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "src/ipc/helper_process.h"
#include "src/ipc/scan_options.h"
#include "src/ipc/spawn.h"
#include "src/ipc/wire.h"

namespace mugai::scanclient {
namespace {

using namespace mugai::ipc;  // NOLINT: this module speaks the wire

constexpr int kStartTimeoutMs = 600000;  // the full freshclam databases compile in a minute or two

/// What mugai-scan said about its engine when it started.
struct EngineInfo {
  std::string describe, sources;
  std::vector<std::string> warnings;
};

std::shared_ptr<HelperProcess> startProcess(const std::string& program, const ClamavOptions& options,
                                            EngineInfo* info, std::string* why) {
  WireWriter w;
  encodeScanOptions(w, options);
  std::string ready;
  auto p = startHelper(program, Frame::kScanInit, w.bytes(), kStartTimeoutMs, &ready, why);
  if (!p) return nullptr;
  WireReader r(ready);
  EngineInfo got;
  got.describe = r.str(4096);
  got.sources = r.str(4096);
  std::uint32_t n = r.count(256);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) got.warnings.push_back(r.str(4096));
  if (!r.ok()) {
    *why = program + ": did not start";
    return nullptr;
  }
  if (info) *info = std::move(got);
  return p;
}

class RemoteScanner final : public Scanner {
 public:
  RemoteScanner(const std::string& program, ClamavOptions options, std::shared_ptr<HelperProcess> first,
                EngineInfo info)
      : options_(std::move(options)),
        slot_("scanner process",
              [program, o = options_](std::string* why) { return startProcess(program, o, nullptr, why); },
              std::move(first)),
        describe_(std::move(info.describe)),
        sources_(std::move(info.sources)),
        warnings_(std::move(info.warnings)) {
    timeout_ms_ = static_cast<int>(options_.limits.scan_max_scantime_ms) + kScanGraceMs;
  }

  ScanResult scan(std::string_view data, std::string_view name_hint) const override {
    WireWriter w;
    w.str(name_hint.substr(0, 256));
    ScanResult r;
    std::string why;
    auto accept = [&r](std::string_view payload) { return decodeScanResult(payload, r); };
    if (slot_.request("scan", Frame::kScan, w.bytes(), data, Frame::kScanReply, timeout_ms_, accept, &why) ==
        HelperSlot::Outcome::kAnswered) {
      return r;
    }
    r = ScanResult{};
    r.status = ScanResult::Status::Error;
    r.detail = why;
    return r;
  }
  std::string describe() const override { return describe_; }
  std::string sources() const override { return sources_; }
  std::vector<std::string> warnings() const override { return warnings_; }
  bool sourcesChanged() const override {
    bool changed = false;
    std::string stamp;
    ScanStats stats;
    return query(changed, stamp, stats) && changed;
  }
  std::string sourcesStamp() const override {
    bool changed = false;
    std::string stamp;
    ScanStats stats;
    query(changed, stamp, stats);
    return stamp;
  }
  /// The scanner process's counters (one cache and one engine for every worker).
  ScanStats stats() const override {
    bool changed = false;
    std::string stamp;
    ScanStats stats;
    query(changed, stamp, stats);
    return stats;
  }
  int openChannel() const { return slot_.openChannel(); }
  pid_t pid() const { return slot_.pid(); }

 private:
  bool query(bool& changed, std::string& stamp, ScanStats& stats) const {
    std::string why;
    auto p = slot_.current(&why);
    if (!p) return false;
    int ch = p->take();
    if (ch < 0) return false;
    Frame type{};
    std::string payload;
    if (sendFrame(ch, Frame::kQuery) &&
        recvFrame(ch, type, payload, nullptr, 30000) == RecvStatus::kOk &&
        type == Frame::kQueryReply) {
      WireReader r(payload);
      changed = r.u8() != 0;
      stamp = r.str(1 << 20);
      for (std::uint64_t* v : {&stats.requests, &stats.cache_hits, &stats.engine_scans,
                               &stats.engine_bytes, &stats.layers, &stats.layer_bytes,
                               &stats.cache_entries}) {
        *v = r.u64();
      }
      if (r.atEnd()) {
        p->giveBack(ch);
        return true;
      }
    }
    close(ch);
    p->markDead();
    return false;
  }

  ClamavOptions options_;
  HelperSlot slot_;
  int timeout_ms_ = 0;
  std::string describe_, sources_;
  std::vector<std::string> warnings_;
};

}  // namespace

std::shared_ptr<const Scanner> makeRemoteScanner(const ClamavOptions& options, std::string* error,
                                                 const std::string& program) {
  std::string exe = program;
  if (exe.empty()) {
    const char* env = std::getenv("MUGAI_SCAN_PROGRAM");
    exe = env && *env ? env : ownDirectory() + "/mugai-scan";
  }
  EngineInfo info;
  auto first = startProcess(exe, options, &info, error);
  if (!first) return nullptr;
  return std::make_shared<const RemoteScanner>(exe, options, std::move(first), std::move(info));
}

int openScannerChannel(const Scanner& scanner) {
  auto* remote = dynamic_cast<const RemoteScanner*>(&scanner);
  return remote ? remote->openChannel() : -1;
}

int scannerPid(const Scanner& scanner) {
  auto* remote = dynamic_cast<const RemoteScanner*>(&scanner);
  return remote ? remote->pid() : 0;
}

}  // namespace mugai::scanclient
