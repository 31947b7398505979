#include "client/local_objective.h"

namespace edgefl::client {

float LocalObjective::LossAndGradient(nn::Model& model, const Batch& batch, Rng& /*rng*/) {
  return model.LossAndGradient(batch.x, batch.labels);
}

}  // namespace edgefl::client
