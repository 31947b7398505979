// The client part of tpSGD (Lomnitz et al., arXiv 2208.08503): an objective
// that asks the LocalTrainer for forward-only layer-wise training with its
// options (train/tpsgd_trainer.h) instead of backpropagation. Its parameters
// travel in LocalAlgorithm::params (local_registry.h): "layer_loss" (2: ℓ2,
// 1: ℓ1), "target_scale", "projection_seed" (set by the strategy from the
// run seed, the same for every client).
#pragma once

#include "train/local_objective.h"
#include "train/tpsgd_options.h"

namespace edgefl::algorithms {

class TpsgdObjective final : public train::LocalObjective {
 public:
  explicit TpsgdObjective(const train::TpsgdOptions& options) : options_(options) {}

  const train::TpsgdOptions* layerwise_training() const override { return &options_; }

 private:
  train::TpsgdOptions options_;
};

}  // namespace edgefl::algorithms
