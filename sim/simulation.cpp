#include "sim/simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "algorithms/async_strategy_registry.h"
#include "common/error.h"
#include "common/random.h"
#include "compress/codec.h"
#include "datasets/feature_noise.h"
#include "engine/async_runner.h"
#include "engine/experiment_data.h"
#include "engine/experiment_runner.h"
#include "nn/model.h"
#include "sim/async_engine.h"
#include "sim/decentralized_simulation.h"
#include "sim/heterogeneity.h"
#include "sim/population_simulation.h"
#include "sim/simulated_client_proxy.h"
#include "sim/thread_pool.h"
#include "storage/experiment_log.h"
#include "train/byzantine.h"
#include "train/local_trainer.h"

namespace edgefl::sim {
namespace {

// The simulated clients: all of them, every round.
class FixedClients final : public engine::ClientSource {
 public:
  explicit FixedClients(std::vector<std::shared_ptr<engine::ClientProxy>> clients)
      : clients_(std::move(clients)) {}
  std::vector<std::shared_ptr<engine::ClientProxy>> ClientsForRound(int64_t) override {
    return clients_;
  }

 private:
  std::vector<std::shared_ptr<engine::ClientProxy>> clients_;
};

SimulationResult ResultOf(const engine::ExperimentResult& run) {
  SimulationResult result;
  result.run_id = run.run_id;
  result.first_round = run.first_round;
  result.last_round = run.last_round;
  result.final_accuracy = run.final_accuracy;
  result.best_accuracy = run.best_accuracy;
  result.seconds = run.seconds;
  result.interrupted = run.interrupted;
  result.budget_spent = run.budget_spent;
  return result;
}

engine::AsyncExperimentResult RunAsyncSimulation(
    const engine::ExperimentConfig& config, const datasets::Dataset& test,
    const std::vector<std::shared_ptr<engine::ClientProxy>>& clients, Fleet& fleet,
    std::FILE* progress, const std::atomic<bool>* stop) {
  std::vector<engine::ClientProxy*> raw;
  for (const auto& c : clients)
    raw.push_back(c.get());
  return engine::RunAsyncExperiment(
      config, test, clients.size(),
      [&](algorithms::AsyncStrategy& strategy, int64_t model_bytes, engine::AsyncStart start) {
        AsyncOptions options;
        // Compressed: the encoding's size on the link (compress/codec.h).
        options.model_bytes = static_cast<int64_t>(compress::EncodedSize(
            engine::CompressionFrom(config), static_cast<size_t>(model_bytes) / sizeof(float)));
        return std::make_unique<AsyncEngine>(strategy, fleet, raw, options, std::move(start));
      },
      progress, stop);
}

}  // namespace

SimulationResult RunSimulation(const engine::ExperimentConfig& config, std::FILE* progress,
                               const std::atomic<bool>* stop) {
  return RunSimulation(config, progress, stop, ClientPlacement());
}

SimulationResult RunSimulation(const engine::ExperimentConfig& config, std::FILE* progress,
                               const std::atomic<bool>* stop, const ClientPlacement& placement) {
  if (config.population == "lazy") {
    if (placement) {
      throw ConfigError(
          "population = \"lazy\" does not run over MPI ranks yet: run it in one process (without "
          "mpirun), or use population = \"eager\"");
    }
    return RunPopulationSimulation(config, progress, stop);
  }
  if (config.mode == "decentralized") return RunDecentralizedSimulation(config, progress, stop);
  // Algorithms first: a bad key fails before any data is loaded.
  const bool async = config.mode == "async";
  engine::CheckAlgorithms(config, static_cast<size_t>(config.clients));
  // The data first: it bounds the number of clients before the fleet
  // allocates anything per client.
  engine::ExperimentData data = engine::LoadExperimentData(config);
  Fleet fleet(HeterogeneityFrom(config), static_cast<size_t>(config.clients));
  if (!async) engine::CheckClientAlgorithm(config, data.train);

  ThreadPool pool(static_cast<size_t>(config.threads));
  // Byzantine clients: a seeded choice, so every run of a config attacks alike.
  const train::ByzantineAttack attack{
      train::ParseByzantineMode(config.byzantine_mode, "byzantine_mode"), config.byzantine_factor};
  attack.Validate("byzantine_factor");
  std::vector<bool> byzantine(data.partition.num_clients(), false);
  if (attack.active()) {
    byzantine =
        train::ChooseByzantineClients(data.partition.num_clients(), config.byzantine_fraction,
                                      static_cast<uint64_t>(config.seed));
  }
  std::string byzantine_ids;
  std::vector<std::shared_ptr<engine::ClientProxy>> proxies;
  auto fleet_data = std::make_shared<std::vector<const datasets::Dataset*>>();
  std::vector<SimulatedClientProxy*> simulated;
  for (size_t k = 0; k < data.partition.num_clients(); ++k) {
    datasets::Dataset local = datasets::Subset(data.train, data.partition.clients[k]);
    if (data.partition.noise_std.size() > k && data.partition.noise_std[k] > 0.0f) {
      datasets::AddFeatureNoise(local, data.partition.noise_std[k], data.partition.spec.seed, k);
    }
    char id[32];
    std::snprintf(id, sizeof(id), "sim-%04zu", k);
    if (byzantine[k]) byzantine_ids += std::string(byzantine_ids.empty() ? "" : " ") + id;
    proxies.push_back(
        std::make_shared<SimulatedClientProxy>(id, std::move(local), config.model, pool,
                                               byzantine[k] ? attack : train::ByzantineAttack{}));
    // What a real client reports in its Hello: its measured speed.
    proxies.back()->info().samples_per_second = fleet.speed(k);
    simulated.push_back(static_cast<SimulatedClientProxy*>(proxies.back().get()));
    simulated.back()->set_compression(engine::CompressionFrom(config));
    fleet_data->push_back(&simulated.back()->data());
  }
  for (SimulatedClientProxy* proxy : simulated)
    proxy->set_fleet_data(fleet_data);
  if (progress != nullptr && !byzantine_ids.empty()) {
    const size_t n = static_cast<size_t>(std::count(byzantine.begin(), byzantine.end(), true));
    std::fprintf(progress, "byzantine: %zu of %zu clients send %s updates (factor %g): %s\n", n,
                 byzantine.size(), train::ByzantineModeName(attack.mode).c_str(),
                 attack.EffectiveFactor(), byzantine_ids.c_str());
    std::fflush(progress);
  }
  if (placement && !placement(proxies)) return SimulationResult();
  if (async) {
    const engine::AsyncExperimentResult run =
        RunAsyncSimulation(config, data.test, proxies, fleet, progress, stop);
    SimulationResult result = ResultOf(run);
    result.virtual_seconds = run.virtual_seconds;
    return result;
  }
  // Sync rounds run on the same virtual clock: each task takes its planned
  // samples / speed (+ the model both ways over the link).
  std::map<train::ClientId, size_t> index;
  for (size_t k = 0; k < proxies.size(); ++k)
    index[proxies[k]->info().id] = k;
  const int64_t model_bytes =
      static_cast<int64_t>(sizeof(float)) * nn::Model(config.model).num_parameters();
  FixedClients clients(std::move(proxies));

  engine::RunnerOptions options;
  options.round.clients_per_round = static_cast<size_t>(config.clients_per_round);
  options.round.seed = static_cast<uint64_t>(config.seed);
  // A rejected update (NaN from a Byzantine client) counts against the quorum
  // here as in the daemon: at quorum 1 such a round keeps the old model.
  options.round.quorum = config.quorum;
  options.round.quorum_by_samples = config.quorum_unit == "samples";
  options.progress = progress;
  options.stop = stop;
  options.training_data = &data.train;
  options.round.virtual_deadline = config.deadline;
  options.round.virtual_seconds =
      [&fleet, &index, model_bytes, compression = engine::CompressionFrom(config)](
          int64_t round, const algorithms::ClientInfo& info,
          const train::FitInstructions& instructions) -> std::optional<double> {
    const size_t k = index.at(info.id);
    if (fleet.DropsOut(k, round)) return std::nullopt;
    // The parameters that travel: a DiPaCo path, or the model.
    // Compressed: the encoding's size each way (the steady state: a
    // client's first task, which carries the full model down, is not
    // charged more).
    const size_t parameters = instructions.start_parameters
                                  ? static_cast<size_t>(instructions.start_parameters->size())
                                  : static_cast<size_t>(model_bytes) / sizeof(float);
    const auto bytes = static_cast<int64_t>(compress::EncodedSize(compression, parameters));
    return fleet.TaskSeconds(k, PlannedSamples(instructions.recipe, info.num_samples), bytes);
  };
  options.round.transfer_seconds = [bandwidth = config.bandwidth](int64_t bytes) {
    return bandwidth > 0.0 ? static_cast<double>(bytes) / bandwidth : 0.0;
  };
  options.round.availability = [&fleet, &index](const algorithms::ClientInfo& info, double t) {
    const size_t k = index.at(info.id);
    const double from = fleet.NextAvailable(k, t);
    return std::pair<double, double>(from, std::isfinite(from) ? fleet.OnlineUntil(k, from) : from);
  };
  return ResultOf(engine::RunExperiment(config, data.test, clients, options));
}

}  // namespace edgefl::sim
