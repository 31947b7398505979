#include "datasets/feature_noise.h"

#include <cmath>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

// n x d features, all equal to `value`.
Dataset Constant(Eigen::Index n, Eigen::Index d, float value) {
  Dataset data;
  data.name = "const";
  data.features = FeatureMatrix::Constant(n, d, value);
  data.labels.assign(static_cast<size_t>(n), 0);
  data.num_classes = 1;
  data.sample_shape = {static_cast<int>(d)};
  return data;
}

}  // namespace

TEST_CASE("AddFeatureNoise: adds zero-mean noise with the requested std-dev") {
  Dataset data = Constant(2000, 50, 1.0f);
  AddFeatureNoise(data, 0.5f, 42, 3);
  const Eigen::ArrayXXf diff = data.features.array() - 1.0f;
  const double n = static_cast<double>(diff.size());
  const double mean = static_cast<double>(diff.sum()) / n;
  const double var = static_cast<double>((diff - static_cast<float>(mean)).square().sum()) / n;
  CHECK(std::abs(mean) < 0.01);
  CHECK(std::sqrt(var) == doctest::Approx(0.5).epsilon(0.02));
  // Labels are untouched.
  CHECK(data.labels == std::vector<int32_t>(2000, 0));
}

TEST_CASE("AddFeatureNoise: deterministic per seed and client - zero std is a no-op") {
  Dataset a = Constant(100, 20, 0.0f);
  Dataset b = Constant(100, 20, 0.0f);
  Dataset other_client = Constant(100, 20, 0.0f);
  Dataset other_seed = Constant(100, 20, 0.0f);
  AddFeatureNoise(a, 0.3f, 7, 1);
  AddFeatureNoise(b, 0.3f, 7, 1);
  AddFeatureNoise(other_client, 0.3f, 7, 2);
  AddFeatureNoise(other_seed, 0.3f, 8, 1);
  CHECK(a.features == b.features);
  CHECK(a.features != other_client.features);
  CHECK(a.features != other_seed.features);

  Dataset unchanged = Constant(10, 5, 2.0f);
  AddFeatureNoise(unchanged, 0.0f, 7, 1);
  CHECK(unchanged.features == FeatureMatrix::Constant(10, 5, 2.0f));
}

TEST_CASE("AddFeatureNoise: a negative std-dev is a ConfigError") {
  Dataset data = Constant(10, 5, 0.0f);
  CHECK_THROWS_WITH_AS(AddFeatureNoise(data, -0.5f, 1, 0),
                       doctest::Contains("noise_std must be >= 0"), ConfigError);
}

}  // namespace edgefl::datasets
