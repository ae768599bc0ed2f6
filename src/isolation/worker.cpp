// The worker process: build the engine, enter the sandbox, then one item at a time (worker.h).
#include "src/isolation/worker.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "mugai/detect/type_detector.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/policy/policy.h"
#include "mugai/text/charset.h"
#include "src/ipc/sandbox.h"
#include "src/ipc/wire.h"

namespace mugai::isolation {
using namespace mugai::ipc;  // NOLINT: the wire and the sandbox are this module's vocabulary
namespace {

constexpr std::uint64_t kMaxItem = 1ULL << 32;

struct Init {
  std::string rules_text, rules_name, rules_dir;
  SandboxOptions sandbox;
  std::uint64_t item_cpu_s = 0;
  int scanning = 1;  ///< 0 none, 1 through the parent, 2 a direct channel to the scanner process
};

/// Scans over `fd`: the worker's socket to its parent (which asks its scanner), or a channel
/// straight to the scanner process (mugai-scan speaks the same frames). A channel that fails ends
/// the worker: its parent tries the item once more on a fresh worker with a fresh channel.
class ChannelScanner final : public Scanner {
 public:
  explicit ChannelScanner(int fd) : fd_(fd) {}
  ScanResult scan(std::string_view data, std::string_view name_hint) const override {
    WireWriter w;
    w.str(name_hint.substr(0, 256));
    int fd = sealedMemfd("scan", w.bytes(), data);
    ScanResult r;
    r.detail = "scan request failed";
    if (fd < 0) return r;
    bool sent = sendFrame(fd_, Frame::kScan, {}, fd);
    close(fd);
    if (!sent) _exit(kExitScanner);
    Frame type{};
    std::string payload;
    if (recvFrame(fd_, type, payload, nullptr, -1) != RecvStatus::kOk ||
        type != Frame::kScanReply || !decodeScanResult(payload, r)) {
      _exit(kExitScanner);
    }
    return r;
  }
  std::string describe() const override { return "scanner reached over a socket"; }

 private:
  int fd_;
};

void outOfMemory() { _exit(kExitOutOfMemory); }

bool readInit(Init& init) {
  Frame type{};
  std::string payload;
  int fd = -1;
  if (recvFrame(kWorkerFd, type, payload, &fd, 30000) != RecvStatus::kOk || type != Frame::kInit ||
      fd < 0) {
    return false;
  }
  Mapping m(fd, 16 << 20);
  close(fd);
  if (!m.ok()) return false;
  WireReader r(m.view());
  init.rules_text = r.str(4 << 20);
  init.rules_name = r.str(4096);
  init.rules_dir = r.str(4096);
  init.sandbox.address_space = r.u64();
  init.sandbox.cpu_s = r.u64();
  init.sandbox.namespaces = r.u8() != 0;
  init.item_cpu_s = r.u64();
  init.scanning = r.u8();
  return r.atEnd() && init.scanning <= 2;
}

void fail(const std::string& why) {
  sendFrame(kWorkerFd, Frame::kFailed, why.substr(0, kMaxInline));
}

/// One item (in the frame itself when small, else a sealed memfd): process it, send the result
/// back the same way (inline when it fits in one frame).
bool serveItem(const Engine& engine, Frame type, std::string_view item, std::uint64_t item_cpu_s) {
  WireReader r(item);
  std::string id = r.str(256);
  ProcessResult result;
  if (type == Frame::kMail) {
    Envelope env;
    if (!decodeEnvelope(r, env)) return false;
    std::string_view raw = r.view(kMaxItem);
    if (!r.atEnd()) return false;
    limitCpuFromNow(item_cpu_s);
    result = engine.processMessage(raw, env, id);
  } else {
    std::string name = r.str(64 * 1024);
    std::string_view data = r.view(kMaxItem);
    if (!r.atEnd()) return false;
    limitCpuFromNow(item_cpu_s);
    result = engine.processFile(data, name, id);
  }
  std::string head = encodeResultHead(result);
  if (head.size() + result.output.size() <= kMaxInline) {
    return sendFrame(kWorkerFd, Frame::kResult, head, result.output, -1);
  }
  int out = sealedMemfd("result", head, result.output);
  if (out < 0) return false;
  bool sent = sendFrame(kWorkerFd, Frame::kResult, {}, out);
  close(out);
  return sent;
}

}  // namespace

/// What the rules' sanitizers must read while they work (PDF flatten: fonts), without repeats.
std::vector<std::string> readOnlyPaths(const policy::Policy& pol) {
  std::set<std::string> paths;
  auto add = [&](const policy::Chain& chain) {
    for (const auto& step : chain.steps) {
      if (!step.instance) continue;
      for (auto& p : step.instance->readOnlyPaths()) paths.insert(std::move(p));
    }
  };
  add(pol.scan);
  add(pol.text_body);
  add(pol.html_body);
  for (const auto& [name, chain] : pol.chains) add(chain);
  return {paths.begin(), paths.end()};
}

int workerMain(const std::function<void(Registry&)>& extra) {
  // Nothing else of the parent's: only stdin/stdout/stderr and the socket stay open.
  close_range(kWorkerFd + 1, ~0U, 0);
  std::set_new_handler(outOfMemory);
  Init init;
  if (!readInit(init)) return kExitProtocol;
  Registry registry;
  registerBuiltinSanitizers(registry);
  if (extra) extra(registry);
  std::vector<std::string> errors;
  policy::PolicyConstSharedPtr pol = policy::loadPolicyText(init.rules_text, init.rules_name,
                                                            init.rules_dir, registry, errors);
  if (!pol) {
    fail("rules: " + (errors.empty() ? std::string("not usable") : errors.front()));
    return kExitInit;
  }
  int scan_fd = kWorkerFd;
  if (init.scanning == 2) {  // the channel to the scanner process follows the init record
    Frame type{};
    std::string payload;
    if (recvFrame(kWorkerFd, type, payload, &scan_fd, 30000) != RecvStatus::kOk ||
        type != Frame::kChannel || scan_fd < 0) {
      return kExitProtocol;
    }
  }
  EngineServices services{pol,
                          init.scanning ? std::make_shared<ChannelScanner>(scan_fd) : nullptr,
                          makeMagicTypeDetector()};
  // What libraries would open lazily is opened now, while files may still be opened: libmagic's
  // database (the per-thread cookies) and the iconv modules.
  services.detector->detect("preload");
  text::preloadConverters();
  Engine engine(std::move(services));
  init.sandbox.read_only_paths = readOnlyPaths(*pol);
  std::string why, note;
  if (!enterSandbox(init.sandbox, &why, &note)) {
    fail("sandbox: " + why);
    return kExitSandbox;
  }
  if (!sendFrame(kWorkerFd, Frame::kReady, note)) return kExitProtocol;
  for (;;) {
    Frame type{};
    std::string payload;
    int fd = -1;
    RecvStatus st = recvFrame(kWorkerFd, type, payload, &fd, -1);
    if (st == RecvStatus::kClosed) return 0;
    if (st != RecvStatus::kOk || (type != Frame::kMail && type != Frame::kFile)) {
      if (fd >= 0) close(fd);
      return kExitProtocol;
    }
    if (fd < 0) {  // a small item: in the frame
      if (!serveItem(engine, type, payload, init.item_cpu_s)) return kExitProtocol;
      continue;
    }
    Mapping m(fd, kMaxItem);
    close(fd);
    if (!m.ok() || !payload.empty()) return kExitProtocol;
    if (!serveItem(engine, type, m.view(), init.item_cpu_s)) return kExitProtocol;
  }
}

}  // namespace mugai::isolation
