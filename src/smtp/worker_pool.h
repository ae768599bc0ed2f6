/**
 * @file worker_pool.h
 * @brief A bounded pool of engine worker threads (clamd thrmgr shape) and the swappable engine.
 *
 * Trust: tasks are ours.
 * Limits: `threads` workers, at most `queue_limit` tasks waiting; trySubmit() refuses beyond that
 *         (the caller answers 451: explicit back-pressure, never unbounded memory).
 * Errors: a task's exception is caught and dropped (tasks report through their own promise).
 */
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "mugai/pipeline/item_processor.h"
#include "mugai/pipeline/pipeline.h"

namespace mugai::smtp {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t queue_limit);
  /// Runs what is queued, then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `task`; false when the queue is full or the pool is stopping.
  bool trySubmit(std::function<void()> task);
  std::size_t threads() const { return threads_.size(); }
  /// Workers running a task now, and tasks waiting (for /metrics).
  std::size_t busy() const { return busy_.load(std::memory_order_relaxed); }
  std::size_t queued() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::size_t queue_limit_;
  std::atomic<std::size_t> busy_{0};
  std::vector<std::thread> threads_;
};

/// The current engine and the item processor that runs items with it, swapped together on reload
/// (ClamAV reload_th: build, then swap; sessions in flight keep what they started with). Without
/// isolation the processor is the engine itself; with it, the worker pool (src/isolation).
class EngineHolder {
 public:
  explicit EngineHolder(std::shared_ptr<const Engine> engine,
                        ItemProcessorConstSharedPtr processor = nullptr) {
    set(std::move(engine), std::move(processor));
  }
  std::shared_ptr<const Engine> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return engine_;
  }
  ItemProcessorConstSharedPtr processor() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return processor_;
  }
  /// `processor` null: the engine processes items itself.
  void set(std::shared_ptr<const Engine> engine, ItemProcessorConstSharedPtr processor = nullptr) {
    if (!processor) processor = engine;
    std::lock_guard<std::mutex> lock(mutex_);
    engine_.swap(engine);
    processor_.swap(processor);
  }
  ItemProcessorGetter getter() const {
    return [this] { return processor(); };
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Engine> engine_;    // guarded by mutex_
  ItemProcessorConstSharedPtr processor_;   // guarded by mutex_
};

}  // namespace mugai::smtp
