// tpSGD's client part as the strategies send it: every client of a run gets
// the same projection seed, derived from the run seed, in both the sync and
// the async strategies; only the seed travels, never a projection.
#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/local_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "train/tpsgd_trainer.h"

namespace edgefl::algorithms {
namespace {

StrategyConfig TpsgdConfigConfig(const std::string& name, uint64_t seed, train::ParamMap params) {
  StrategyConfig c;
  c.name = name;
  c.params = std::move(params);
  c.params["local_objective"] = std::string("tpsgd");
  c.rounds = 10;
  c.seed = seed;
  return c;
}

std::vector<ClientInfo> TpsgdConfigClients(int n) {
  std::vector<ClientInfo> out(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    out[static_cast<size_t>(k)].id = "client-" + std::to_string(k);
    out[static_cast<size_t>(k)].num_samples = 100;
  }
  return out;
}

const train::TpsgdOptions& TpsgdConfigOptions(
    const std::unique_ptr<train::LocalObjective>& objective) {
  REQUIRE(objective->layerwise_training() != nullptr);
  return *objective->layerwise_training();
}

}  // namespace

TEST_CASE("tpsgd config: one projection seed for every client and round - from the run seed") {
  const auto strategy =
      MakeStrategy(TpsgdConfigConfig("fedavg", 42, {{"layer_loss", std::string("l1")}}));
  const std::vector<ClientInfo> clients = TpsgdConfigClients(3);
  std::vector<uint64_t> seeds;
  for (int64_t round = 1; round <= 2; ++round) {
    for (const train::FitInstructions& fit : strategy->ConfigureFit(round, clients)) {
      CHECK(fit.local.objective == "tpsgd");
      // What travels: two numbers (target_scale only when set); no projection.
      CHECK(fit.local.params.size() == 2);
      CHECK(fit.local.params.count("projection_seed") == 1);
      const auto objective = MakeLocalObjective(fit.local);
      CHECK(TpsgdConfigOptions(objective).layer_loss == train::LayerLoss::kL1);
      CHECK(TpsgdConfigOptions(objective).target_scale == 1.0);
      seeds.push_back(TpsgdConfigOptions(objective).projection_seed);
    }
  }
  REQUIRE(seeds.size() == 6);
  for (const uint64_t s : seeds)
    CHECK(s == seeds.front());
  // So every client builds the same P_i.
  CHECK(train::TargetProjection(seeds[0], 0, 64, 10, 1.0) ==
        train::TargetProjection(seeds[5], 0, 64, 10, 1.0));

  // Another run seed, other projections.
  const auto other = MakeStrategy(TpsgdConfigConfig("fedavg", 43, {}));
  const auto fit = other->ConfigureFit(1, TpsgdConfigClients(1));
  CHECK(TpsgdConfigOptions(MakeLocalObjective(fit.at(0).local)).projection_seed != seeds.front());
  CHECK(TpsgdConfigOptions(MakeLocalObjective(fit.at(0).local)).layer_loss ==
        train::LayerLoss::kL2);

  // The async strategies send the same seed for the same run seed.
  const auto fedbuff =
      MakeAsyncStrategy(TpsgdConfigConfig("fedbuff", 42, {{"target_scale", 2.0}}), 3);
  const train::FitInstructions task = fedbuff->ConfigureFit(1, clients[1], 1, clients);
  CHECK(TpsgdConfigOptions(MakeLocalObjective(task.local)).projection_seed == seeds.front());
  CHECK(TpsgdConfigOptions(MakeLocalObjective(task.local)).target_scale == 2.0);
}

TEST_CASE("tpsgd config: a bad layer_loss, target_scale or data order is refused") {
  CHECK_THROWS_AS(MakeStrategy(TpsgdConfigConfig("fedavg", 1, {{"layer_loss", std::string("l3")}})),
                  ConfigError);
  CHECK_THROWS_AS(MakeStrategy(TpsgdConfigConfig("fedavg", 1, {{"target_scale", 0.0}})),
                  ConfigError);
  train::LocalAlgorithm local;
  local.objective = "tpsgd";
  local.data_order = "curriculum";
  CHECK_THROWS_AS(MakeLocalObjective(local), ConfigError);
  local.data_order = "shuffle";
  local.params["target_scale"] = -1.0;
  CHECK_THROWS_AS(MakeLocalObjective(local), ConfigError);
}

}  // namespace edgefl::algorithms
