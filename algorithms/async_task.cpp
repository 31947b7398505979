#include "algorithms/async_task.h"

#include <algorithm>

#include "algorithms/dylu.h"
#include "algorithms/fedavg.h"
#include "common/error.h"

namespace edgefl::algorithms {

void ValidateAsyncTask(const AsyncTaskOptions& options, const std::string& context) {
  try {
    train::ValidateRecipe(options.recipe);
  } catch (const ConfigError& e) {
    throw ConfigError(context + ": " + e.what());
  }
  if (options.dylu && options.recipe.local_steps <= 0) {
    throw ConfigError(context + ": dylu = true scales local_steps, so local_steps must be > 0");
  }
}

train::FitInstructions MakeAsyncTask(const AsyncTaskOptions& options, int64_t version,
                                     const ClientInfo& client, int64_t task,
                                     std::span<const ClientInfo> fleet) {
  train::FitInstructions out;
  out.model_version = version;
  out.recipe = options.recipe;
  out.local = options.local;
  out.recipe.seed = ClientSeed(options.seed, task, client.id);
  if (options.dylu) {
    out.recipe.local_steps =
        DyluLocalSteps(options.recipe.local_steps, client.samples_per_second, fleet);
  }
  // The client's own local steps before this task (Entropy-SGD's scoping
  // and any per-step rule go on across its tasks): its earlier tasks had
  // this task's step count (exact without DyLU, and with DyLU while the
  // fleet's speeds stay as they are).
  const int64_t before = std::max<int64_t>(task - 1, 0);
  if (out.recipe.local_steps > 0) {
    out.recipe.step_offset = before * out.recipe.local_steps;
  } else {
    const auto n = static_cast<int64_t>(client.num_samples);
    const int64_t batch = out.recipe.batch_size;
    out.recipe.step_offset = before * out.recipe.epochs * ((n + batch - 1) / batch);
  }
  return out;
}

}  // namespace edgefl::algorithms
