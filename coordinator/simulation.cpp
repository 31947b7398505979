#include "coordinator/simulation.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "algorithms/local_registry.h"
#include "algorithms/strategy_registry.h"
#include "client/local_trainer.h"
#include "common/error.h"
#include "common/random.h"
#include "coordinator/round_engine.h"
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

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

datasets::Dataset FirstRows(datasets::Dataset data, int64_t n) {
  if (n <= 0 || static_cast<size_t>(n) >= data.size()) return data;
  std::vector<uint32_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0u);
  return datasets::Subset(data, rows);
}

client::TrainRecipe RecipeFrom(const ExperimentConfig& c) {
  client::TrainRecipe r;
  r.epochs = static_cast<int>(c.local_epochs);
  r.local_steps = c.local_steps;
  r.batch_size = static_cast<int>(c.batch_size);
  r.optimizer.name = c.optimizer;
  r.optimizer.learning_rate = static_cast<float>(c.lr);
  r.optimizer.momentum = static_cast<float>(c.momentum);
  r.optimizer.weight_decay = static_cast<float>(c.weight_decay);
  r.clip_norm = static_cast<float>(c.clip_norm);
  r.clip_coordinate_fraction = static_cast<float>(c.clip_coordinate);
  return r;
}

// Splits config.algorithm_params into the strategy's and the selector's.
void SplitParams(const algorithms::ParamMap& all, algorithms::ParamMap* strategy,
                 algorithms::ParamMap* selector) {
  const std::string prefix = "selector_";
  for (const auto& [key, value] : all) {
    if (key.starts_with(prefix)) {
      (*selector)[key.substr(prefix.size())] = value;
    } else {
      (*strategy)[key] = value;
    }
  }
}

storage::EvaluationRecord Evaluate(nn::Model& model, const Eigen::VectorXf& parameters,
                                   const datasets::Dataset& test, int64_t round) {
  model.SetParameters(parameters);
  const client::EvalResult eval = client::LocalTrainer::Evaluate(model, test);
  storage::EvaluationRecord record;
  record.round = round;
  record.split = "test";
  record.loss = eval.loss;
  record.accuracy = eval.accuracy;
  record.per_class_accuracy = eval.per_class_accuracy;
  record.num_samples = static_cast<int64_t>(eval.num_samples);
  return record;
}

std::vector<storage::ClientUpdateRecord> UpdateRecords(const RoundReport& report,
                                                       int64_t model_bytes) {
  std::vector<storage::ClientUpdateRecord> out;
  for (const algorithms::FitResult& r : report.results) {
    storage::ClientUpdateRecord u;
    u.round = report.round;
    u.client_id = r.client;
    u.num_samples = static_cast<int64_t>(r.train.num_samples);
    u.local_steps = r.train.steps;
    u.loss_before = r.train.loss_before;
    u.loss_after = r.train.loss_after;
    u.bytes_in = model_bytes;
    u.bytes_out = model_bytes;
    u.compute_seconds = r.train.compute_seconds;
    u.staleness = report.model_version - 1 - r.base_version;
    if (u.staleness < 0) u.staleness = 0;
    u.status = storage::UpdateStatus::kAccepted;
    out.push_back(std::move(u));
  }
  for (const algorithms::FitFailure& f : report.failures) {
    storage::ClientUpdateRecord u;
    u.round = report.round;
    u.client_id = f.client;
    u.loss_before = u.loss_after = u.compute_seconds = std::nan("");
    u.bytes_out = model_bytes;
    u.status = f.kind == algorithms::FitFailure::Kind::kDropped ? storage::UpdateStatus::kDropped
                                                                : storage::UpdateStatus::kRejected;
    u.reason = f.reason;
    out.push_back(std::move(u));
  }
  return out;
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

SimulationResult RunSimulation(const ExperimentConfig& config, std::FILE* progress) {
  const auto start = std::chrono::steady_clock::now();

  // Algorithms first: a bad key fails before any data is loaded.
  algorithms::StrategyConfig strategy_config;
  algorithms::SelectorConfig selector_config;
  strategy_config.name = config.strategy;
  strategy_config.recipe = RecipeFrom(config);
  strategy_config.rounds = config.rounds;
  strategy_config.seed = static_cast<uint64_t>(config.seed);
  selector_config.name = config.selector;
  selector_config.rounds = config.rounds;
  SplitParams(config.algorithm_params, &strategy_config.params, &selector_config.params);
  std::unique_ptr<algorithms::Strategy> strategy = algorithms::MakeStrategy(strategy_config);
  std::unique_ptr<algorithms::ClientSelector> selector = algorithms::MakeSelector(selector_config);

  SimulationData data = LoadSimulationData(config);
  {
    // The clients' part (objective and data-order keys) is checked by the
    // client; build it once here so a bad key fails before any training.
    std::unique_ptr<algorithms::Strategy> probe = algorithms::MakeStrategy(strategy_config);
    algorithms::ClientInfo info;
    info.id = "probe";
    info.num_samples = data.train.size();
    const std::vector<algorithms::FitInstructions> instructions =
        probe->ConfigureFit(1, std::span<const algorithms::ClientInfo>(&info, 1));
    algorithms::MakeLocalObjective(instructions.at(0).local, &data.train);
    algorithms::MakeDataOrder(instructions.at(0).local, &instructions.at(0).recipe);
  }
  ThreadPool pool(static_cast<size_t>(config.threads));
  std::vector<std::unique_ptr<SimulatedClientProxy>> proxies;
  std::vector<ClientProxy*> clients;
  for (size_t k = 0; k < data.partition.num_clients(); ++k) {
    datasets::Dataset local = datasets::Subset(data.train, data.partition.clients[k]);
    if (data.partition.noise_std.size() > k && data.partition.noise_std[k] > 0.0f) {
      datasets::AddFeatureNoise(local, data.partition.noise_std[k], data.partition.spec.seed, k);
    }
    char id[32];
    std::snprintf(id, sizeof(id), "sim-%04zu", k);
    proxies.push_back(
        std::make_unique<SimulatedClientProxy>(id, std::move(local), config.model, pool));
    clients.push_back(proxies.back().get());
  }

  nn::Model model(config.model);
  model.Initialize(static_cast<uint64_t>(config.seed));
  Eigen::VectorXf initial = model.parameters();
  const int64_t model_bytes = static_cast<int64_t>(sizeof(float)) * model.num_parameters();

  storage::ExperimentLog log(config.db);
  SimulationResult result;
  int64_t run_id = 0;
  int64_t last_done = 0;
  if (auto existing = log.FindRun(config.run_name)) {
    if (existing->status == storage::RunStatus::kCompleted) {
      throw ConfigError("run '" + config.run_name + "' is already complete in " + config.db +
                        "; choose another run_name");
    }
    run_id = existing->id;
    last_done = log.ResumeRun(run_id);
    if (last_done > 0) {
      std::optional<storage::Checkpoint> checkpoint = log.LatestCheckpoint(run_id);
      if (!checkpoint || checkpoint->round != last_done) {
        throw DataError(config.db + ": run '" + config.run_name + "' has no checkpoint of round " +
                        std::to_string(last_done) + " to resume from");
      }
      if (checkpoint->spec != config.model) {
        throw ConfigError("run '" + config.run_name + "' was started with model " +
                          checkpoint->spec + ", the config says " + config.model);
      }
      initial = checkpoint->parameters;
    }
    if (progress) {
      std::fprintf(progress, "resuming run '%s' after round %lld\n", config.run_name.c_str(),
                   static_cast<long long>(last_done));
    }
  } else {
    storage::RunSpec spec;
    spec.name = config.run_name;
    spec.config = ToToml(config);
    spec.strategy = config.strategy;
    spec.mode = config.mode;
    spec.model_spec = config.model;
    spec.seed = config.seed;
    spec.planned_rounds = config.rounds;
    run_id = log.BeginRun(spec);
  }
  result.run_id = run_id;
  result.first_round = last_done + 1;

  try {
    if (last_done == 0) {
      const storage::EvaluationRecord initial_eval = Evaluate(model, initial, data.test, 0);
      log.RecordEvaluation(run_id, initial_eval);
    }
    RoundOptions options;
    options.clients_per_round = static_cast<size_t>(config.clients_per_round);
    options.seed = static_cast<uint64_t>(config.seed);
    RoundEngine engine(*strategy, *selector, options, initial, last_done);

    result.best_accuracy = 0.0;
    for (int64_t round = last_done + 1; round <= config.rounds; ++round) {
      const double started_at = Now();
      const RoundReport report = engine.RunRound(round, clients);

      std::vector<storage::EvaluationRecord> evals;
      const bool evaluate = round % config.eval_every == 0 || round == config.rounds;
      if (evaluate) evals.push_back(Evaluate(model, engine.global(), data.test, round));

      storage::RoundRecord record;
      record.round = round;
      record.model_version = report.model_version;
      record.selected = static_cast<int64_t>(report.selected.size());
      record.completed = static_cast<int64_t>(report.results.size());
      record.dropped = static_cast<int64_t>(report.dropped());
      record.rejected = static_cast<int64_t>(report.rejected());
      record.started_at = started_at;
      record.ended_at = Now();
      record.train_loss = report.train_loss;
      const std::vector<storage::ClientUpdateRecord> updates = UpdateRecords(report, model_bytes);
      storage::Checkpoint checkpoint;
      checkpoint.round = round;
      checkpoint.spec = config.model;
      checkpoint.parameters = engine.global();
      log.CommitRound(run_id, record, updates, evals, &checkpoint);
      if (config.keep_checkpoints > 0) log.PruneCheckpoints(run_id, config.keep_checkpoints);

      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (evaluate) {
        result.final_accuracy = evals.front().accuracy;
        result.best_accuracy = std::max(result.best_accuracy, evals.front().accuracy);
      }
      if (progress) {
        std::fprintf(progress, "round %lld/%lld  train_loss %.4f", static_cast<long long>(round),
                     static_cast<long long>(config.rounds), report.train_loss);
        if (evaluate) {
          std::fprintf(progress, "  test_loss %.4f  test_acc %.4f", evals.front().loss,
                       evals.front().accuracy);
        }
        std::fprintf(progress, "  clients %zu/%zu  %.1fs  elapsed %.1fs\n", report.results.size(),
                     report.selected.size(), report.seconds, elapsed);
        std::fflush(progress);
      }
      result.last_round = round;
    }
    log.EndRun(run_id, storage::RunStatus::kCompleted);
  } catch (const std::exception& e) {
    try {
      log.EndRun(run_id, storage::RunStatus::kFailed, e.what());
    } catch (const std::exception&) {
      // The original error is the one to report (e.g. the disk is full).
    }
    throw;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace edgefl::coordinator
