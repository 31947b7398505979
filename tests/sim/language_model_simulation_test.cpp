// Next-character language modelling in the simulator: FedAvg of a GRU (and
// an LSTM) on Debian's fortunes split by category file (partition =
// "by_source"); the test perplexity must fall over a few rounds.
#include <cmath>
#include <fstream>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

constexpr const char* kLanguageModelSimulationToml = R"(run_name = "fortunes-gru"
strategy = "fedavg"
dataset = "fortunes"
partition = "by_source"
model = "rnn:gru-32-e16-t32-v64"
clients = 8
clients_per_round = 4
rounds = 4
train_subset = 860
test_subset = 86
optimizer = "adam"
lr = 0.01
batch_size = 16
local_steps = 15
threads = 2
seed = 5
)";

engine::ExperimentConfig LanguageModelSimulationConfig(const TempDir& dir,
                                                       std::vector<std::string> overrides = {}) {
  const auto path = dir / "fortunes.toml";
  {
    std::ofstream out(path);
    out << kLanguageModelSimulationToml;
  }
  overrides.push_back("db=" + (dir / "log.db").string());
  return engine::LoadExperimentConfig(path, overrides);
}

}  // namespace

TEST_CASE("fortunes by_source: clients hold whole category files and every category is kept") {
  TempDir dir;
  const engine::ExperimentData data =
      engine::LoadExperimentData(LanguageModelSimulationConfig(dir));
  // 43 categories, the first 860 / 43 = 20 training windows of each, except
  // pratchett (401 characters: 12 windows of 33, one of them for test).
  CHECK(data.train.size() == 42 * 20 + 11);
  CHECK(data.test.size() == 42 * 2 + 1);
  CHECK(data.train.dim() == 33);
  CHECK(data.train.num_classes == 64);
  REQUIRE(data.partition.num_clients() == 8);
  // Client i holds categories [43 i / 8, 43 (i+1) / 8): 5 or 6 of them.
  CHECK(data.partition.clients[0].size() == 5 * 20);
  CHECK(data.partition.clients[1].size() == 5 * 20);
  CHECK(data.partition.clients[2].size() == 6 * 20);
  CHECK(data.partition.clients[0].front() == 0);
  CHECK(data.partition.clients[7].back() == 850);
}

TEST_CASE("fortunes by_source: FedAvg of a GRU lowers the test perplexity over four rounds") {
  TempDir dir;
  const engine::ExperimentConfig config = LanguageModelSimulationConfig(dir);
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 4);
  storage::ExperimentLog log(config.db);
  const auto evals = log.Evaluations(result.run_id);
  REQUIRE(evals.size() == 5);
  const double first = std::exp(evals.front().loss), last = std::exp(evals.back().loss);
  CAPTURE(first);
  CAPTURE(last);
  // The initial model is near uniform over the 64 ids; four rounds of 15
  // local Adam steps learn at least the character frequencies.
  CHECK(first > 40.0);
  CHECK(last < 0.6 * first);
  for (size_t i = 1; i < evals.size(); ++i) {
    CHECK(evals[i].loss < evals[i - 1].loss);
  }
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.05);
}

TEST_CASE("fortunes by_source: FedAvg of an LSTM lowers the test perplexity") {
  TempDir dir;
  const engine::ExperimentConfig config = LanguageModelSimulationConfig(
      dir, {"model=rnn:lstm-32-e16-t32-v64", "rounds=2", "run_name=fortunes-lstm"});
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 2);
  storage::ExperimentLog log(config.db);
  const auto evals = log.Evaluations(result.run_id);
  REQUIRE(evals.size() == 3);
  const double first = std::exp(evals.front().loss), last = std::exp(evals.back().loss);
  CAPTURE(first);
  CAPTURE(last);
  CHECK(first > 40.0);  // near uniform over the 64 ids
  CHECK(last < 0.7 * first);
  CHECK(evals[1].loss < evals[0].loss);
  CHECK(evals[2].loss < evals[1].loss);
}

TEST_CASE("fortunes by_source: a GRU trains under DP-FedAvg with its privacy spent in the log") {
  TempDir dir;
  // A small noise multiplier: four clients per round cannot hide one with
  // useful noise, the point here is that the language model runs through
  // clipping, noise and the accountant.
  const engine::ExperimentConfig config = LanguageModelSimulationConfig(
      dir, {"rounds=2", "dp=true", "dp_noise=seeded", "dp_noise_multiplier=0.01", "dp_clip=2",
            "dp_delta=1e-3"});
  const SimulationResult result = RunSimulation(config, nullptr);
  REQUIRE(result.last_round == 2);
  storage::ExperimentLog log(config.db);
  const auto rounds = log.Rounds(result.run_id);
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0].metrics.at("dp_clip") == 2.0);
  CHECK(rounds[0].metrics.at("dp_noise_multiplier") == 0.01);
  CHECK(rounds[1].metrics.at("epsilon") > rounds[0].metrics.at("epsilon"));
  const auto evals = log.Evaluations(result.run_id);
  REQUIRE(evals.size() == 3);
  CHECK(std::exp(evals.back().loss) < 0.8 * std::exp(evals.front().loss));
}

TEST_CASE("fortunes by_source: a GRU under secure aggregation ends at the plain run's model") {
  TempDir dir;
  TempDir secure_dir;
  const engine::ExperimentConfig plain = LanguageModelSimulationConfig(dir, {"rounds=2"});
  const engine::ExperimentConfig secure =
      LanguageModelSimulationConfig(secure_dir, {"rounds=2", "secure_aggregation=true"});
  RunSimulation(plain, nullptr);
  RunSimulation(secure, nullptr);
  storage::ExperimentLog a(plain.db);
  storage::ExperimentLog b(secure.db);
  const int64_t run_a = a.FindRun("fortunes-gru")->id, run_b = b.FindRun("fortunes-gru")->id;
  const storage::Checkpoint ma = *a.LatestCheckpoint(run_a);
  const storage::Checkpoint mb = *b.LatestCheckpoint(run_b);
  REQUIRE(ma.round == 2);
  REQUIRE(mb.round == 2);
  const double diff = (ma.parameters - mb.parameters).cwiseAbs().maxCoeff();
  CHECK(diff > 0);     // it went through the masked, quantised path
  CHECK(diff < 1e-3);  // quantisation only
  const auto rounds = b.Rounds(run_b);
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0].metrics.at("secagg_contributors") == 4);
  const auto ea = a.Evaluations(run_a), eb = b.Evaluations(run_b);
  REQUIRE(eb.size() == 3);
  CHECK(eb.back().loss == doctest::Approx(ea.back().loss).epsilon(1e-3));
}

TEST_CASE("text datasets: a non-language model or by_source on images is refused") {
  TempDir dir;
  CHECK_THROWS_AS(
      engine::LoadExperimentData(LanguageModelSimulationConfig(dir, {"model=mlp:33-64"})),
      ConfigError);
  CHECK_THROWS_AS(engine::LoadExperimentData(
                      LanguageModelSimulationConfig(dir, {"dataset=synthetic", "model=mlp:60-10"})),
                  ConfigError);
}

}  // namespace edgefl::sim
