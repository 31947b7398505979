#include "sim/thread_pool.h"

#include <algorithm>
#include <string>
#include <system_error>
#include <utility>

#include "common/error.h"

namespace edgefl::sim {

ThreadPool::ThreadPool(size_t num_threads)
    : ThreadPool(num_threads, [](std::function<void()> fn) { return std::thread(std::move(fn)); }) {
}

ThreadPool::ThreadPool(size_t num_threads, const Spawn& spawn) {
  if (num_threads == 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(num_threads);
  for (size_t i = 0; i < num_threads; ++i) {
    try {
      workers_.push_back(spawn([this] { WorkerLoop(); }));
    } catch (const std::system_error& e) {
      // A joinable std::thread must not be destroyed: join those started.
      StopAndJoin();
      throw Error("cannot start " + std::to_string(num_threads) +
                  " worker threads: the system refused thread " + std::to_string(i + 1) + " (" +
                  e.what() + "); lower threads (0 = one per core)");
    }
  }
}

ThreadPool::~ThreadPool() {
  StopAndJoin();
}

void ThreadPool::StopAndJoin() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void ThreadPool::Enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();  // packaged_task stores exceptions in its future
  }
}

}  // namespace edgefl::sim
