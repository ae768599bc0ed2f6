// One helper process and its channels (helper_process.h).
#include "src/ipc/helper_process.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/ipc/spawn.h"
#include "src/ipc/wire.h"

namespace mugai::ipc {

HelperProcess::~HelperProcess() {
  for (int c : idle_) close(c);
  close(control_);
  if (!reaped_) killAndReap(pid_);
}

int HelperProcess::take() {
  if (dead()) return -1;
  std::lock_guard<std::mutex> lock(m_);
  if (!idle_.empty()) {
    int c = idle_.back();
    idle_.pop_back();
    return c;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  bool sent = sendFrame(control_, Frame::kChannel, {}, sv[1]);
  close(sv[1]);
  if (sent) return sv[0];
  close(sv[0]);
  dead_ = true;
  return -1;
}

void HelperProcess::giveBack(int c) {
  std::lock_guard<std::mutex> lock(m_);
  if (dead_) {
    close(c);
  } else {
    idle_.push_back(c);
  }
}

void HelperProcess::markDead() {
  std::lock_guard<std::mutex> lock(m_);
  dead_ = true;
}

bool HelperProcess::dead() const {
  std::lock_guard<std::mutex> lock(m_);
  int status = 0;
  if (!reaped_ && waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    dead_ = true;
  }
  return dead_;
}

}  // namespace mugai::ipc
