// Compressed updates in the simulator: the same codecs as between
// edgefl-coordinator and edgefl-client, applied in the simulated proxies; a
// run with int8 and one with top-k learn, and the log records the encoded
// bytes each way per client and round.
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

// mlp:784-32-10 has P = 25,450 parameters.
constexpr int64_t kP = 25'450;

engine::ExperimentConfig CompressionSimulationConfig(const TempDir& dir, const std::string& name,
                                                     std::vector<std::string> overrides) {
  std::vector<std::string> all = {"run_name=" + name,
                                  "dataset=fmnist",
                                  "partition=dirichlet",
                                  "alpha=0.5",
                                  "clients=6",
                                  "clients_per_round=6",
                                  "rounds=5",
                                  "train_subset=3000",
                                  "test_subset=1000",
                                  "model=mlp:784-32-10",
                                  "batch_size=32",
                                  "local_steps=10",
                                  "lr=0.05",
                                  "momentum=0.9",
                                  "threads=2",
                                  "seed=4",
                                  "db=" + (dir / "log.db").string()};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return edgefl::testing::LoadTestConfig({}, all);
}

struct CompressionSimulationRun {
  double first_accuracy = 0.0;
  double final_accuracy = 0.0;
  std::vector<storage::ClientUpdateRecord> updates;
};

CompressionSimulationRun Simulate(const TempDir& dir, const std::string& name,
                                  std::vector<std::string> overrides) {
  const engine::ExperimentConfig config =
      CompressionSimulationConfig(dir, name, std::move(overrides));
  RunSimulation(config, nullptr);
  storage::ExperimentLog log(config.db);
  const int64_t id = log.FindRun(name)->id;
  const auto evals = log.Evaluations(id);
  REQUIRE(evals.size() == 6);
  return {evals.front().accuracy, evals.back().accuracy, log.ClientUpdates(id)};
}

}  // namespace

TEST_CASE("compression simulation: int8 and top-k runs learn and log the encoded bytes") {
  TempDir dir;
  const CompressionSimulationRun plain = Simulate(dir, "fp32", {});
  const CompressionSimulationRun int8 = Simulate(dir, "int8", {"compression=int8"});
  const CompressionSimulationRun topk =
      Simulate(dir, "topk", {"compression=topk", "compression_topk_fraction=0.05"});
  INFO("fp32 " << plain.final_accuracy << ", int8 " << int8.final_accuracy << ", topk "
               << topk.final_accuracy);
  CHECK(plain.final_accuracy > plain.first_accuracy + 0.3);
  // int8 is within 3 points of fp32; top-k with error feedback learns.
  CHECK(int8.final_accuracy > plain.final_accuracy - 0.03);
  CHECK(topk.final_accuracy > topk.first_accuracy + 0.25);

  // Bytes per client and round: fp32 logs the model's 4P each way; int8
  // 8 + 4 ceil(P/256) + P up (every round) and down (after round 1's full
  // model, 4 + 4P); top-k 8 + 8k with k = ceil(0.05 P).
  REQUIRE(plain.updates.size() == 30);
  REQUIRE(int8.updates.size() == 30);
  REQUIRE(topk.updates.size() == 30);
  const int64_t int8_bytes = 8 + 4 * ((kP + 255) / 256) + kP;
  const int64_t topk_bytes = 8 + 8 * 1273;
  for (size_t i = 0; i < 30; ++i) {
    CHECK(plain.updates[i].bytes_in == 4 * kP);
    CHECK(int8.updates[i].bytes_in == int8_bytes);
    CHECK(topk.updates[i].bytes_in == topk_bytes);
    const bool first = int8.updates[i].round == 1;
    CHECK(int8.updates[i].bytes_out == (first ? 4 + 4 * kP : int8_bytes));
    CHECK(topk.updates[i].bytes_out == (first ? 4 + 4 * kP : topk_bytes));
  }
}

TEST_CASE("compression simulation: fp16 follows fp32 closely and a seed repeats exactly") {
  TempDir dir;
  const CompressionSimulationRun plain = Simulate(dir, "fp32", {});
  const CompressionSimulationRun fp16 = Simulate(dir, "fp16", {"compression=fp16"});
  const CompressionSimulationRun again = Simulate(dir, "fp16-again", {"compression=fp16"});
  CHECK(std::abs(fp16.final_accuracy - plain.final_accuracy) < 0.02);
  CHECK(again.final_accuracy == fp16.final_accuracy);
  CHECK(fp16.updates[7].bytes_in == 4 + 2 * kP);
}

}  // namespace edgefl::sim
