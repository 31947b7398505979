// The experiment configs the simulation tests run.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/experiment_config.h"
#include "tests/test_util.h"

namespace edgefl::testing {

// engine::LoadExperimentConfig(path, overrides), with a Fashion-MNIST run
// that names no data_path reading the suite's uncompressed copy
// (FashionMnistDir) instead of the package's gzip files: the same bytes,
// without inflating 26 MB in every test process. The loader's own tests
// read the gzip files.
inline engine::ExperimentConfig LoadTestConfig(const std::filesystem::path& path,
                                               const std::vector<std::string>& overrides) {
  engine::ExperimentConfig config = engine::LoadExperimentConfig(path, overrides);
  if (config.dataset == "fmnist" && config.data_path.empty()) {
    config.data_path = FashionMnistDir().string();
  }
  return config;
}

}  // namespace edgefl::testing
