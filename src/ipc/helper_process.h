/**
 * @file helper_process.h
 * @brief A helper process that serves requests per channel (the scanner `mugai-scan`, the
 *        authentication process `mugai-auth`), as its client sees it: starting it, its channels,
 *        and the one running instance that is started again when it died.
 *
 * Trust: the process is ours but reads hostile bytes; what it answers is decoded by the caller
 *        (the `accept` of HelperSlot::request).
 * Limits: one channel per concurrent request, created on demand (a socketpair whose other end
 *         goes over the control socket, Frame::kChannel) and reused; each request waits at most
 *         its timeout for the reply.
 * Errors: never throws. A process that dies, stays silent or answers something refused is
 *         marked dead and replaced; a request is tried once more on the new one, then fails.
 *         The last owner of a process kills (if needed) and reaps it.
 */
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "src/ipc/wire.h"

namespace mugai::ipc {

class HelperProcess {
 public:
  HelperProcess(pid_t pid, int control) : pid_(pid), control_(control) {}
  ~HelperProcess();
  HelperProcess(const HelperProcess&) = delete;
  HelperProcess& operator=(const HelperProcess&) = delete;

  /// A channel for one request: an idle one, or a new one. -1 when the process is gone.
  int take();
  /// A channel whose request was answered, for the next request.
  void giveBack(int channel);
  void markDead();
  /// Also true once the process has exited (someone else's channel saw it first).
  bool dead() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  int control_;
  mutable std::mutex m_;
  std::vector<int> idle_;        // guarded by m_
  mutable bool dead_ = false;    // guarded by m_
  mutable bool reaped_ = false;  // guarded by m_
};

/// Spawns `program` with a socket on fd 3, sends `init` in a sealed memfd as `init_type`, and
/// waits `timeout_ms` for Frame::kReady (its payload to *ready). nullptr with *why when it cannot
/// start, says Frame::kFailed (its text) or nothing.
std::shared_ptr<HelperProcess> startHelper(const std::string& program, Frame init_type, std::string_view init,
                                           int timeout_ms, std::string* ready, std::string* why);

/// The running helper behind a client, started again (one start at a time) when it died; stderr
/// says "mugai: the <name> was restarted" or why it cannot start.
class HelperSlot {
 public:
  using Start = std::function<std::shared_ptr<HelperProcess>(std::string* why)>;
  enum class Outcome {
    kAnswered,     ///< the reply was accepted
    kUnavailable,  ///< no process could be started
    kSilent,       ///< the process died, stayed silent or answered what `accept` refused (twice)
    kLocal,        ///< no memfd here (memory, descriptors): not the process's fault
  };

  HelperSlot(std::string name, Start start, std::shared_ptr<HelperProcess> first)
      : name_(std::move(name)), start_(std::move(start)), proc_(std::move(first)) {}

  std::shared_ptr<HelperProcess> current(std::string* why) const;
  /// A channel of the running process (started again once if need be); -1 when there is none.
  int openChannel() const;
  /// 0 when none is running.
  pid_t pid() const;

  /// `head` and `body` in one sealed memfd, sent as `type` on a channel; the reply of type
  /// `reply_type` within `timeout_ms` that `accept` takes. Tried once more on a new process when
  /// the first fails; *why says what went wrong last.
  Outcome request(const char* memfd_name, Frame type, std::string_view head, std::string_view body,
                  Frame reply_type, int timeout_ms, const std::function<bool(std::string_view)>& accept,
                  std::string* why) const;

 private:
  std::string name_;
  Start start_;
  mutable std::mutex m_;
  mutable std::shared_ptr<HelperProcess> proc_;  // guarded by m_
};

// ---- the helper's own side (mugai-scan, mugai-auth) ----

/// Closes what the helper inherited beyond kChildFd and receives its init frame of `type` (a memfd
/// of at most `max` bytes) into *init, waiting 30 s at most. False on anything else.
bool receiveHelperInit(Frame type, std::uint64_t max, std::string* init);

/// Serves the channels the client opens over kChildFd, each in a thread of its own running
/// `serve(channel)` (which closes it). Never returns: exit 0 when the client goes away (threads
/// may still run), 4 on a protocol error.
[[noreturn]] void serveHelperChannels(const std::function<void(int)>& serve);

}  // namespace mugai::ipc
