#include "tools/landscape_data.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "engine/experiment_data.h"

namespace edgefl::tools {

datasets::Dataset LandscapeData(const engine::ExperimentConfig& config, const std::string& split,
                                uint64_t samples) {
  if (split != "train" && split != "test") {
    throw ConfigError("--split must be train or test, got '" + split + "'");
  }
  engine::ExperimentData data = engine::LoadExperimentData(config);
  datasets::Dataset& full = split == "train" ? data.train : data.test;
  if (samples > 0 && samples < full.size()) {
    std::vector<uint32_t> first(samples);
    std::iota(first.begin(), first.end(), 0u);
    return datasets::Subset(full, first);
  }
  return std::move(full);
}

int LastHiddenLayer(const nn::ModelSpec& spec) {
  return std::max(static_cast<int>(spec.widths.size()) - 3, 0);
}

}  // namespace edgefl::tools
