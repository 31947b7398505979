// A lazily drawn client's share (datasets/population_share.h) and a
// synthetic client made alone (datasets/synthetic.h).
#include "datasets/population_share.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <set>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"
#include "datasets/synthetic.h"

namespace edgefl::datasets {

TEST_CASE("DistinctSample draws k distinct ascending values below n") {
  Rng rng(7);
  const std::vector<uint64_t> s = DistinctSample(rng, 1'000'000, 100);
  REQUIRE(s.size() == 100);
  CHECK(std::is_sorted(s.begin(), s.end()));
  CHECK(std::set<uint64_t>(s.begin(), s.end()).size() == 100);
  CHECK(s.back() < 1'000'000);
  Rng all_rng(3);
  const std::vector<uint64_t> all = DistinctSample(all_rng, 5, 5);
  CHECK(all == std::vector<uint64_t>{0, 1, 2, 3, 4});
  // Uniform: over many draws of 1 of 4, each value about a quarter.
  std::vector<int> hits(4, 0);
  Rng many(11);
  for (int i = 0; i < 4000; ++i)
    ++hits[DistinctSample(many, 4, 1)[0]];
  for (int h : hits)
    CHECK(std::abs(h - 1000) < 120);
}

TEST_CASE("A share is the same whenever it is drawn and depends only on seed and client") {
  std::vector<int32_t> labels(1000);
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = static_cast<int32_t>(i % 10);
  const ClassPools pools(labels, 10);
  ShareLaw law;
  law.label_skew = true;
  law.alpha = 0.5;
  law.mean_size = 40;
  law.seed = 5;
  const std::vector<uint32_t> a = DrawShareRows(pools, law, 123456);
  CHECK(a == DrawShareRows(pools, law, 123456));
  CHECK(a.size() == 40);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(std::set<uint32_t>(a.begin(), a.end()).size() == a.size());  // distinct rows
  CHECK(a != DrawShareRows(pools, law, 123457));
  ShareLaw other = law;
  other.seed = 6;
  CHECK(a != DrawShareRows(pools, other, 123456));
}

TEST_CASE("iid shares take the whole pool when it is the size and Dirichlet shares follow alpha") {
  const std::vector<int32_t> labels = {0, 0, 1, 1, 1};
  const ClassPools pools(labels, 2);
  ShareLaw law;
  law.mean_size = 5;
  CHECK(DrawShareRows(pools, law, 0) == std::vector<uint32_t>{0, 1, 2, 3, 4});
  law.mean_size = 9;  // more than the pool: cut to it
  CHECK(DrawShareRows(pools, law, 1).size() == 5);

  std::vector<int32_t> many(10'000);
  for (size_t i = 0; i < many.size(); ++i)
    many[i] = static_cast<int32_t>(i % 10);
  const ClassPools ten(many, 10);
  auto top_class_share = [&](double alpha) {
    ShareLaw skew;
    skew.label_skew = true;
    skew.alpha = alpha;
    skew.mean_size = 100;
    double sum = 0.0;
    for (uint64_t k = 0; k < 200; ++k) {
      std::vector<int> count(10, 0);
      for (uint32_t r : DrawShareRows(ten, skew, k))
        ++count[static_cast<size_t>(many[r])];
      sum += *std::max_element(count.begin(), count.end()) / 100.0;
    }
    return sum / 200.0;
  };
  // Small alpha: mostly one class per client (Dir(0.01) over 10 classes
  // still splits a client now and then); large alpha: nearly uniform.
  CHECK(top_class_share(0.01) > 0.85);
  CHECK(top_class_share(1000.0) < 0.2);
}

TEST_CASE("The Gamma size law has mean share_size and spreads as 1 / sqrt(size_alpha)") {
  std::vector<int32_t> labels(100'000, 0);
  const ClassPools pools(labels, 1);
  ShareLaw law;
  law.mean_size = 50;
  law.size_alpha = 2.0;
  double sum = 0.0, sum_sq = 0.0;
  const int n = 2000;
  for (int k = 0; k < n; ++k) {
    const double size = static_cast<double>(DrawShareRows(pools, law, k).size());
    CHECK(size >= 1.0);
    sum += size;
    sum_sq += size * size;
  }
  const double mean = sum / n;
  const double cv = std::sqrt(sum_sq / n - mean * mean) / mean;
  CHECK(mean == doctest::Approx(50.0).epsilon(0.05));
  CHECK(cv == doctest::Approx(1.0 / std::sqrt(2.0)).epsilon(0.1));
}

TEST_CASE("A bad share law is a ConfigError") {
  const std::vector<int32_t> labels = {0, 1};
  const ClassPools pools(labels, 2);
  ShareLaw law;
  law.mean_size = 0;
  CHECK_THROWS_AS(DrawShareRows(pools, law, 0), ConfigError);
  law.mean_size = 1;
  law.label_skew = true;
  law.alpha = 0.0;
  CHECK_THROWS_AS(DrawShareRows(pools, law, 0), ConfigError);
}

TEST_CASE("A synthetic client made alone has the rows the eager generator gives it") {
  SyntheticOptions options;
  options.num_clients = 6;
  options.seed = 9;
  options.max_samples_per_client = 300;
  const SyntheticFederated eager = GenerateSynthetic(options);
  for (uint64_t k : {0u, 3u, 5u}) {
    const SyntheticClient alone = GenerateSyntheticClient(options, k);
    const Dataset train = Subset(eager.train, eager.train_partition.clients[k]);
    const Dataset test = Subset(eager.test, eager.test_partition.clients[k]);
    CHECK(alone.train.labels == train.labels);
    CHECK(alone.train.features == train.features);
    CHECK(alone.test.labels == test.labels);
    CHECK(alone.test.features == test.features);
    CHECK(alone.train.name == eager.train.name);
  }
  // Any id, however large, without the eager generator's 32-bit table limit.
  CHECK(GenerateSyntheticClient(options, 999'999).train.size() > 0);
}

}  // namespace edgefl::datasets
