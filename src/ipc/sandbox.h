/**
 * @file sandbox.h
 * @brief What a worker process gives up before it reads its first hostile byte: resource limits,
 *        the network and mount namespaces (where the host allows), new privileges, and every
 *        system call parsing does not need (a libseccomp allowlist).
 *
 * Trust: called by the worker itself, before any item and after everything it needs was opened
 *        (libmagic's database, iconv modules, the socket to its parent).
 * Limits: address space (RLIMIT_AS), CPU time (RLIMIT_CPU; the worker lowers the soft limit per
 *         item), no core files, no new files (RLIMIT_FSIZE 0 for written files is left to seccomp:
 *         open/openat/creat are refused outright).
 * Errors: false with *why when no_new_privs or the filter cannot be installed (the worker then
 *         refuses to start: fail closed). Namespaces and Landlock are best effort: *note says
 *         why not (without Landlock, read_only_paths open nothing: less, never more).
 *
 * The filter's default is EPERM, not a kill: a library that tries something outside the list
 * (opening a file, a socket) gets an error it already handles, and the item fails closed through
 * the sanitizer's own error path. Allowed: memory, reading and writing descriptors already open,
 * sendmsg/recvmsg on the parent's socket, memfd_create (results), clocks, signals, threads
 * (clone with CLONE_THREAD only: no fork), exit.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mugai::ipc {

struct SandboxOptions {
  std::uint64_t address_space = 0;  ///< RLIMIT_AS bytes; 0 = leave as it is
  std::uint64_t cpu_s = 0;          ///< RLIMIT_CPU hard limit, seconds; 0 = leave as it is
  bool namespaces = true;           ///< try unshare(user, net, mount)
  /// Also allow creating and opening files (the scanner process: libclamav writes its scratch
  /// files); sockets, exec and the rest stay refused.
  bool allow_files = false;
  /// Also allow being a network client (the authentication process: DNS to the nameserver):
  /// socket() of AF_INET/AF_INET6 only, connect, send/receive, socket options; no bind, listen
  /// or accept, no AF_UNIX or netlink socket. Keep `namespaces` off (a private network has no
  /// nameserver). seccomp cannot see addresses: which hosts are reached is the host firewall's.
  bool allow_inet_client = false;
  /// Directories whose files may be opened read-only (a renderer's fonts: the policy's
  /// Sanitizer::readOnlyPaths()). Confined by Landlock: every other path stays closed to open, and
  /// seccomp allows open/openat only without write, create, truncate or append flags. On a host
  /// without Landlock no file is opened at all (*note says so) and sanitizers fail closed.
  std::vector<std::string> read_only_paths;
};

bool enterSandbox(const SandboxOptions& options, std::string* why, std::string* note);

/// Lowers the soft CPU limit to what this process used so far plus `seconds` (per item), under
/// the hard limit. Allowed by the filter (prlimit64 on itself only).
void limitCpuFromNow(std::uint64_t seconds);

}  // namespace mugai::ipc
