#include "common/random.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

namespace edgefl {

TEST_CASE("Rng: same seed gives the same stream - different seeds differ") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    CHECK(x == b.Next());
    CHECK(x != c.Next());
  }
}

TEST_CASE("Rng::Derive: independent streams per path") {
  Rng a = Rng::Derive(7, {1, 2});
  Rng b = Rng::Derive(7, {1, 2});
  Rng c = Rng::Derive(7, {2, 1});
  uint64_t x = a.Next();
  CHECK(x == b.Next());
  CHECK(x != c.Next());
}

TEST_CASE("Rng: the first draws of seed 1 are pinned (cross-platform determinism)") {
  // If this changes, every saved partition and experiment stops reproducing.
  Rng rng(1);
  const uint64_t first = rng.Next();
  Rng again(1);
  CHECK(again.Next() == first);
  // xoshiro256** seeded by splitmix64(1): value computed once and pinned.
  CHECK(first == 0xb3f2af6d0fc710c5ULL);
}

TEST_CASE("Rng: distributions have the right moments") {
  Rng rng(3);
  const int n = 200000;
  double sum = 0, sum2 = 0, gsum = 0, usum = 0;
  for (int i = 0; i < n; ++i) {
    double z = rng.Normal();
    sum += z;
    sum2 += z * z;
    gsum += rng.Gamma(0.5);
    usum += rng.Uniform();
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sum2 / n - 1.0) < 0.02);
  CHECK(std::abs(gsum / n - 0.5) < 0.01);  // E[Gamma(k,1)] = k
  CHECK(std::abs(usum / n - 0.5) < 0.005);
}

TEST_CASE("Rng::UniformInt stays in range and hits every value") {
  Rng rng(5);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    uint64_t v = rng.UniformInt(7);
    REQUIRE(v < 7);
    ++seen[v];
  }
  for (int count : seen)
    CHECK(count > 800);
}

TEST_CASE("SampleDirichlet sums to one - small alpha is concentrated") {
  Rng rng(9);
  auto p = SampleDirichlet(rng, 1.0, 10);
  CHECK(std::accumulate(p.begin(), p.end(), 0.0) == doctest::Approx(1.0));
  double max_small = 0, max_large = 0;
  for (int t = 0; t < 200; ++t) {
    auto s = SampleDirichlet(rng, 0.05, 10);
    auto l = SampleDirichlet(rng, 100.0, 10);
    max_small += *std::max_element(s.begin(), s.end());
    max_large += *std::max_element(l.begin(), l.end());
  }
  CHECK(max_small / 200 > 0.7);
  CHECK(max_large / 200 < 0.2);
}

TEST_CASE("Rng::Shuffle is a permutation") {
  Rng rng(11);
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  rng.Shuffle(v);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i)
    CHECK(sorted[i] == i);
  bool moved = false;
  for (int i = 0; i < 100; ++i)
    moved |= (v[i] != i);
  CHECK(moved);
}

}  // namespace edgefl
