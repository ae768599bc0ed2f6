// Worker sandbox: rlimits, namespaces, no_new_privs, seccomp allowlist (see sandbox.h).
#include "src/ipc/sandbox.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mugai::ipc {
namespace {

bool setLimit(int resource, std::uint64_t soft, std::uint64_t hard, std::string* why,
              const char* name) {
  rlimit l{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
  if (setrlimit(resource, &l) == 0) return true;
  *why = std::string("setrlimit(") + name + "): " + std::strerror(errno);
  return false;
}

/// System calls parsing needs (x86_64 and aarch64 names; libseccomp skips what an arch lacks).
const int kAllowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
    SCMP_SYS(statx), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
    SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(msync), SCMP_SYS(futex), SCMP_SYS(exit),
    SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
    SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getpid), SCMP_SYS(gettid),
    SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
    SCMP_SYS(getrandom), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
    SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(memfd_create), SCMP_SYS(ftruncate),
    SCMP_SYS(fcntl), SCMP_SYS(getrusage), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
    SCMP_SYS(set_tid_address), SCMP_SYS(restart_syscall), SCMP_SYS(membarrier),
    SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(fadvise64),
    SCMP_SYS(getpriority), SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler),
};

/// The scanner's extra: its own scratch files (libclamav's CL_ENGINE_TMPDIR) and directories.
const int kFiles[] = {
    SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(mkdir),
    SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(getdents64), SCMP_SYS(access),
    SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(rename),
    SCMP_SYS(renameat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(getcwd), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(umask),
    SCMP_SYS(fchmod), SCMP_SYS(chmod), SCMP_SYS(ioctl), SCMP_SYS(accept4), SCMP_SYS(accept),
    SCMP_SYS(shutdown), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2), SCMP_SYS(pipe2), SCMP_SYS(tgkill),
};

/// The authentication process's extra: DNS over UDP and TCP (res_nsend), as a client only.
const int kInetClient[] = {
    SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmmsg),
    SCMP_SYS(recvmmsg), SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
};

/// Reading beneath the Landlock-confined directories (read_only_paths): path lookups and listing.
const int kReadPaths[] = {
    SCMP_SYS(getdents64), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
    SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(stat), SCMP_SYS(lstat),
};

/// Flags that write, create or truncate: an open carrying any of them is refused in read-only mode
/// (O_TMPFILE without its O_DIRECTORY bit, which a plain directory open also carries).
constexpr scmp_datum_t kWriteFlags = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);

/// Landlock: from now on this process opens files beneath `paths` for reading, and nothing else.
/// Returns false with *why_not when the host has no Landlock (or refuses the ruleset).
bool confineReads(const std::vector<std::string>& paths, std::string* why_not) {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) {
    *why_not = std::string("Landlock is not available (") + std::strerror(errno) + ")";
    return false;
  }
  landlock_ruleset_attr attr{};
  attr.handled_access_fs =
      LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
      LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
      LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
      LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
      LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  int rs = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (rs < 0) {
    *why_not = std::string("landlock_create_ruleset: ") + std::strerror(errno);
    return false;
  }
  for (const auto& path : paths) {
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0) continue;  // not on this host: nothing to read there
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    beneath.parent_fd = fd;
    long rc = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    ::close(fd);
    if (rc != 0) {
      *why_not = "landlock_add_rule(" + path + "): " + std::strerror(errno);
      ::close(rs);
      return false;
    }
  }
  long rc = syscall(SYS_landlock_restrict_self, rs, 0);
  int saved = errno;
  ::close(rs);
  if (rc != 0) {
    *why_not = std::string("landlock_restrict_self: ") + std::strerror(saved);
    return false;
  }
  return true;
}

bool installFilter(bool allow_files, bool inet_client, bool read_only_opens, std::string* why) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)),
                                                        seccomp_release);
  if (!ctx) {
    *why = "seccomp_init failed";
    return false;
  }
  int rc = 0;
  for (int nr : kAllowed) rc = rc ? rc : seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
  if (allow_files) {
    for (int nr : kFiles) rc = rc ? rc : seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
  } else if (read_only_opens) {  // only after Landlock confined them (enterSandbox)
    for (int nr : kReadPaths) rc = rc ? rc : seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
    if (!rc) {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                            SCMP_A2(SCMP_CMP_MASKED_EQ, kWriteFlags, 0));
    }
    if (!rc) {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
                            SCMP_A1(SCMP_CMP_MASKED_EQ, kWriteFlags, 0));
    }
    // openat2 keeps its flags in a struct a filter cannot read: ENOSYS, glibc falls back.
    if (!rc) rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
  }
  if (inet_client) {
    for (int nr : kInetClient) rc = rc ? rc : seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
    for (scmp_datum_t family : {AF_INET, AF_INET6}) {
      rc = rc ? rc : seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                      SCMP_A0(SCMP_CMP_EQ, family));
    }
  }
  // Threads yes, processes no: clone only with CLONE_THREAD; clone3 (whose flags a filter cannot
  // see) says ENOSYS, and glibc falls back to clone.
  if (!rc) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  }
  if (!rc) rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  // Limits on itself only (the per-item CPU limit); abort() signals itself only.
  if (!rc) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
                          SCMP_A0(SCMP_CMP_EQ, 0));
  }
  if (!rc && !allow_files) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                          SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid())));
  }
  if (!rc) rc = seccomp_load(ctx.get());
  if (rc) {
    *why = std::string("seccomp: ") + std::strerror(-rc);
    return false;
  }
  return true;
}

}  // namespace

bool enterSandbox(const SandboxOptions& o, std::string* why, std::string* note) {
  if (!setLimit(RLIMIT_CORE, 0, 0, why, "RLIMIT_CORE")) return false;
  if (o.address_space && !setLimit(RLIMIT_AS, o.address_space, o.address_space, why, "RLIMIT_AS")) {
    return false;
  }
  if (o.cpu_s && !setLimit(RLIMIT_CPU, o.cpu_s, o.cpu_s, why, "RLIMIT_CPU")) return false;
  if (o.namespaces) {
    // Unprivileged: a user namespace first, which then allows new net and mount namespaces (an
    // empty network: not even loopback). Refused in some containers and hardened hosts.
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0 && note) {
      *note = std::string("no private network/mount namespace (unshare: ") +
              std::strerror(errno) + "); seccomp still refuses sockets and files";
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *why = std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
    return false;
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  bool read_only_opens = false;
  if (!o.allow_files && !o.read_only_paths.empty()) {
    std::string why_not;
    read_only_opens = confineReads(o.read_only_paths, &why_not);
    if (note) {
      std::string what = read_only_opens
                             ? "reads files beneath " + std::to_string(o.read_only_paths.size()) +
                                   " directories only (Landlock)"
                             : why_not + ": no file can be read (fonts: PDF flatten fails closed)";
      *note = note->empty() ? what : *note + "; " + what;
    }
  }
  return installFilter(o.allow_files, o.allow_inet_client, read_only_opens, why);
}

void limitCpuFromNow(std::uint64_t seconds) {
  rusage u{};
  rlimit l{};
  if (getrusage(RUSAGE_SELF, &u) != 0 || getrlimit(RLIMIT_CPU, &l) != 0) return;
  rlim_t used = static_cast<rlim_t>(u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1);
  rlim_t want = used + static_cast<rlim_t>(seconds);
  if (l.rlim_max != RLIM_INFINITY && want > l.rlim_max) want = l.rlim_max;
  l.rlim_cur = want;
  setrlimit(RLIMIT_CPU, &l);
}

}  // namespace mugai::ipc
