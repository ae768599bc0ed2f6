/**
 * @file spawn.h
 * @brief Starting a helper process (a sandboxed worker, the scanner) with a socket to it: spawned,
 *        never a fork of the threaded service, so the child runs only its own main.
 *
 * Trust: the program and arguments are ours.
 * Limits: the child gets one end of a SOCK_SEQPACKET socketpair as fd kChildFd and closes every
 *         other descriptor it inherited (its main does, first thing); no signals blocked; its own
 *         process group (a terminal's ^C is for the service, which drains).
 * Errors: false with *why; killAndReap() never fails.
 */
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mugai::ipc {

constexpr int kChildFd = 3;

bool spawnWithSocket(const std::vector<std::string>& argv, pid_t* pid, int* sock, std::string* why);
/// SIGKILL (when still there) and waitpid; returns the wait status.
int killAndReap(pid_t pid);
/// "exit code 3", "signal SIGSEGV".
std::string describeStatus(int status);
/// The folder of the running executable (helpers are installed beside it).
std::string ownDirectory();

}  // namespace mugai::ipc
