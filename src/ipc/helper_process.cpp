// A helper process, its channels, and its restarts (helper_process.h).
#include "src/ipc/helper_process.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "src/ipc/spawn.h"

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

std::shared_ptr<HelperProcess> startHelper(const std::string& program, Frame init_type, std::string_view init,
                                           int timeout_ms, std::string* ready, std::string* why) {
  pid_t pid = 0;
  int sock = -1;
  if (!spawnWithSocket({program}, &pid, &sock, why)) return nullptr;
  auto p = std::make_shared<HelperProcess>(pid, sock);
  int fd = sealedMemfd("helper-init", init);
  bool sent = fd >= 0 && sendFrame(sock, init_type, {}, fd);
  if (fd >= 0) close(fd);
  Frame type{};
  std::string payload;
  RecvStatus st = sent ? recvFrame(sock, type, payload, nullptr, timeout_ms) : RecvStatus::kError;
  if (st == RecvStatus::kOk && type == Frame::kReady) {
    *ready = std::move(payload);
    return p;
  }
  *why = program + ": " +
         (st == RecvStatus::kOk && type == Frame::kFailed ? payload.substr(0, 2000) : std::string("did not start"));
  return nullptr;
}

std::shared_ptr<HelperProcess> HelperSlot::current(std::string* why) const {
  std::lock_guard<std::mutex> lock(m_);
  if (proc_ && !proc_->dead()) return proc_;
  proc_.reset();
  proc_ = start_(why);
  std::fputs(proc_ ? ("mugai: the " + name_ + " was restarted\n").c_str()
                   : ("mugai: the " + name_ + " cannot start: " + *why + "\n").c_str(),
             stderr);
  return proc_;
}

int HelperSlot::openChannel() const {
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

pid_t HelperSlot::pid() const {
  std::lock_guard<std::mutex> lock(m_);
  return proc_ && !proc_->dead() ? proc_->pid() : 0;
}

HelperSlot::Outcome HelperSlot::request(const char* memfd_name, Frame type, std::string_view head,
                                        std::string_view body, Frame reply_type, int timeout_ms,
                                        const std::function<bool(std::string_view)>& accept,
                                        std::string* why) const {
  *why = "the " + name_ + " is not available";
  Outcome outcome = Outcome::kUnavailable;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto p = current(why);
    if (!p) break;
    int ch = p->take();
    if (ch < 0) {
      p->markDead();
      continue;
    }
    int fd = sealedMemfd(memfd_name, head, body);
    if (fd < 0) {
      p->giveBack(ch);
      *why = "no memfd for the request";
      return Outcome::kLocal;
    }
    bool sent = sendFrame(ch, type, {}, fd);
    close(fd);
    Frame got{};
    std::string payload;
    if (sent && recvFrame(ch, got, payload, nullptr, timeout_ms) == RecvStatus::kOk && got == reply_type &&
        accept(payload)) {
      p->giveBack(ch);
      return Outcome::kAnswered;
    }
    close(ch);
    p->markDead();  // replaced by the next call; its last user reaps it
    *why = "the " + name_ + " stopped answering";
    outcome = Outcome::kSilent;
  }
  return outcome;
}

bool receiveHelperInit(Frame type, std::uint64_t max, std::string* init) {
  close_range(kChildFd + 1, ~0U, 0);
  Frame got{};
  std::string payload;
  int fd = -1;
  if (recvFrame(kChildFd, got, payload, &fd, 30000) != RecvStatus::kOk || got != type || fd < 0) {
    if (fd >= 0) close(fd);
    return false;
  }
  Mapping m(fd, max);
  close(fd);
  if (!m.ok()) return false;
  init->assign(m.view());
  return true;
}

void serveHelperChannels(const std::function<void(int)>& serve) {
  for (;;) {
    Frame type{};
    std::string payload;
    int fd = -1;
    RecvStatus st = recvFrame(kChildFd, type, payload, &fd, -1);
    if (st == RecvStatus::kClosed) _exit(0);
    if (st != RecvStatus::kOk || type != Frame::kChannel || fd < 0) _exit(4);
    std::thread([serve, fd] { serve(fd); }).detach();
  }
}

}  // namespace mugai::ipc
