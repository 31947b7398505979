// Every example config in examples/ parses, builds its strategy, selector
// and client objective, and runs a round on a small subset.
#include <filesystem>

#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "tests/test_util.h"

namespace edgefl::sim {

TEST_CASE("examples: every config runs one round") {
  const std::filesystem::path examples = std::filesystem::path(EDGEFL_SOURCE_DIR) / "examples";
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(examples)) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().filename().string());
    edgefl::testing::TempDir dir;
    const engine::ExperimentConfig config = engine::LoadExperimentConfig(
        entry.path(), {"rounds=1", "train_subset=2000", "test_subset=500", "local_epochs=1",
                       "db=" + (dir / "log.db").string()});
    const SimulationResult result = RunSimulation(config, nullptr);
    CHECK(result.last_round == 1);
    CHECK(result.final_accuracy > 0.0);
    ++count;
  }
  CHECK(count >= 10);
}

}  // namespace edgefl::sim
