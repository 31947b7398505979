// Global operator new replacement for the wire test binary (named *_test.cpp
// so the suite's glob picks it up), and a self-test of the tracker.
#include "tests/wire/alloc_tracker.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <doctest/doctest.h>

namespace {
std::atomic<bool> g_recording{false};
std::atomic<size_t> g_largest{0};

void* Allocate(size_t n) {
  if (g_recording.load(std::memory_order_relaxed)) {
    size_t prev = g_largest.load(std::memory_order_relaxed);
    while (n > prev && !g_largest.compare_exchange_weak(prev, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t n) {
  return Allocate(n);
}
void* operator new[](size_t n) {
  return Allocate(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}

namespace edgefl::wire::testing {

LargestAllocation::LargestAllocation() {
  g_largest.store(0);
  g_recording.store(true);
}
LargestAllocation::~LargestAllocation() {
  g_recording.store(false);
}
size_t LargestAllocation::bytes() const {
  return g_largest.load();
}

namespace {

TEST_CASE("The allocation tracker sees a large allocation") {
  LargestAllocation tracker;
  std::vector<char> big(3 << 20);
  CHECK(tracker.bytes() >= big.size());
}

}  // namespace
}  // namespace edgefl::wire::testing
