// FedAvg through the whole round engine against plain local training.
#include <numeric>

#include <doctest/doctest.h>

#include "algorithms/strategy_registry.h"
#include "algorithms/uniform_selector.h"
#include "datasets/synthetic.h"
#include "engine/round_engine.h"
#include "nn/model.h"
#include "sim/simulated_client_proxy.h"

namespace edgefl::sim {

TEST_CASE("FedAvg with one client and full participation equals local training on its data") {
  datasets::SyntheticOptions synthetic;
  synthetic.num_clients = 3;
  synthetic.max_samples_per_client = 300;
  const datasets::Dataset data = datasets::GenerateSynthetic(synthetic).train;
  const std::string spec = "mlp:60-16-10";
  nn::Model model(spec);
  model.Initialize(3);

  algorithms::StrategyConfig config;
  config.name = "fedavg";
  config.recipe.local_steps = 25;
  config.recipe.batch_size = 16;
  config.recipe.optimizer.learning_rate = 0.05f;
  config.recipe.optimizer.momentum = 0.9f;
  config.seed = 11;
  auto strategy = algorithms::MakeStrategy(config);
  algorithms::SelectorConfig selector_config;
  auto selector = algorithms::MakeSelector(selector_config);

  ThreadPool pool(2);
  SimulatedClientProxy proxy("only", data, spec, pool);
  std::vector<engine::ClientProxy*> clients = {&proxy};
  engine::RoundOptions options;
  options.clients_per_round = 1;
  engine::RoundEngine engine(*strategy, *selector, options, model.parameters());
  const engine::RoundReport report = engine.RunRound(1, clients);
  REQUIRE(report.model_updated);

  // The same recipe (the strategy's, with its seed for this client and
  // round) run directly by a trainer.
  auto again = algorithms::MakeStrategy(config);
  const algorithms::ClientInfo info = proxy.info();
  const train::FitInstructions ins =
      again->ConfigureFit(1, std::span<const algorithms::ClientInfo>(&info, 1)).at(0);
  train::LocalTrainer trainer(spec, data);
  const train::LocalTrainResult direct = trainer.Train(
      std::span<const float>(model.parameters().data(), model.parameters().size()), ins.recipe);
  CHECK(engine.global() == direct.parameters);
  CHECK(report.results.at(0).train.steps == 25);
}

}  // namespace edgefl::sim
