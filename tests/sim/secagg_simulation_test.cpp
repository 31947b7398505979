// Secure aggregation (SecAgg+) in the simulator: the model equals the plain
// FedAvg run's within quantisation, drop-outs during the stages are
// recovered, too many fail the round with the reason logged, and the
// strategies that need individual updates are refused by name.
#include <cmath>
#include <fstream>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

constexpr const char* kSecaggSimulationToml = R"(run_name = "secagg"
strategy = "fedavg"
dataset = "fmnist"
partition = "dirichlet"
alpha = 0.5
clients = 10
clients_per_round = 10
rounds = 3
train_subset = 2000
test_subset = 500
model = "mlp:784-16-10"
batch_size = 32
local_steps = 5
lr = 0.05
threads = 2
seed = 4
)";

engine::ExperimentConfig SecaggSimulationConfig(const TempDir& dir, const std::string& name,
                                                std::vector<std::string> overrides = {}) {
  const auto path = dir / (name + ".toml");
  {
    std::ofstream out(path);
    out << kSecaggSimulationToml;
  }
  overrides.push_back("db=" + (dir / (name + ".db")).string());
  return edgefl::testing::LoadTestConfig(path, overrides);
}

}  // namespace

TEST_CASE(
    "secagg simulation: FedAvg and FedAdam with secure aggregation end at the plain run's model") {
  for (const std::string strategy : {"fedavg", "fedadam"}) {
    CAPTURE(strategy);
    TempDir dir;
    const engine::ExperimentConfig plain =
        SecaggSimulationConfig(dir, "plain", {"strategy=" + strategy});
    const engine::ExperimentConfig secure =
        SecaggSimulationConfig(dir, "secure", {"strategy=" + strategy, "secure_aggregation=true"});
    RunSimulation(plain, nullptr);
    RunSimulation(secure, nullptr);
    const storage::Checkpoint a = storage::test::FinalCheckpoint(plain.db, "secagg");
    const storage::Checkpoint b = storage::test::FinalCheckpoint(secure.db, "secagg");
    REQUIRE(a.round == 3);
    REQUIRE(b.round == 3);
    const double diff = (a.parameters - b.parameters).cwiseAbs().maxCoeff();
    CHECK(diff < 1e-4);  // quantisation: 16·10/(2^32/10) per round, far below
    CHECK(diff > 0);     // it really went through the masked path
    storage::ExperimentLog log(secure.db);
    const auto rounds = log.Rounds(log.FindRun("secagg")->id);
    REQUIRE(rounds.size() == 3);
    CHECK(rounds[0].aggregated);
    // 10 clients, δ = 0.1, γ = 0.05: a 4-regular Harary graph, t = 2.
    CHECK(rounds[0].metrics.at("secagg_k") == 4);
    CHECK(rounds[0].metrics.at("secagg_t") == 2);
    CHECK(rounds[0].metrics.at("secagg_contributors") == 10);
    CHECK(rounds[0].metrics.at("secagg_bytes_up") > 0);
    // The clients' rows count their stage messages, not a float update they
    // never sent: the round's rows sum to the stages' bytes up.
    double rows_up = 0, rows_down = 0;
    for (const storage::ClientUpdateRecord& u : log.ClientUpdates(log.FindRun("secagg")->id)) {
      if (u.round != 1) continue;
      rows_up += static_cast<double>(u.bytes_in);
      rows_down += static_cast<double>(u.bytes_out);
    }
    CHECK(rows_up == rounds[0].metrics.at("secagg_bytes_up"));
    const double model_bytes = 4.0 * (784 * 16 + 16 + 16 * 10 + 10);
    CHECK(rows_down == 10 * model_bytes + rounds[0].metrics.at("secagg_bytes_down"));
    // The stages cost virtual time: the secure round ends later than the plain one.
    CHECK(rounds[0].metrics.at("secagg_virtual_seconds") > 0);
    storage::ExperimentLog plain_log(plain.db);
    const auto plain_rounds = plain_log.Rounds(plain_log.FindRun("secagg")->id);
    REQUIRE(rounds[2].virtual_time.has_value());
    REQUIRE(plain_rounds[2].virtual_time.has_value());
    CHECK(*rounds[2].virtual_time > *plain_rounds[2].virtual_time);
  }
}

TEST_CASE("secagg simulation: drop-outs during the stages are tolerated up to the threshold") {
  TempDir dir;
  const engine::ExperimentConfig config = SecaggSimulationConfig(
      dir, "drop",
      {"secure_aggregation=true", "secagg_stage_dropout=0.1", "secagg_k=9", "secagg_t=3"});
  RunSimulation(config, nullptr);
  storage::ExperimentLog log(config.db);
  const auto rounds = log.Rounds(log.FindRun("secagg")->id);
  REQUIRE(rounds.size() == 3);
  double dropped = 0;
  for (const auto& r : rounds) {
    CAPTURE(r.outcome);
    REQUIRE(r.aggregated);
    dropped += 10 - r.metrics.at("secagg_contributors");
  }
  CHECK(dropped > 0);
}

TEST_CASE(
    "secagg simulation: beyond the threshold the round is logged as not aggregated with the "
    "reason") {
  TempDir dir;
  const engine::ExperimentConfig config = SecaggSimulationConfig(
      dir, "fail",
      {"secure_aggregation=true", "secagg_stage_dropout=0.6", "secagg_k=9", "secagg_t=8"});
  RunSimulation(config, nullptr);
  storage::ExperimentLog log(config.db);
  const auto rounds = log.Rounds(log.FindRun("secagg")->id);
  REQUIRE(rounds.size() == 3);
  CHECK_FALSE(rounds[0].aggregated);
  CHECK(rounds[0].outcome.rfind("secure aggregation failed: secagg: ", 0) == 0);
  CAPTURE(rounds[0].outcome);
  CHECK(rounds[0].outcome ==
        "secure aggregation failed: secagg: advertise keys: 4 of 10 clients sent keys, at least 8 "
        "are needed");
}

TEST_CASE("secagg simulation: strategies that need individual updates are refused by name") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(
      RunSimulation(
          SecaggSimulationConfig(dir, "median", {"secure_aggregation=true", "aggregator=median"}),
          nullptr),
      doctest::Contains("aggregator median needs the individual updates"), ConfigError);
  CHECK_THROWS_WITH_AS(
      RunSimulation(
          SecaggSimulationConfig(dir, "fedbr", {"secure_aggregation=true", "strategy=fedbr"}),
          nullptr),
      doctest::Contains("secure_aggregation is refused: fedbr needs the individual updates"),
      ConfigError);
  CHECK_THROWS_WITH_AS(
      RunSimulation(SecaggSimulationConfig(dir, "dp",
                                           {"secure_aggregation=true", "dp=true",
                                            "dp_adaptive_clip=true", "clients=10"}),
                    nullptr),
      doctest::Contains("secure_aggregation is refused: dp_adaptive_clip"), ConfigError);
  // Its keys without it are unknown.
  CHECK_THROWS_AS(RunSimulation(SecaggSimulationConfig(dir, "bits", {"secagg_bits=16"}), nullptr),
                  ConfigError);
}

TEST_CASE("secagg simulation: distributed DP charges each round exactly as central DP with z") {
  TempDir dir;
  const std::vector<std::string> dp = {
      "dp=true",         "dp_noise_multiplier=1.5", "dp_clip=0.5",
      "dp_noise=seeded", "clients_per_round=5",     "dp_delta=1e-3"};
  std::vector<std::string> distributed = dp;
  distributed.push_back("secure_aggregation=true");
  distributed.push_back("secagg_t=3");
  const engine::ExperimentConfig central = SecaggSimulationConfig(dir, "central", dp);
  const engine::ExperimentConfig secure = SecaggSimulationConfig(dir, "distributed", distributed);
  RunSimulation(central, nullptr);
  RunSimulation(secure, nullptr);
  storage::ExperimentLog a(central.db);
  storage::ExperimentLog b(secure.db);
  const auto ra = a.Rounds(a.FindRun("secagg")->id);
  const auto rb = b.Rounds(b.FindRun("secagg")->id);
  REQUIRE(ra.size() == 3);
  REQUIRE(rb.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    REQUIRE(rb[i].aggregated);
    CHECK(rb[i].metrics.at("epsilon") == ra[i].metrics.at("epsilon"));
    CHECK(rb[i].metrics.at("dp_noise_multiplier") == 1.5);
    // m_min = max(2, t, n − ⌈δn⌉) = max(2, 3, 5 − ⌈0.1·5⌉) = 4.
    CHECK(rb[i].metrics.at("dp_min_inputs") == 4);
    // 5 inputs of std-dev z·C/√4 each, on the mean: z·C·√5/(√4·5).
    CHECK(rb[i].metrics.at("dp_noise_std") == doctest::Approx(1.5 * 0.5 * std::sqrt(5.0 / 4) / 5));
  }
  CHECK(rb[2].metrics.at("epsilon") > rb[0].metrics.at("epsilon"));
}

}  // namespace edgefl::sim
