// A fixed-size pool of worker threads running submitted tasks in FIFO order.
// Simulated clients train on it in parallel. Submit is thread-safe; the
// destructor finishes queued tasks and joins the workers.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace edgefl::sim {

class ThreadPool {
 public:
  // Starts `num_threads` workers (0 = the number of hardware threads).
  // Throws edgefl::Error naming the count when the system cannot create
  // them all; the workers already started are stopped and joined first.
  explicit ThreadPool(size_t num_threads);

  // How the workers are created: std::thread by default; a test passes one
  // that fails as the system would (throws std::system_error).
  using Spawn = std::function<std::thread(std::function<void()>)>;
  ThreadPool(size_t num_threads, const Spawn& spawn);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }

  // Queues fn; the future yields its result or rethrows its exception.
  template <typename Fn>
  auto Submit(Fn fn) -> std::future<std::invoke_result_t<Fn>> {
    using Result = std::invoke_result_t<Fn>;
    auto task = std::make_shared<std::packaged_task<Result()>>(std::move(fn));
    std::future<Result> future = task->get_future();
    Enqueue([task] { (*task)(); });
    return future;
  }

 private:
  void Enqueue(std::function<void()> job);
  void WorkerLoop();
  // Sets stopping_, wakes and joins the workers.
  void StopAndJoin();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                    // GUARDED_BY(mutex_)
  std::vector<std::thread> workers_;
};

}  // namespace edgefl::sim
