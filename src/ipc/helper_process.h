/**
 * @file helper_process.h
 * @brief One running helper process that serves requests per channel (the scanner `mugai-scan`,
 *        the authentication process `mugai-auth`): its control socket, and the channels not in use.
 *
 * Trust: the process is ours but reads hostile bytes; what it answers is decoded by the caller.
 * Limits: one channel per concurrent request, created on demand (a socketpair whose other end
 *         goes over the control socket, Frame::kChannel) and reused.
 * Errors: take() gives -1 once the process is gone; the caller marks it dead when a channel
 *         fails, and starts a new one. The last owner kills (if needed) and reaps it.
 */
#pragma once

#include <sys/types.h>

#include <mutex>
#include <vector>

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
  int control() const { return control_; }

 private:
  pid_t pid_;
  int control_;
  mutable std::mutex m_;
  std::vector<int> idle_;        // guarded by m_
  mutable bool dead_ = false;    // guarded by m_
  mutable bool reaped_ = false;  // guarded by m_
};

}  // namespace mugai::ipc
