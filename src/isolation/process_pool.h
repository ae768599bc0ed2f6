/**
 * @file process_pool.h
 * @brief The ItemProcessor of `mugai serve`: a pool of pre-started, sandboxed worker processes
 *        (worker.h). The relay and the file drop call it exactly as they would call the Engine.
 *
 * Trust: what comes back from a worker is hostile (wire.h decoders); the pool's own engine (same
 *        policy) provides the scanner the workers ask and the limits and notices it applies.
 * Limits: one item per worker at a time; a wall-clock deadline per item (sanitizer_deadline_ms
 *         plus a grace of kGraceMs for the worker's own limit.time to arrive), after which the
 *         worker is killed; worker_memory_limit (RLIMIT_AS) and a CPU limit per item; a worker is
 *         replaced after worker_recycle_limit items and after any failure.
 * Errors: never throws. A worker that crashes or is killed: the item is tried once more on a
 *         fresh worker, then blocked as worker.crashed; past the deadline (or its CPU limit):
 *         limit.time; out of memory: limit.memory. Blocked items carry the notice and are kept
 *         (failedItemResult): never a TempFail, so a poison message cannot cause a retry loop.
 *         No worker could be started: TempFail internal.error (an environment problem, retried).
 */
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mugai/pipeline/item_processor.h"
#include "mugai/pipeline/pipeline.h"

namespace mugai::isolation {

struct PoolOptions {
  /// argv of a worker; the default runs this executable's hidden worker mode.
  std::vector<std::string> command = {"/proc/self/exe", "worker"};
  std::size_t workers = 2;
  bool namespaces = true;  ///< try private network/mount namespaces (best effort)
  /// Operator log lines (worker failures, the namespace note once). Default: stderr.
  std::function<void(const std::string&)> log;
};

class ProcessPool final : public ItemProcessor {
 public:
  static constexpr int kGraceMs = 2000;

  /// Starts the workers for `engine`'s policy (its rules text goes to each worker; its scanner
  /// serves their scans). nullptr with *error when the first worker cannot start (no seccomp,
  /// the executable cannot run): the caller refuses to start.
  static std::shared_ptr<ProcessPool> start(std::shared_ptr<const Engine> engine,
                                            PoolOptions options, std::string* error);
  ~ProcessPool() override;
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  ProcessResult processMessage(std::string_view raw, const Envelope& envelope,
                               const std::string& id) const override;
  ProcessResult processFile(std::string_view data, const std::string& untrusted_filename,
                            const std::string& id) const override;
  const policy::Policy& policy() const override;
  const Engine& engine() const;

  /// Process ids of the workers alive now (tests, the kill drill).
  std::vector<pid_t> workerPids() const;

  struct Impl;

 private:
  explicit ProcessPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mugai::isolation
