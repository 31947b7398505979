// The hook through which a federated algorithm shapes local training.
//
// The LocalTrainer owns the loop (data order, minibatches, clipping, the
// optimizer step); a LocalObjective decides what each step minimises and may
// adjust the step size. Plain FedAvg uses CrossEntropyObjective. Algorithms
// override what they need:
//   - an extra loss term (FedBR's balancing and contrastive losses): override
//     LossAndGradient, call the base, add the term's gradient;
//   - perturbed inputs (WAFL's inner maximisation): override LossAndGradient,
//     use Model::Backward's dinput to move the batch, then take the loss there;
//   - a step-size rule (Delta-SGD): override BeforeStep and set the
//     optimizer's learning rate from the current and previous iterates;
//   - no backpropagation at all (tpSGD): override layerwise_training; the
//     LocalTrainer then hands the round to a TpsgdTrainer (tpsgd_trainer.h)
//     and calls none of the other hooks.
// An objective keeps per-round state; BeginRound resets it. Not thread-safe:
// one objective per trainer.
#pragma once

#include <cstdint>

#include "common/random.h"
#include "nn/model.h"
#include "nn/optimizer.h"
#include "train/batch.h"
#include "train/tpsgd_options.h"

namespace edgefl::train {

class LocalObjective {
 public:
  virtual ~LocalObjective() = default;

  // Called once per round, after `model` holds the global parameters and
  // before the first step. `rng` is the round's stream for this objective.
  virtual void BeginRound(const nn::Model& /*model*/, Rng& /*rng*/) {}

  // Called just before BeginRound with the global step of the round's
  // first local step (TrainRecipe::step_offset), for a rule that depends on
  // the step count across rounds (Entropy-SGD's scoping). Default: ignored.
  virtual void SetStepOffset(int64_t /*step_offset*/) {}

  // The loss of `batch` at the model's current parameters; leaves its
  // gradient in model.gradients() (overwriting it). Default: mean softmax
  // cross-entropy.
  virtual float LossAndGradient(nn::Model& model, const Batch& batch, Rng& rng);

  // Called after LossAndGradient (and clipping), just before the optimizer
  // step; may change optimizer.learning_rate(). Default: nothing.
  virtual void BeforeStep(nn::Model& /*model*/, const Batch& /*batch*/,
                          nn::Optimizer& /*optimizer*/) {}

  // Non-null: train forward-only, layer by layer, with these options
  // (tpsgd_trainer.h) instead of by backpropagation. Default: null.
  virtual const TpsgdOptions* layerwise_training() const { return nullptr; }
};

// Plain mean softmax cross-entropy: the default objective.
class CrossEntropyObjective final : public LocalObjective {};

}  // namespace edgefl::train
