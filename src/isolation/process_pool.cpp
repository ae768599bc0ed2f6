// The worker process pool (process_pool.h): spawn, hand out, deadline, classify, recycle.
#include "src/isolation/process_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "mugai/text/charset.h"
#include "src/ipc/spawn.h"
#include "src/ipc/wire.h"
#include "src/scanclient/remote_scanner.h"
#include "src/isolation/worker.h"

namespace mugai::isolation {
using namespace mugai::ipc;  // NOLINT: the wire and the sandbox are this module's vocabulary
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kStartTimeoutMs = 30000;

struct Slot {
  enum class State { kEmpty, kStarting, kIdle, kBusy };
  State state = State::kEmpty;
  pid_t pid = 0;
  int sock = -1;
  std::uint64_t items = 0;
  pid_t scanner = 0;  ///< the scanner process its channel goes to (direct scans)
};

/// How one conversation with a worker ended.
struct Exchange {
  enum class Kind { kResult, kTimeout, kDied, kBad };
  Kind kind = Kind::kBad;
  ProcessResult result;
  std::string detail;
};

}  // namespace

struct ProcessPool::Impl {
  std::shared_ptr<const Engine> engine;
  PoolOptions options;
  std::string init;  // the encoded init record every worker gets
  bool direct_scans = false;  // workers scan over their own channel to the scanner process
  std::uint64_t deadline_ms = 0;
  std::uint64_t recycle = 1;
  /// Largest memfd taken from a worker (a result, or bytes to scan): what the policy's limits let
  /// an item grow to, with room; a worker that sends more is treated as failed.
  std::uint64_t max_from_worker = 0;

  mutable std::mutex m;
  /// Two wake-ups, each for one waiter: a slot became idle (a session thread takes it), a slot
  /// became empty (the spawner fills it). One notify_all on a shared one woke every waiting
  /// session for each item, and they went back to sleep: serve's CPU doubled on plain mail.
  mutable std::condition_variable idle_cv, empty_cv;
  mutable std::vector<Slot> slots;  // guarded by m
  bool stopping = false;             // guarded by m
  bool noted = false;                // guarded by m: the namespace note is logged once
  std::thread spawner;

  void log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      std::fputs(("mugai: " + line + "\n").c_str(), stderr);
    }
  }

  /// Not decided here (no worker could be started, an error of our own): the sender retries.
  static ProcessResult tempfail(const std::string& id, const std::string& why) {
    ProcessResult r;
    r.verdict = r.report.final_verdict = Verdict::TempFail;
    r.report.id = id;
    r.report.reason = Reason::InternalError;
    r.report.defects.push_back("internal: " + why);
    return r;
  }
  bool spawn(Slot& s, std::string* why);
  void spawnLoop();
  int acquire(Clock::time_point until) const;
  void release(int i, bool keep) const;
  Exchange converse(const Slot& s, Clock::time_point deadline) const;
  ProcessResult run(Frame kind, const std::string& head, std::string_view body,
                    const std::string& id,
                    const std::function<ProcessResult(Reason, const std::string&)>& failed) const;
};

bool ProcessPool::Impl::spawn(Slot& s, std::string* why) {
  pid_t pid = 0;
  int sock = -1;
  if (!spawnWithSocket(options.command, &pid, &sock, why)) return false;
  int fd = sealedMemfd("init", init);
  bool ok = fd >= 0 && sendFrame(sock, Frame::kInit, {}, fd);
  if (fd >= 0) close(fd);
  if (ok && direct_scans) {  // its own channel to the scanner process
    int ch = scanclient::openScannerChannel(*engine->services().scanner);
    ok = ch >= 0 && sendFrame(sock, Frame::kChannel, {}, ch);
    if (ch >= 0) close(ch);
    if (ch < 0) *why = "no channel to the scanner process";
    s.scanner = scanclient::scannerPid(*engine->services().scanner);
  }
  Frame type{};
  std::string payload;
  if (ok && recvFrame(sock, type, payload, nullptr, kStartTimeoutMs) == RecvStatus::kOk &&
      type == Frame::kReady) {
    s.pid = pid;
    s.sock = sock;
    s.items = 0;
    if (!payload.empty()) {
      std::lock_guard<std::mutex> lock(m);
      if (!noted) log("isolation: " + text::logEscape(payload, 300));
      noted = true;
    }
    return true;
  }
  close(sock);
  int status = killAndReap(pid);
  *why = "worker did not start (" + describeStatus(status) + ")" +
         (type == Frame::kFailed ? ": " + text::logEscape(payload, 300) : "");
  return false;
}

void ProcessPool::Impl::spawnLoop() {
  for (;;) {
    std::size_t i = 0;
    {
      std::unique_lock<std::mutex> lock(m);
      auto empty = [this] {
        for (const auto& s : slots)
          if (s.state == Slot::State::kEmpty) return true;
        return false;
      };
      empty_cv.wait(lock, [&] { return stopping || empty(); });
      if (stopping) return;
      while (slots[i].state != Slot::State::kEmpty) ++i;
      slots[i].state = Slot::State::kStarting;
    }
    Slot fresh;
    std::string why;
    bool ok = spawn(fresh, &why);
    std::unique_lock<std::mutex> lock(m);
    if (ok) {
      fresh.state = Slot::State::kIdle;
      slots[i] = fresh;
      idle_cv.notify_one();
      continue;
    }
    slots[i].state = Slot::State::kEmpty;
    log("isolation: " + why + "; trying again in 1 s");
    empty_cv.wait_for(lock, std::chrono::seconds(1), [this] { return stopping; });
  }
}

int ProcessPool::Impl::acquire(Clock::time_point until) const {
  std::unique_lock<std::mutex> lock(m);
  int found = -1;
  idle_cv.wait_until(lock, until, [&] {
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].state == Slot::State::kIdle) {
        found = static_cast<int>(i);
        return true;
      }
    }
    return stopping;
  });
  if (found >= 0) {
    slots[static_cast<std::size_t>(found)].state = Slot::State::kBusy;
  } else {
    idle_cv.notify_one();  // timed out: a wake-up this thread may have taken goes to the next
  }
  return found;
}

void ProcessPool::Impl::release(int i, bool keep) const {
  Slot s;
  {
    std::lock_guard<std::mutex> lock(m);
    Slot& slot = slots[static_cast<std::size_t>(i)];
    if (keep) {
      slot.state = Slot::State::kIdle;
      idle_cv.notify_one();
      return;
    }
    s = slot;
    slot = Slot{};  // kEmpty: the spawner starts a fresh one
  }
  empty_cv.notify_one();
  if (s.sock >= 0) close(s.sock);
  if (s.pid > 0) killAndReap(s.pid);
}

Exchange ProcessPool::Impl::converse(const Slot& s, Clock::time_point deadline) const {
  Exchange ex;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      ex.kind = Exchange::Kind::kTimeout;
      return ex;
    }
    Frame type{};
    std::string payload;
    int fd = -1;
    RecvStatus st = recvFrame(s.sock, type, payload, &fd, static_cast<int>(left.count()));
    if (st == RecvStatus::kTimeout) continue;  // the loop sees the deadline
    if (st != RecvStatus::kOk) {
      ex.kind = st == RecvStatus::kClosed ? Exchange::Kind::kDied : Exchange::Kind::kBad;
      return ex;
    }
    Mapping m(fd, max_from_worker);
    if (fd >= 0) close(fd);
    if (type == Frame::kScan && m.ok()) {
      WireReader r(m.view());
      std::string name = r.str(256);
      std::string_view data = m.view().substr(m.view().size() - r.remaining());
      ScanResult sr;
      const auto& scanner = engine->services().scanner;
      if (!r.ok()) {
        ex.detail = "malformed scan request";
        return ex;
      }
      if (scanner) {
        sr = scanner->scan(data, name);
      } else {
        sr.status = ScanResult::Status::Clean;  // scanning disabled (tests only)
      }
      if (!sendFrame(s.sock, Frame::kScanReply, encodeScanResult(sr))) {
        ex.kind = Exchange::Kind::kDied;
        return ex;
      }
      continue;
    }
    if (type == Frame::kResult && fd < 0 && decodeResult(payload, ex.result)) {  // small: inline
      ex.kind = Exchange::Kind::kResult;
      return ex;
    }
    if (type == Frame::kResult && fd >= 0 && payload.empty() && m.ok() &&
        decodeResult(m.view(), ex.result)) {
      ex.kind = Exchange::Kind::kResult;
      return ex;
    }
    ex.detail = "unexpected or malformed frame from the worker";
    return ex;
  }
}

ProcessResult ProcessPool::Impl::run(
    Frame kind, const std::string& head, std::string_view body, const std::string& id,
    const std::function<ProcessResult(Reason, const std::string&)>& failed) const {
  const auto started = Clock::now();
  int crashes = 0, lost_sends = 0, stale = 0, scanner_lost = 0;
  for (;;) {
    int i = acquire(started + std::chrono::milliseconds(deadline_ms));
    if (i < 0) {
      log("isolation: id=" + id + " no worker available: tempfail");
      return tempfail(id, "no sandboxed worker available");
    }
    Slot s;
    {
      std::lock_guard<std::mutex> lock(m);
      s = slots[static_cast<std::size_t>(i)];
    }
    if (direct_scans && s.scanner != scanclient::scannerPid(*engine->services().scanner) &&
        stale++ < static_cast<int>(slots.size()) + 1) {
      release(i, false);  // its channel leads to a scanner process that is gone: a fresh one
      continue;
    }
    // A small item travels in the frame itself (most mail): no memfd to create, map and free.
    bool sent;
    if (head.size() + body.size() <= kMaxInline) {
      sent = sendFrame(s.sock, kind, head, body, -1);
    } else {
      int fd = sealedMemfd("item", head, body);
      sent = fd >= 0 && sendFrame(s.sock, kind, {}, fd);
      if (fd >= 0) close(fd);
    }
    if (!sent) {  // gone while idle (killed): the item never reached it
      release(i, false);
      if (++lost_sends < 3) continue;
      return failed(Reason::WorkerCrashed, "workers keep disappearing");
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(deadline_ms + kGraceMs);
    Exchange ex;
    try {
      ex = converse(s, deadline);
    } catch (const std::exception& e) {  // e.g. no memory for what it sent: the worker goes
      ex.kind = Exchange::Kind::kBad;
      ex.detail = std::string("parent: ") + e.what();
    }
    if (ex.kind == Exchange::Kind::kResult) {
      bool keep;
      {
        std::lock_guard<std::mutex> lock(m);
        keep = ++slots[static_cast<std::size_t>(i)].items < recycle;
      }
      release(i, keep);
      return std::move(ex.result);
    }
    {
      std::lock_guard<std::mutex> lock(m);
      slots[static_cast<std::size_t>(i)].pid = 0;  // reaped here, not by release()
    }
    close(s.sock);
    {
      std::lock_guard<std::mutex> lock(m);
      slots[static_cast<std::size_t>(i)].sock = -1;
    }
    int status = killAndReap(s.pid);
    release(i, false);
    std::string how = "worker " + std::to_string(s.pid) + " " + describeStatus(status);
    if (ex.kind == Exchange::Kind::kTimeout) {
      log("isolation: id=" + id + " " + how + ": killed after " + std::to_string(deadline_ms + kGraceMs) + " ms (limit.time)");
      return failed(Reason::LimitTime, "killed after the deadline of " + std::to_string(deadline_ms) + " ms");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitOutOfMemory) {
      log("isolation: id=" + id + " " + how + ": out of memory (limit.memory)");
      return failed(Reason::LimitMemory, "out of memory (worker_memory_limit)");
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
      log("isolation: id=" + id + " " + how + ": CPU limit (limit.time)");
      return failed(Reason::LimitTime, "CPU time limit");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitScanner && ++scanner_lost < 3) {
      // Not the item's doing: the scanner process went away under it (it is started again).
      log("isolation: id=" + id + " " + how + ": lost the scanner, trying once more on a fresh worker");
      continue;
    }
    std::string what = how + (ex.detail.empty() ? "" : " (" + ex.detail + ")");
    if (++crashes < 2) {
      log("isolation: id=" + id + " " + what + ": trying once more on a fresh worker");
      continue;
    }
    log("isolation: id=" + id + " " + what + " again: blocked (worker.crashed)");
    return failed(Reason::WorkerCrashed, "the worker failed twice: " + what);
  }
}

std::shared_ptr<ProcessPool> ProcessPool::start(std::shared_ptr<const Engine> engine,
                                                PoolOptions options, std::string* error) {
  auto impl = std::make_unique<Impl>();
  const policy::Policy& pol = engine->policy();
  const Limits& l = pol.limits;
  impl->deadline_ms = l.sanitizer_deadline_ms;
  impl->recycle = l.worker_recycle_limit;
  impl->max_from_worker = 4 * std::max({l.message_size_limit, l.decoded_bytes_limit,
                                        l.expanded_size_limit}) + (64ULL << 20);
  const std::uint64_t item_cpu_s = l.sanitizer_deadline_ms / 1000 + 2;
  WireWriter w;
  w.str(pol.text);
  w.str(pol.source);
  w.str(pol.base_dir);
  w.u64(l.worker_memory_limit);
  w.u64(item_cpu_s * (l.worker_recycle_limit + 1));  // hard CPU limit over the worker's life
  w.u8(options.namespaces ? 1 : 0);
  w.u64(item_cpu_s);
  const auto& scanner = engine->services().scanner;
  // The scanner process (mugai-scan): each worker gets a channel of its own, scans go straight
  // there. A scanner in this process (tests): the workers' scans come back to the pool.
  impl->direct_scans = scanner && scanclient::scannerPid(*scanner) > 0;
  w.u8(!scanner ? 0 : impl->direct_scans ? 2 : 1);
  impl->init = std::move(w.bytes());
  impl->engine = std::move(engine);
  impl->options = std::move(options);
  impl->slots.resize(std::max<std::size_t>(1, impl->options.workers));
  // The first worker is started here: a host where the sandbox cannot work refuses to start.
  Slot first;
  if (!impl->spawn(first, error)) return nullptr;
  first.state = Slot::State::kIdle;
  impl->slots[0] = first;
  Impl* raw = impl.get();
  impl->spawner = std::thread([raw] { raw->spawnLoop(); });
  return std::shared_ptr<ProcessPool>(new ProcessPool(std::move(impl)));
}

ProcessPool::ProcessPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProcessPool::~ProcessPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stopping = true;
  }
  impl_->idle_cv.notify_all();
  impl_->empty_cv.notify_all();
  if (impl_->spawner.joinable()) impl_->spawner.join();
  for (auto& s : impl_->slots) {
    if (s.sock >= 0) close(s.sock);
    if (s.pid > 0) killAndReap(s.pid);
  }
}

ProcessResult ProcessPool::processMessage(std::string_view raw, const Envelope& envelope,
                                          const std::string& id) const {
  WireWriter w;
  w.str(id);
  encodeEnvelope(w, envelope);
  w.u64(raw.size());  // the bytes follow, unencoded
  try {
    return impl_->run(Frame::kMail, w.bytes(), raw, id, [&](Reason reason, const std::string& d) {
      return failedItemResult(policy(), envelope, id, "", raw.size(), reason, d);
    });
  } catch (const std::exception& e) {
    return Impl::tempfail(id, e.what());
  }
}

ProcessResult ProcessPool::processFile(std::string_view data, const std::string& untrusted_filename,
                                       const std::string& id) const {
  WireWriter w;
  w.str(id);
  w.str(untrusted_filename);
  w.u64(data.size());
  try {
    return impl_->run(Frame::kFile, w.bytes(), data, id, [&](Reason reason, const std::string& d) {
      return failedItemResult(policy(), Envelope{}, id,
                              untrusted_filename.empty() ? "(no name)" : untrusted_filename,
                              data.size(), reason, d);
    });
  } catch (const std::exception& e) {
    return Impl::tempfail(id, e.what());
  }
}

const policy::Policy& ProcessPool::policy() const { return impl_->engine->policy(); }
const Engine& ProcessPool::engine() const { return *impl_->engine; }

std::vector<pid_t> ProcessPool::workerPids() const {
  std::lock_guard<std::mutex> lock(impl_->m);
  std::vector<pid_t> pids;
  for (const auto& s : impl_->slots)
    if (s.pid > 0) pids.push_back(s.pid);
  return pids;
}

}  // namespace mugai::isolation
