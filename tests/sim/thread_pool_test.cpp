#include "sim/thread_pool.h"

#include <atomic>
#include <stdexcept>

#include <doctest/doctest.h>

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

}  // namespace edgefl::sim
