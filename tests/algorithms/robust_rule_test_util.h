// Helpers shared by the robust-rule tests that go through the FedAvg
// strategy and its registry (robust aggregation, Multi-Krum, nearest-
// neighbour mixing): results and configs of a few lines, and a cluster of
// honest vectors around one point.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <doctest/doctest.h>

#include "algorithms/fedavg.h"
#include "algorithms/strategy_registry.h"
#include "common/random.h"

namespace edgefl::algorithms::testing {

// A result of `client` with these parameters and sample count.
inline train::FitResult ResultOf(const std::string& client, Eigen::VectorXf parameters,
                                 size_t samples) {
  train::FitResult r;
  r.client = client;
  r.train.parameters = std::move(parameters);
  r.train.num_samples = samples;
  return r;
}

// One-parameter results: prefix + k holds values[k] with samples.at(k).
inline std::vector<train::FitResult> ScalarResults(const std::vector<float>& values,
                                                   const std::vector<size_t>& samples,
                                                   const std::string& prefix = "c") {
  std::vector<train::FitResult> results;
  for (size_t k = 0; k < values.size(); ++k) {
    results.push_back(ResultOf(prefix + std::to_string(k), Eigen::VectorXf::Constant(1, values[k]),
                               samples.at(k)));
  }
  return results;
}

// The registry's "fedavg" with `params`, 10 rounds.
inline StrategyConfig FedAvgConfig(train::ParamMap params) {
  StrategyConfig c;
  c.name = "fedavg";
  c.params = std::move(params);
  c.rounds = 10;
  return c;
}

// The options a registry-made FedAvg was built with.
inline const FedAvgOptions& OptionsOf(const std::unique_ptr<Strategy>& s) {
  const FedAvg* f = dynamic_cast<const FedAvg*>(s.get());
  REQUIRE(f != nullptr);
  return f->options();
}

// `count` vectors of `dim` values: a center drawn N(0, 1), then each vector
// the center plus N(0, stddev²) noise, all from `rng` in that order.
inline std::vector<std::vector<float>> NoisyCopiesOfOnePoint(Rng& rng, size_t count, size_t dim,
                                                             double stddev) {
  std::vector<float> center(dim);
  for (float& c : center)
    c = static_cast<float>(rng.Normal(0.0, 1.0));
  std::vector<std::vector<float>> x;
  for (size_t k = 0; k < count; ++k) {
    std::vector<float> v(dim);
    for (size_t i = 0; i < dim; ++i)
      v[i] = center[i] + static_cast<float>(rng.Normal(0.0, stddev));
    x.push_back(std::move(v));
  }
  return x;
}

// The mean of x[k] over `indices`, in double.
template <typename Indices>
Eigen::VectorXd MeanOf(const std::vector<std::vector<float>>& x, const Indices& indices) {
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(x.at(0).size()));
  const double n = static_cast<double>(std::size(indices));
  for (size_t k : indices) {
    for (size_t i = 0; i < x[k].size(); ++i)
      mean[static_cast<Eigen::Index>(i)] += x[k][i] / n;
  }
  return mean;
}

}  // namespace edgefl::algorithms::testing
