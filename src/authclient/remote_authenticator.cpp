// The client side of the authentication process (remote_authenticator.h).
#include "src/authclient/remote_authenticator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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
  WireWriter w;
  encodeAuthSettings(w, settings);
  std::string ready;
  return startHelper(program, Frame::kAuthInit, w.bytes(), kStartTimeoutMs, &ready, why);
}

class RemoteAuthenticator final : public auth::Authenticator {
 public:
  RemoteAuthenticator(const std::string& program, const auth::Settings& settings,
                      std::shared_ptr<HelperProcess> first)
      : Authenticator(settings),
        slot_("authentication process",
              [program, settings](std::string* why) { return startProcess(program, settings, why); },
              std::move(first)),
        timeout_ms_(replyTimeoutMs(settings)) {}

  SenderAuth check(std::string_view raw, const auth::Peer& peer) const override {
    WireWriter head;
    encodeAuthPeer(head, peer);
    SenderAuth a;
    std::string why;
    auto accept = [&a](std::string_view payload) { return decodeAuthReply(payload, a); };
    auto outcome = slot_.request("auth", Frame::kAuth, head.bytes(), raw, Frame::kAuthReply, timeout_ms_, accept, &why);
    if (outcome == HelperSlot::Outcome::kAnswered) {
      a.checked = true;
      a.authserv_id = settings_.authserv_id;
      a.trusted_authserv_ids = settings_.trusted_authserv_ids;
      return a;
    }
    // `why` goes to the log; the header gets a brief reason (no paths, no error text).
    std::fprintf(stderr, "mugai: sender authentication not done: %s\n", why.c_str());
    return notDone(settings_, outcome == HelperSlot::Outcome::kSilent ? "mugai-auth did not answer"
                              : outcome == HelperSlot::Outcome::kUnavailable ? "mugai-auth not available"
                                                                              : "no memory for the check");
  }

  pid_t pid() const { return slot_.pid(); }

 private:
  HelperSlot slot_;
  int timeout_ms_ = 0;
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
