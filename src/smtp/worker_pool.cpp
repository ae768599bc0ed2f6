#include "src/smtp/worker_pool.h"

namespace mugai::smtp {

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_limit)
    : queue_limit_(queue_limit ? queue_limit : 1) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::trySubmit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void WorkerPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      busy_.fetch_add(1, std::memory_order_relaxed);
    }
    try {
      task();
    } catch (...) {
      // Tasks report through their own promise; an escaping exception must not end the worker.
    }
    busy_.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace mugai::smtp
