// The client side of the authentication process (remote_authenticator.h).
#include "src/authclient/remote_authenticator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "src/ipc/auth_wire.h"
#include "src/ipc/helper_process.h"
#include "src/ipc/spawn.h"
#include "src/ipc/wire.h"

namespace mugai::authclient {
namespace {

using namespace mugai::ipc;  // NOLINT: this module speaks the wire

constexpr int kStartTimeoutMs = 60000;  // reads the public suffix list: a second at most

std::shared_ptr<HelperProcess> startProcess(const std::string& program, const auth::Settings& settings,
                                            std::string* why) {
  pid_t pid = 0;
  int sock = -1;
  if (!spawnWithSocket({program}, &pid, &sock, why)) return nullptr;
  auto p = std::make_shared<HelperProcess>(pid, sock);
  WireWriter w;
  encodeAuthSettings(w, settings);
  int fd = sealedMemfd("auth-init", w.bytes());
  bool sent = fd >= 0 && sendFrame(sock, Frame::kAuthInit, {}, fd);
  if (fd >= 0) close(fd);
  Frame type{};
  std::string payload;
  RecvStatus st = sent ? recvFrame(sock, type, payload, nullptr, kStartTimeoutMs) : RecvStatus::kError;
  if (st == RecvStatus::kOk && type == Frame::kReady) return p;
  *why = program + ": " +
         (st == RecvStatus::kOk && type == Frame::kFailed ? payload.substr(0, 2000) : std::string("did not start"));
  return nullptr;
}

class RemoteAuthenticator final : public auth::Authenticator {
 public:
  RemoteAuthenticator(std::string program, const auth::Settings& settings, std::shared_ptr<HelperProcess> first)
      : Authenticator(settings), program_(std::move(program)), proc_(std::move(first)) {
    timeout_ms_ = replyTimeoutMs(settings_);
  }

  SenderAuth check(std::string_view raw, const auth::Peer& peer) const override {
    // `why` goes to the log; `brief` into the message's header (no paths, no error text).
    std::string why = "the authentication process is not available", brief = "mugai-auth not available";
    WireWriter head;
    encodeAuthPeer(head, peer);
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto p = current(&why);
      if (!p) break;
      int ch = p->take();
      if (ch < 0) {
        p->markDead();
        continue;
      }
      int fd = sealedMemfd("auth", head.bytes(), raw);
      if (fd < 0) {  // out of memory or descriptors here: not the process's fault
        p->giveBack(ch);
        why = "no memfd for the message";
        break;
      }
      bool sent = sendFrame(ch, Frame::kAuth, {}, fd);
      close(fd);
      Frame type{};
      std::string payload;
      SenderAuth a;
      if (sent && recvFrame(ch, type, payload, nullptr, timeout_ms_) == RecvStatus::kOk &&
          type == Frame::kAuthReply && decodeAuthReply(payload, a)) {
        p->giveBack(ch);
        a.checked = true;
        a.authserv_id = settings_.authserv_id;
        a.trusted_authserv_ids = settings_.trusted_authserv_ids;
        return a;
      }
      close(ch);
      p->markDead();  // replaced by the next call; its last user reaps it
      why = "the authentication process stopped answering";
      brief = "mugai-auth did not answer";
    }
    std::fprintf(stderr, "mugai: sender authentication not done: %s\n", why.c_str());
    return notDone(settings_, brief);
  }

  pid_t pid() const {
    std::lock_guard<std::mutex> lock(m_);
    return proc_ && !proc_->dead() ? proc_->pid() : 0;
  }

 private:
  /// The running process, started again when it died (one start at a time).
  std::shared_ptr<HelperProcess> current(std::string* why) const {
    std::lock_guard<std::mutex> lock(m_);
    if (proc_ && !proc_->dead()) return proc_;
    proc_.reset();
    proc_ = startProcess(program_, settings_, why);
    std::fputs(proc_ ? "mugai: the authentication process was restarted\n"
                     : ("mugai: the authentication process cannot start: " + *why + "\n").c_str(),
               stderr);
    return proc_;
  }

  std::string program_;
  int timeout_ms_ = 0;
  mutable std::mutex m_;
  mutable std::shared_ptr<HelperProcess> proc_;  // guarded by m_
};

}  // namespace

std::shared_ptr<const auth::Authenticator> makeRemoteAuthenticator(const auth::Settings& settings,
                                                                   std::string* error,
                                                                   const std::string& program) {
  std::string exe = program;
  if (exe.empty()) {
    const char* env = std::getenv("MUGAI_AUTH_PROGRAM");
    exe = env && *env ? env : ownDirectory() + "/mugai-auth";
  }
  auto first = startProcess(exe, settings, error);
  if (!first) return nullptr;
  return std::make_shared<const RemoteAuthenticator>(exe, settings, std::move(first));
}

int replyTimeoutMs(const auth::Settings& s) {
  long long ms = (static_cast<long long>(s.dns.time_limit_s) + 3LL * s.dns.timeout_s + 5) * 1000;
  return static_cast<int>(std::min<long long>(ms, 3600000));
}

SenderAuth notDone(const auth::Settings& settings, std::string_view why) {
  SenderAuth a;
  a.checked = true;
  a.authserv_id = settings.authserv_id;
  a.trusted_authserv_ids = settings.trusted_authserv_ids;
  a.spf = a.dkim = a.dmarc = "temperror";
  std::string comment;
  for (char c : why.substr(0, 200)) {  // our own words, but they go into a header comment
    if (c >= 0x20 && c <= 0x7e && c != '(' && c != ')' && c != '\\') comment += c;
  }
  a.results = "spf=temperror (authentication not done: " + comment + "); dkim=temperror; dmarc=temperror";
  return a;
}

int authenticatorPid(const auth::Authenticator& authenticator) {
  auto* remote = dynamic_cast<const RemoteAuthenticator*>(&authenticator);
  return remote ? remote->pid() : 0;
}

}  // namespace mugai::authclient
