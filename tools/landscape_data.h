// What `edgefl analyze` and the report's Landscape section share: their
// default settings, and the data a run's models are measured on (the
// run's recorded config's data, one split, its first samples).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "engine/experiment_config.h"
#include "nn/model_spec.h"

namespace edgefl::tools {

// analyze's defaults, which the report uses as they are.
struct LandscapeSettings {
  std::string split = "train";
  uint64_t samples = 2000;  // the first N samples of the split; 0 = all
  int points_per_piece = 8;
  std::vector<double> fractions = {0.1, 0.25, 0.5, 0.75, 1.0};
  int draws = 3;
  uint64_t seed = 1;
};

// The `split` ("train" or "test") of the data `config` names, cut to its
// first `samples` samples (0 = all). Throws ConfigError for another split,
// and what engine::LoadExperimentData throws.
datasets::Dataset LandscapeData(const engine::ExperimentConfig& config, const std::string& split,
                                uint64_t samples);

// The hidden layer whose neurons are dropped by default: the last one.
int LastHiddenLayer(const nn::ModelSpec& spec);

}  // namespace edgefl::tools
