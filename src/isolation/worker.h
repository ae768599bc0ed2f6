/**
 * @file worker.h
 * @brief The sandboxed worker process (`mugai worker`, hidden; started by ProcessPool only).
 *
 * Trust: its parent is trusted; every item it is given is hostile, and so the worker itself is
 *        treated as hostile by its parent once it has read one (src/ipc/wire.h decoders).
 * Limits: see sandbox.h; one item at a time; the parent enforces the wall-clock deadline.
 * Errors: exit codes below; an item's own failures are verdicts in its result.
 *
 * Life: the parent starts it with one end of a SOCK_SEQPACKET socketpair as fd 3 and sends the
 * init record (rules text, limits) and, when the scanner is the scanner process, a channel to it
 * (scans then go straight there; else they go to the parent). The worker builds its engine
 * (registry, policy, libmagic, iconv), then enters the sandbox and answers kReady. Each item
 * arrives as a sealed memfd and its result leaves as one. It exits when the socket closes.
 */
#pragma once

#include <functional>
#include <string>

#include "mugai/sanitizer/registry.h"

namespace mugai::isolation {

constexpr int kWorkerFd = 3;  ///< ipc::kChildFd
constexpr int kExitOutOfMemory = 70;  ///< operator new failed (worker_memory_limit)
constexpr int kExitSandbox = 71;      ///< the sandbox could not be entered: refuses to work
constexpr int kExitProtocol = 72;     ///< the parent sent something unexpected
constexpr int kExitInit = 73;         ///< the rules or the engine could not be built
constexpr int kExitScanner = 74;      ///< its channel to the scanner failed (scanner restarted)

/// The worker's main. `extra` registers more sanitizers (test binaries only: a probe that tries
/// what the sandbox must refuse).
int workerMain(const std::function<void(Registry&)>& extra = {});

}  // namespace mugai::isolation
