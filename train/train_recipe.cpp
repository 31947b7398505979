#include "train/train_recipe.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/number_text.h"
#include "nn/adaptive.h"
#include "nn/sgd.h"

namespace edgefl::train {

std::unique_ptr<nn::Optimizer> MakeOptimizer(const OptimizerConfig& config, uint64_t seed) {
  if (config.name == "sgd") {
    nn::SgdOptions options;
    options.learning_rate = config.learning_rate;
    options.momentum = config.momentum;
    options.nesterov = config.nesterov;
    options.weight_decay = config.weight_decay;
    return std::make_unique<nn::Sgd>(options);
  }
  nn::AdaptiveOptions options;
  if (config.name == "adam" || config.name == "adamw") {
    options.scaling = nn::Scaling::kAdam;
  } else if (config.name == "rmsprop") {
    options.scaling = nn::Scaling::kRmsProp;
  } else if (config.name == "oasis") {
    options.scaling = nn::Scaling::kOasis;
  } else {
    throw ConfigError("optimizer: unknown name '" + config.name +
                      "' (expected sgd, adam, adamw, rmsprop or oasis)");
  }
  options.learning_rate = config.learning_rate;
  options.beta1 = config.beta1;
  options.beta2 = config.beta2;
  options.epsilon = config.epsilon;
  options.alpha = config.oasis_alpha;
  options.weight_decay = config.weight_decay;
  options.seed = seed;
  return std::make_unique<nn::AdaptiveOptimizer>(options);
}

void ValidateRecipe(const TrainRecipe& recipe) {
  if (recipe.batch_size <= 0) {
    throw ConfigError("recipe: batch_size must be > 0, got " + std::to_string(recipe.batch_size));
  }
  if (recipe.local_steps < 0) {
    throw ConfigError("recipe: local_steps must be >= 0, got " +
                      std::to_string(recipe.local_steps));
  }
  if (recipe.local_steps == 0 && recipe.epochs <= 0) {
    throw ConfigError("recipe: epochs must be > 0 when local_steps is 0, got " +
                      std::to_string(recipe.epochs));
  }
  if (!(recipe.clip_norm >= 0.0f) || !std::isfinite(recipe.clip_norm)) {
    throw ConfigError("recipe: clip_norm must be >= 0, got " + ShortNumber(recipe.clip_norm));
  }
  if (!(recipe.clip_coordinate_fraction >= 0.0f && recipe.clip_coordinate_fraction < 1.0f)) {
    throw ConfigError("recipe: clip_coordinate_fraction must be in [0, 1), got " +
                      ShortNumber(recipe.clip_coordinate_fraction));
  }
  if (recipe.step_offset < 0) {
    throw ConfigError("recipe: step_offset must be >= 0, got " +
                      std::to_string(recipe.step_offset));
  }
  if (recipe.lr_schedule) recipe.lr_schedule->Validate("steps");
}

int64_t PlannedSamples(const TrainRecipe& recipe, size_t num_samples) {
  const auto n = static_cast<int64_t>(num_samples);
  if (recipe.local_steps > 0) return recipe.local_steps * std::min<int64_t>(recipe.batch_size, n);
  return int64_t{recipe.epochs} * n;
}

}  // namespace edgefl::train
