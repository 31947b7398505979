#include "sim/thread_pool.h"

#include <atomic>
#include <stdexcept>
#include <system_error>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::sim {

TEST_CASE("ThreadPool: runs every task and returns its result") {
  ThreadPool pool(2);
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 100; ++i)
    futures.push_back(pool.Submit([i] { return i * i; }));
  for (int i = 0; i < 100; ++i)
    CHECK(futures[static_cast<size_t>(i)].get() == i * i);
}

TEST_CASE("ThreadPool: an exception reaches the future") {
  ThreadPool pool(1);
  auto f = pool.Submit([]() -> int { throw std::runtime_error("boom"); });
  CHECK_THROWS_WITH(f.get(), "boom");
}

TEST_CASE("ThreadPool: the destructor finishes queued tasks") {
  std::atomic<int> done{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 50; ++i)
      pool.Submit([&done] { ++done; });
  }
  CHECK(done == 50);
}

TEST_CASE("ThreadPool: a thread the system refuses is an error naming the count") {
  int spawned = 0;
  const ThreadPool::Spawn third_fails = [&spawned](std::function<void()> fn) {
    if (++spawned == 3) {
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
    }
    return std::thread(std::move(fn));
  };
  // The two workers started are joined: no std::terminate.
  CHECK_THROWS_WITH_AS(ThreadPool(5, third_fails),
                       doctest::Contains("cannot start 5 worker threads: the system refused thread "
                                         "3"),
                       Error);
  CHECK(spawned == 3);
}

}  // namespace edgefl::sim
