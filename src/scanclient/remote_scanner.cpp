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

/// One running mugai-scan, with what it said about its engine when it started.
struct Process : HelperProcess {
  using HelperProcess::HelperProcess;
  std::string describe, sources;
  std::vector<std::string> warnings;
};

std::shared_ptr<Process> startProcess(const std::string& program, const ClamavOptions& options,
                                      std::string* why) {
  pid_t pid = 0;
  int sock = -1;
  if (!spawnWithSocket({program}, &pid, &sock, why)) return nullptr;
  auto p = std::make_shared<Process>(pid, sock);
  WireWriter w;
  encodeScanOptions(w, options);
  int fd = sealedMemfd("scan-init", w.bytes());
  bool sent = fd >= 0 && sendFrame(sock, Frame::kScanInit, {}, fd);
  if (fd >= 0) close(fd);
  Frame type{};
  std::string payload;
  RecvStatus st = sent ? recvFrame(sock, type, payload, nullptr, kStartTimeoutMs) : RecvStatus::kError;
  if (st == RecvStatus::kOk && type == Frame::kReady) {
    WireReader r(payload);
    p->describe = r.str(4096);
    p->sources = r.str(4096);
    std::uint32_t n = r.count(256);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) p->warnings.push_back(r.str(4096));
    if (r.ok()) return p;
  }
  *why = program + ": " +
         (st == RecvStatus::kOk && type == Frame::kFailed ? payload.substr(0, 2000)
                                                           : std::string("did not start"));
  return nullptr;
}

class RemoteScanner final : public Scanner {
 public:
  RemoteScanner(std::string program, ClamavOptions options, std::shared_ptr<Process> first)
      : program_(std::move(program)), options_(std::move(options)), proc_(std::move(first)) {
    describe_ = proc_->describe;
    sources_ = proc_->sources;
    warnings_ = proc_->warnings;
    timeout_ms_ = static_cast<int>(options_.limits.scan_max_scantime_ms) + kScanGraceMs;
  }

  ScanResult scan(std::string_view data, std::string_view name_hint) const override {
    std::string why = "the scanner process is not available";
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto p = current(&why);
      if (!p) break;
      int ch = p->take();
      if (ch < 0) {
        p->markDead();
        continue;
      }
      WireWriter w;
      w.str(name_hint.substr(0, 256));
      int fd = sealedMemfd("scan", w.bytes(), data);
      bool sent = fd >= 0 && sendFrame(ch, Frame::kScan, {}, fd);
      if (fd >= 0) close(fd);
      Frame type{};
      std::string payload;
      ScanResult r;
      if (sent && recvFrame(ch, type, payload, nullptr, timeout_ms_) == RecvStatus::kOk &&
          type == Frame::kScanReply && decodeScanResult(payload, r)) {
        p->giveBack(ch);
        return r;
      }
      close(ch);
      p->markDead();  // replaced by the next call; its last user reaps it
      why = "the scanner process stopped answering";
    }
    ScanResult r;
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
  int openChannel() const {
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string why;
      auto p = current(&why);
      if (!p) return -1;
      int ch = p->take();
      if (ch >= 0) return ch;
      p->markDead();
    }
    return -1;
  }
  pid_t pid() const {
    std::lock_guard<std::mutex> lock(m_);
    return proc_ && !proc_->dead() ? proc_->pid() : 0;
  }

 private:
  /// The running process, started again when it died (one start at a time).
  std::shared_ptr<Process> current(std::string* why) const {
    std::lock_guard<std::mutex> lock(m_);
    if (proc_ && !proc_->dead()) return proc_;
    proc_.reset();
    proc_ = startProcess(program_, options_, why);
    std::fputs(proc_ ? "mugai: the scanner process was restarted\n"
                     : ("mugai: the scanner process cannot start: " + *why + "\n").c_str(),
               stderr);
    return proc_;
  }
  bool query(bool& changed, std::string& stamp, ScanStats& stats) const {
    std::string why;
    auto p = current(&why);
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

  std::string program_;
  ClamavOptions options_;
  int timeout_ms_ = 0;
  std::string describe_, sources_;
  std::vector<std::string> warnings_;
  mutable std::mutex m_;
  mutable std::shared_ptr<Process> proc_;  // guarded by m_
};

}  // namespace

std::shared_ptr<const Scanner> makeRemoteScanner(const ClamavOptions& options, std::string* error,
                                                 const std::string& program) {
  std::string exe = program;
  if (exe.empty()) {
    const char* env = std::getenv("MUGAI_SCAN_PROGRAM");
    exe = env && *env ? env : ownDirectory() + "/mugai-scan";
  }
  auto first = startProcess(exe, options, error);
  if (!first) return nullptr;
  return std::make_shared<const RemoteScanner>(exe, options, std::move(first));
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
