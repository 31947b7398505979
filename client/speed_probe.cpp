#include "client/speed_probe.h"

#include <numeric>
#include <string>

#include "nn/model.h"
#include "train/local_trainer.h"

namespace edgefl::client {

double MeasureTrainingSpeed(const datasets::Dataset& data, size_t max_samples) {
  if (data.size() == 0 || max_samples == 0) return 0.0;
  std::vector<uint32_t> rows(std::min(data.size(), max_samples));
  std::iota(rows.begin(), rows.end(), 0u);
  const datasets::Dataset probe = datasets::Subset(data, rows);
  const std::string spec =
      "mlp:" + std::to_string(data.dim()) + "-64-" + std::to_string(std::max(2, data.num_classes));
  nn::Model model(spec);
  model.Initialize(1);
  train::LocalTrainer trainer(spec, probe);
  train::TrainRecipe recipe;
  recipe.epochs = 1;
  recipe.batch_size = 32;
  recipe.measure_loss = false;
  const train::LocalTrainResult result =
      trainer.Train(std::span<const float>(model.parameters().data(),
                                           static_cast<size_t>(model.parameters().size())),
                    recipe);
  return result.compute_seconds > 0
             ? static_cast<double>(result.samples_processed) / result.compute_seconds
             : 0.0;
}

}  // namespace edgefl::client
