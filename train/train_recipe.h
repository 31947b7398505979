// A training recipe: what the coordinator tells a client to do with the
// global model in one round. A plain value type; travels in TrainTask.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nn/optimizer.h"
#include "train/lr_schedule.h"

namespace edgefl::train {

struct OptimizerConfig {
  // "sgd", "adam", "adamw", "rmsprop" or "oasis".
  std::string name = "sgd";
  float learning_rate = 0.01f;  // >= 0
  float momentum = 0.0f;        // sgd: in [0, 1)
  bool nesterov = false;        // sgd: requires momentum > 0
  float weight_decay = 0.0f;    // sgd: L2 added to the gradient; adaptive: decoupled
  float beta1 = 0.9f;           // adam/adamw
  float beta2 = 0.999f;         // adam/adamw; rmsprop's alpha (0.99 typical); oasis' decay
  float epsilon = 1e-8f;        // adam/adamw/rmsprop
  float oasis_alpha = 1e-4f;    // oasis: floor of the Hessian diagonal
};

// Builds the optimizer `config` names. Throws ConfigError naming the unknown
// optimizer or the out-of-range option. `seed` drives OASIS's Rademacher draws.
std::unique_ptr<nn::Optimizer> MakeOptimizer(const OptimizerConfig& config, uint64_t seed);

// The stream of TrainRecipe::seed every trainer draws its data order from
// (Rng::Derive(seed, {kDataOrderStream})), so that two trainers given the
// same recipe visit the data in the same order.
inline constexpr uint64_t kDataOrderStream = 1;

struct TrainRecipe {
  // Length of local training: `local_steps` minibatch steps when > 0
  // (passes over the data repeat as needed), otherwise `epochs` passes, i.e.
  // epochs * ceil(n / batch_size) steps with a smaller last batch.
  int epochs = 1;
  int64_t local_steps = 0;
  int batch_size = 32;  // > 0
  OptimizerConfig optimizer;
  // Forget the optimizer state (momentum, moments) at the start of the round
  // (default), or carry it over from this client's previous round.
  bool reset_optimizer = true;
  float clip_norm = 0.0f;              // > 0: clip each gradient to this global L2 norm
  float clip_coordinate_fraction = 0;  // in [0, 1): coordinate-wise clipping (Pan & Li 2023)
  // Mean loss of the model on the whole local set before and after training
  // (two extra forward passes). Off: the result's loss_before/after are NaN.
  bool measure_loss = true;
  // Seeds the data order and any randomness of the local objective; the
  // coordinator derives it from (run seed, round, client).
  uint64_t seed = 0;
  // The global step of this round's first local step: the local steps of
  // the rounds before it, as the strategy counts them. >= 0.
  int64_t step_offset = 0;
  // A learning rate per global step (QSR): when set, local step k (0-based)
  // of the round steps with lr_schedule->ValueAt(step_offset + k) and
  // optimizer.learning_rate is not used; unset: optimizer.learning_rate for
  // the whole round.
  std::optional<LrSchedule> lr_schedule;
};

// Throws ConfigError naming the first invalid field (lr_schedule included).
void ValidateRecipe(const TrainRecipe& recipe);

// The samples a recipe plans to process on a local set of `num_samples`:
// local_steps × min(batch_size, num_samples) when local_steps > 0, else
// epochs × num_samples (what a simulated client's task time is based on).
int64_t PlannedSamples(const TrainRecipe& recipe, size_t num_samples);

}  // namespace edgefl::train
