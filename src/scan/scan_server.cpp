// mugai-scan: build the engine, enter the sandbox, serve scans per channel (scan_server.h).
#include "src/scan/scan_server.h"

#include <unistd.h>


#include "src/ipc/helper_process.h"
#include "src/ipc/sandbox.h"
#include "src/ipc/scan_options.h"
#include "src/ipc/spawn.h"
#include "src/ipc/wire.h"

namespace mugai {
namespace {

using namespace mugai::ipc;  // NOLINT: this module speaks the wire

void serveChannel(const Scanner& scanner, int ch) {
  for (;;) {
    Frame type{};
    std::string payload;
    int fd = -1;
    if (recvFrame(ch, type, payload, &fd, -1) != RecvStatus::kOk) break;
    if (type == Frame::kScan && fd >= 0) {
      Mapping m(fd, 1ULL << 34);
      close(fd);
      WireReader r(m.view());
      std::string name = r.str(256);
      ScanResult sr;
      if (!m.ok() || !r.ok()) {
        sr.detail = "malformed scan request";
      } else {
        sr = scanner.scan(m.view().substr(m.view().size() - r.remaining()), name);
      }
      if (!sendFrame(ch, Frame::kScanReply, encodeScanResult(sr))) break;
    } else if (type == Frame::kQuery) {
      if (fd >= 0) close(fd);
      WireWriter w;
      w.u8(scanner.sourcesChanged() ? 1 : 0);
      w.str(scanner.sourcesStamp().substr(0, kMaxInline / 2));
      ScanStats st = scanner.stats();
      for (std::uint64_t v : {st.requests, st.cache_hits, st.engine_scans, st.engine_bytes,
                              st.layers, st.layer_bytes, st.cache_entries}) {
        w.u64(v);
      }
      if (!sendFrame(ch, Frame::kQueryReply, w.bytes())) break;
    } else {
      if (fd >= 0) close(fd);
      break;
    }
  }
  close(ch);
}

std::string cut(const std::string& s) { return s.substr(0, 2000); }

}  // namespace

int scanServerMain() {
  std::string init;
  if (!receiveHelperInit(Frame::kScanInit, 1 << 20, &init)) return 4;
  ClamavOptions options;
  {
    WireReader r(init);
    if (!decodeScanOptions(r, options)) return 4;
  }
  std::string error;
  std::shared_ptr<const Scanner> scanner = makeClamavScanner(options, &error);
  if (!scanner) {
    sendFrame(kChildFd, Frame::kFailed, cut(error));
    return 2;
  }
  SandboxOptions sandbox;
  sandbox.allow_files = true;  // libclamav's scratch files (CL_ENGINE_TMPDIR)
  std::string why, note;
  if (!enterSandbox(sandbox, &why, &note)) {
    sendFrame(kChildFd, Frame::kFailed, "sandbox: " + cut(why));
    return 3;
  }
  WireWriter w;
  w.str(cut(scanner->describe()));
  w.str(cut(scanner->sources()));
  auto warnings = scanner->warnings();
  if (warnings.size() > 16) warnings.resize(16);
  w.u32(static_cast<std::uint32_t>(warnings.size()));
  for (const auto& x : warnings) w.str(cut(x));
  if (!sendFrame(kChildFd, Frame::kReady, w.bytes())) return 4;
  serveHelperChannels([scanner](int ch) { serveChannel(*scanner, ch); });
}

}  // namespace mugai
