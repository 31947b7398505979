#include "coordinator/simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "algorithms/async_strategy_registry.h"
#include "client/byzantine.h"
#include "client/local_trainer.h"
#include "common/error.h"
#include "common/random.h"
#include "coordinator/async_runner.h"
#include "coordinator/experiment_runner.h"
#include "coordinator/heterogeneity.h"
#include "coordinator/simulated_client_proxy.h"
#include "coordinator/thread_pool.h"
#include "datasets/csv_reader.h"
#include "datasets/fashion_mnist.h"
#include "datasets/feature_noise.h"
#include "datasets/synthetic.h"
#include "nn/model.h"
#include "storage/experiment_log.h"

namespace edgefl::coordinator {
namespace {

constexpr uint64_t kCsvSplitStream = 0x637376;  // "csv"

datasets::Dataset FirstRows(datasets::Dataset data, int64_t n) {
  if (n <= 0 || static_cast<size_t>(n) >= data.size()) return data;
  std::vector<uint32_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0u);
  return datasets::Subset(data, rows);
}

}  // namespace

SimulationData LoadSimulationData(const ExperimentConfig& c) {
  SimulationData out;
  datasets::PartitionSpec spec;
  spec.num_clients = static_cast<size_t>(c.clients);
  spec.seed = static_cast<uint64_t>(c.seed);
  spec.alpha = c.alpha;
  spec.classes_per_client = static_cast<size_t>(c.classes_per_client);
  spec.noise = c.noise;

  if (c.dataset == "fmnist") {
    datasets::FashionMnistOptions options;
    if (!c.data_path.empty()) options.dir = c.data_path;
    out.train =
        FirstRows(datasets::LoadFashionMnist(datasets::Split::kTrain, options), c.train_subset);
    out.test =
        FirstRows(datasets::LoadFashionMnist(datasets::Split::kTest, options), c.test_subset);
  } else if (c.dataset == "synthetic") {
    datasets::SyntheticOptions options;
    options.alpha = c.synthetic_alpha;
    options.beta = c.synthetic_beta;
    options.num_clients = static_cast<size_t>(c.clients);
    options.seed = static_cast<uint64_t>(c.seed);
    datasets::SyntheticFederated data = datasets::GenerateSynthetic(options);
    out.train = std::move(data.train);
    out.test = std::move(data.test);
    if (c.partition == "natural") {
      out.partition = std::move(data.train_partition);
      return out;
    }
  } else if (c.dataset == "csv") {
    if (c.data_path.empty()) throw ConfigError("dataset csv needs data_path = \"file.csv\"");
    datasets::Dataset all = datasets::ReadCsv(c.data_path);
    // A seeded 80/20 train/test split.
    std::vector<uint32_t> order(all.size());
    std::iota(order.begin(), order.end(), 0u);
    Rng rng = Rng::Derive(static_cast<uint64_t>(c.seed), {kCsvSplitStream});
    rng.Shuffle(order);
    const size_t n_test = std::max<size_t>(1, all.size() / 5);
    std::vector<uint32_t> test(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
    std::vector<uint32_t> train(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
    std::sort(test.begin(), test.end());
    std::sort(train.begin(), train.end());
    out.train = FirstRows(datasets::Subset(all, train), c.train_subset);
    out.test = FirstRows(datasets::Subset(all, test), c.test_subset);
    out.train.name = c.data_path + "/train";
    out.test.name = c.data_path + "/test";
  } else {
    throw ConfigError("dataset: unknown name '" + c.dataset +
                      "' (expected fmnist, synthetic or csv)");
  }
  spec.scheme = datasets::ParsePartitionScheme(c.partition);
  out.partition =
      datasets::MakePartition(spec, out.train.labels, out.train.num_classes, out.train.name);
  return out;
}

namespace {

// The simulated clients: all of them, every round.
class FixedClients final : public ClientSource {
 public:
  explicit FixedClients(std::vector<std::shared_ptr<ClientProxy>> clients)
      : clients_(std::move(clients)) {}
  std::vector<std::shared_ptr<ClientProxy>> ClientsForRound(int64_t) override { return clients_; }

 private:
  std::vector<std::shared_ptr<ClientProxy>> clients_;
};

}  // namespace

SimulationResult RunSimulation(const ExperimentConfig& config, std::FILE* progress) {
  // Algorithms first: a bad key fails before any data is loaded.
  const bool async = config.mode == "async";
  if (async) {
    algorithms::MakeAsyncStrategy(StrategyConfigFrom(config), static_cast<size_t>(config.clients));
  } else {
    if (algorithms::IsAsyncStrategy(config.strategy)) {
      throw ConfigError("strategy " + config.strategy + " is asynchronous: set mode = \"async\"");
    }
    algorithms::MakeStrategy(StrategyConfigFrom(config));
    algorithms::MakeSelector(SelectorConfigFrom(config));
  }
  Fleet fleet(HeterogeneityFrom(config), static_cast<size_t>(config.clients));
  SimulationData data = LoadSimulationData(config);
  if (!async) CheckClientAlgorithm(config, data.train);

  ThreadPool pool(static_cast<size_t>(config.threads));
  // Byzantine clients: a seeded choice, so every run of a config attacks alike.
  const client::ByzantineAttack attack{
      client::ParseByzantineMode(config.byzantine_mode, "byzantine_mode"), config.byzantine_factor};
  attack.Validate("byzantine_factor");
  std::vector<bool> byzantine(data.partition.num_clients(), false);
  if (attack.active()) {
    byzantine =
        client::ChooseByzantineClients(data.partition.num_clients(), config.byzantine_fraction,
                                       static_cast<uint64_t>(config.seed));
  }
  std::string byzantine_ids;
  std::vector<std::shared_ptr<ClientProxy>> proxies;
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
                                               byzantine[k] ? attack : client::ByzantineAttack{}));
    // What a real client reports in its Hello: its measured speed.
    proxies.back()->info().samples_per_second = fleet.speed(k);
  }
  if (progress != nullptr && !byzantine_ids.empty()) {
    const size_t n = static_cast<size_t>(std::count(byzantine.begin(), byzantine.end(), true));
    std::fprintf(progress, "byzantine: %zu of %zu clients send %s updates (factor %g): %s\n", n,
                 byzantine.size(), client::ByzantineModeName(attack.mode).c_str(),
                 attack.EffectiveFactor(), byzantine_ids.c_str());
    std::fflush(progress);
  }
  if (async) {
    const AsyncExperimentResult run =
        RunAsyncExperiment(config, data.test, proxies, fleet, progress);
    SimulationResult result;
    result.run_id = run.run_id;
    result.first_round = run.first_round;
    result.last_round = run.last_round;
    result.final_accuracy = run.final_accuracy;
    result.best_accuracy = run.best_accuracy;
    result.seconds = run.seconds;
    result.virtual_seconds = run.virtual_seconds;
    return result;
  }
  // Sync rounds run on the same virtual clock: each task takes its planned
  // samples / speed (+ the model both ways over the link).
  std::map<algorithms::ClientId, size_t> index;
  for (size_t k = 0; k < proxies.size(); ++k)
    index[proxies[k]->info().id] = k;
  const int64_t model_bytes =
      static_cast<int64_t>(sizeof(float)) * nn::Model(config.model).num_parameters();
  FixedClients clients(std::move(proxies));

  RunnerOptions options;
  options.round.clients_per_round = static_cast<size_t>(config.clients_per_round);
  options.round.seed = static_cast<uint64_t>(config.seed);
  // A rejected update (NaN from a Byzantine client) counts against the quorum
  // here as in the daemon: at quorum 1 such a round keeps the old model.
  options.round.quorum = config.quorum;
  options.progress = progress;
  options.round.virtual_deadline = config.deadline;
  options.round.virtual_seconds =
      [&fleet, &index, model_bytes](
          int64_t round, const algorithms::ClientInfo& info,
          const algorithms::FitInstructions& instructions) -> std::optional<double> {
    const size_t k = index.at(info.id);
    if (fleet.DropsOut(k, round)) return std::nullopt;
    return fleet.TaskSeconds(k, PlannedSamples(instructions.recipe, info.num_samples), model_bytes);
  };
  options.round.availability = [&fleet, &index](const algorithms::ClientInfo& info, double t) {
    const size_t k = index.at(info.id);
    const double from = fleet.NextAvailable(k, t);
    return std::pair<double, double>(from, std::isfinite(from) ? fleet.OnlineUntil(k, from) : from);
  };
  const ExperimentResult run = RunExperiment(config, data.test, clients, options);

  SimulationResult result;
  result.run_id = run.run_id;
  result.first_round = run.first_round;
  result.last_round = run.last_round;
  result.final_accuracy = run.final_accuracy;
  result.best_accuracy = run.best_accuracy;
  result.seconds = run.seconds;
  return result;
}

}  // namespace edgefl::coordinator
