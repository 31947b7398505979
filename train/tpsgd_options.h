// The options of tpSGD, forward-only layer-wise training (Lomnitz et al.,
// "Learning with Local Gradients at the Edge", arXiv 2208.08503): what a
// LocalObjective hands the LocalTrainer to ask for it (local_objective.h) and
// what the TpsgdTrainer runs (tpsgd_trainer.h). A plain value type.
#pragma once

#include <cstdint>

namespace edgefl::train {

// The loss of a hidden layer i against its target t_i = P_i y*:
//   kL2: ½‖y_i − t_i‖², error (y_i − t_i);  kL1: ‖y_i − t_i‖₁, error sign(y_i − t_i),
// both gated by the activation's derivative (the paper's delta rules).
enum class LayerLoss { kL2, kL1 };

struct TpsgdOptions {
  LayerLoss layer_loss = LayerLoss::kL2;
  // Seeds the fixed projections P_i; every client of a run must use the same
  // value (the strategy derives it from the run seed), and it is all that
  // travels: P itself is never sent.
  uint64_t projection_seed = 0;
  // P_i's entries are N(0, target_scale²). > 0.
  double target_scale = 1.0;
};

}  // namespace edgefl::train
