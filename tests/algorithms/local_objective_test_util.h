// Helpers shared by the client-side objective and data-order tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "common/random.h"
#include "datasets/dataset.h"
#include "datasets/synthetic.h"
#include "nn/model.h"
#include "train/batch.h"
#include "train/local_objective.h"
#include "train/train_recipe.h"

namespace edgefl::algorithms::testing {

// Small tabular data: synthetic(1,1) pooled, 60 features, 10 classes.
inline datasets::Dataset Tabular(size_t clients = 3, size_t max_per_client = 200,
                                 uint64_t seed = 1) {
  datasets::SyntheticOptions options;
  options.num_clients = clients;
  options.max_samples_per_client = max_per_client;
  options.seed = seed;
  return datasets::GenerateSynthetic(options).train;
}

inline Eigen::VectorXf InitialParameters(const std::string& spec, uint64_t seed = 7) {
  nn::Model model(spec);
  model.Initialize(seed);
  return model.parameters();
}

inline std::span<const float> Span(const Eigen::VectorXf& v) {
  return {v.data(), static_cast<size_t>(v.size())};
}

inline train::TrainRecipe SgdRecipe(float lr, int epochs = 1) {
  train::TrainRecipe recipe;
  recipe.optimizer.name = "sgd";
  recipe.optimizer.learning_rate = lr;
  recipe.batch_size = 32;
  recipe.epochs = epochs;
  recipe.seed = 3;
  return recipe;
}

// The first b samples of `data` as a batch (rows of a row-major matrix are
// the columns of a column-major one: no copy).
struct FirstRows {
  explicit FirstRows(size_t b) : indices(b) {
    for (size_t i = 0; i < b; ++i)
      indices[i] = static_cast<uint32_t>(i);
  }
  train::Batch Get(const datasets::Dataset& data) const {
    const auto b = static_cast<Eigen::Index>(indices.size());
    return train::Batch{
        Eigen::Map<const Eigen::MatrixXf>(data.features.data(), data.features.cols(), b),
        std::span<const int32_t>(data.labels.data(), indices.size()), indices};
  }
  std::vector<uint32_t> indices;
};

// The objective's loss at the model's current parameters with a fresh Rng.
inline float LossWithSeed(train::LocalObjective& objective, nn::Model& model,
                          const train::Batch& batch, uint64_t seed) {
  Rng rng(seed);
  return objective.LossAndGradient(model, batch, rng);
}

// Checks the objective's gradient against a central difference of its loss
// along `direction` (its randomness replayed from `seed`); returns
// {analytic, numeric} directional derivatives.
inline std::pair<double, double> DirectionalCheck(train::LocalObjective& objective,
                                                  nn::Model& model, const train::Batch& batch,
                                                  const Eigen::VectorXf& direction, uint64_t seed,
                                                  float h = 1e-2f) {
  const Eigen::VectorXf w = model.parameters();
  LossWithSeed(objective, model, batch, seed);
  const double analytic = static_cast<double>(model.gradients().dot(direction));
  model.parameters() = w + h * direction;
  const double plus = LossWithSeed(objective, model, batch, seed);
  model.parameters() = w - h * direction;
  const double minus = LossWithSeed(objective, model, batch, seed);
  model.parameters() = w;
  return {analytic, (plus - minus) / (2.0 * static_cast<double>(h))};
}

inline Eigen::VectorXf RandomDirection(Eigen::Index n, uint64_t seed) {
  Rng rng(seed);
  Eigen::VectorXf v(n);
  for (Eigen::Index i = 0; i < n; ++i)
    v[i] = static_cast<float>(rng.Normal());
  return v / v.norm();
}

}  // namespace edgefl::algorithms::testing
