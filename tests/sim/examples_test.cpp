// Every example config in examples/ parses, builds its strategy, selector
// and client objective, and trains: what a user trying an example checks
// is that the run in the log is the method the file names and that the
// model learned something in the first rounds.
#include <algorithm>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {

TEST_CASE("examples: every config runs, logs the method it names and learns") {
  const std::filesystem::path examples =
      std::filesystem::path(edgefl::testing::SourceDir()) / "examples";
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(examples)) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().filename().string());
    edgefl::testing::TempDir dir;
    engine::ExperimentConfig config = engine::LoadExperimentConfig(
        entry.path(), {"train_subset=2000", "test_subset=500", "local_epochs=1",
                       "db=" + (dir / "log.db").string()});
    // A sync round is a cohort's training; an async "round" is one model
    // version: one client's update (async_dn, FedAsync) or a buffer of K
    // (FedBuff). Give the async runs a few dozen updates.
    int64_t rounds = 2;
    if (config.mode == "async") {
      int64_t buffer = 1;
      if (const auto it = config.algorithm_params.find("buffer_size");
          config.strategy == "fedbuff" && it != config.algorithm_params.end() &&
          std::holds_alternative<int64_t>(it->second))
        buffer = std::get<int64_t>(it->second);
      rounds = std::max<int64_t>(6, 48 / buffer);
    }
    // The initial model and the last round's are the evaluations checked.
    std::vector<std::string> overrides = {"rounds=" + std::to_string(rounds),
                                          "eval_every=" + std::to_string(rounds),
                                          "train_subset=2000",
                                          "test_subset=500",
                                          "local_epochs=1",
                                          "db=" + (dir / "log.db").string()};
    config = edgefl::testing::LoadTestConfig(entry.path(), overrides);
    const SimulationResult result = RunSimulation(config, nullptr);
    CHECK(result.last_round == rounds);

    storage::ExperimentLog log(dir / "log.db");
    const std::optional<storage::RunInfo> run = log.GetRun(result.run_id);
    REQUIRE(run.has_value());
    CHECK(run->spec.strategy == config.strategy);
    CHECK(run->spec.mode == config.mode);
    CHECK(run->status == storage::RunStatus::kCompleted);
    // The first evaluation is the initial model's (about 10% on ten
    // classes); a few rounds of any of the methods on 2,000 samples must
    // do clearly better (the weakest, synthetic(1,1), gains 5.6 points).
    double first = -1.0;
    double last = -1.0;
    for (const storage::EvaluationRecord& e : log.Evaluations(result.run_id)) {
      if (e.split != "test") continue;
      if (first < 0.0) first = e.accuracy;
      last = e.accuracy;
    }
    CHECK(last == doctest::Approx(result.final_accuracy));
    CHECK(first >= 0.0);
    CHECK(result.final_accuracy > first + 0.05);
    ++count;
  }
  CHECK(count >= 20);
}

}  // namespace edgefl::sim
