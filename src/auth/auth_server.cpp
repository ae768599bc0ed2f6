// mugai-auth: set up the libraries, enter the sandbox, serve checks per channel (auth_server.h).
#include "src/auth/auth_server.h"

#include <unistd.h>

#include <memory>

#include "mugai/auth/auth.h"
#include "src/ipc/auth_wire.h"
#include "src/ipc/helper_process.h"
#include "src/ipc/sandbox.h"
#include "src/ipc/spawn.h"
#include "src/ipc/wire.h"

namespace mugai::auth {
namespace {

using namespace mugai::ipc;  // NOLINT: this module speaks the wire

/// A message is at most message_size_limit, which the client enforced; this only bounds a mapping.
constexpr std::uint64_t kMaxRequest = 1ULL << 34;

void serveChannel(const Authenticator& authenticator, int ch) {
  for (;;) {
    Frame type{};
    std::string payload;
    int fd = -1;
    if (recvFrame(ch, type, payload, &fd, -1) != RecvStatus::kOk) break;
    if (type != Frame::kAuth || fd < 0) {
      if (fd >= 0) close(fd);
      break;
    }
    Mapping m(fd, kMaxRequest);
    close(fd);
    WireReader r(m.view());
    Peer peer;
    if (!m.ok() || !decodeAuthPeer(r, peer)) break;
    SenderAuth a = authenticator.check(m.view().substr(m.view().size() - r.remaining()), peer);
    if (!sendFrame(ch, Frame::kAuthReply, encodeAuthReply(a))) break;
  }
  close(ch);
}

}  // namespace

int authServerMain() {
  std::string init;
  if (!receiveHelperInit(Frame::kAuthInit, 1 << 20, &init)) return 4;
  Settings settings;
  {
    WireReader r(init);
    if (!decodeAuthSettings(r, settings)) return 4;
  }
  // Everything that reads a file happens here, before the sandbox: libopendmarc's public suffix
  // list, /etc/resolv.conf (the system's nameservers), libopendkim's set-up.
  auto authenticator = std::make_shared<const InProcessAuthenticator>(settings);
  SandboxOptions sandbox;
  sandbox.namespaces = false;  // DNS needs the host's network
  sandbox.allow_inet_client = true;
  std::string why, note;
  if (!enterSandbox(sandbox, &why, &note)) {
    sendFrame(kChildFd, Frame::kFailed, "sandbox: " + why.substr(0, 2000));
    return 3;
  }
  if (!sendFrame(kChildFd, Frame::kReady)) return 4;
  serveHelperChannels([authenticator](int ch) { serveChannel(*authenticator, ch); });
}

}  // namespace mugai::auth
