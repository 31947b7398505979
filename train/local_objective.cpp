#include "train/local_objective.h"

namespace edgefl::train {

float LocalObjective::LossAndGradient(nn::Model& model, const Batch& batch, Rng& /*rng*/) {
  return model.LossAndGradient(batch.x, batch.labels);
}

}  // namespace edgefl::train
