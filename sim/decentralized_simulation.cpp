#include "sim/decentralized_simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/aggregate.h"
#include "algorithms/dsgd.h"
#include "algorithms/local_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "common/wall_clock.h"
#include "datasets/feature_noise.h"
#include "engine/experiment_data.h"
#include "engine/experiment_runner.h"
#include "engine/progress.h"
#include "nn/model.h"
#include "sim/heterogeneity.h"
#include "sim/simulated_client_proxy.h"
#include "sim/thread_pool.h"
#include "storage/experiment_log.h"
#include "storage/run_lease.h"

namespace edgefl::sim {
namespace {

HeterogeneityOptions FleetOptions(const engine::ExperimentConfig& c) {
  HeterogeneityOptions h;
  h.speed_dist = c.speed_dist;
  h.speed_spread = c.speed_spread;
  h.speed_trace = c.speed_trace;
  h.base_speed = c.base_speed;
  h.bandwidth = c.bandwidth;
  h.availability = c.availability;
  h.availability_trace = c.availability_trace;
  h.on_seconds = c.on_seconds;
  h.off_seconds = c.off_seconds;
  h.dropout = c.dropout;
  h.seed = static_cast<uint64_t>(c.seed);
  return h;
}

// Test loss and accuracy of every node model and of their average, and the
// consensus distance, for round `round`.
std::vector<storage::EvaluationRecord> EvaluateNodes(const engine::ExperimentConfig& config,
                                                     const std::vector<Eigen::VectorXf>& models,
                                                     const datasets::Dataset& test,
                                                     ThreadPool& pool, int64_t round) {
  std::vector<std::future<storage::EvaluationRecord>> pending;
  pending.reserve(models.size());
  for (const Eigen::VectorXf& x : models) {
    pending.push_back(pool.Submit([&config, &x, &test, round]() {
      nn::Model model(config.model);
      return engine::EvaluateOnTest(model, x, test, round);
    }));
  }
  storage::EvaluationRecord node_mean;
  node_mean.round = round;
  node_mean.split = "node_mean";
  double loss = 0.0, accuracy = 0.0;
  for (auto& p : pending) {
    const storage::EvaluationRecord e = p.get();
    loss += e.loss;
    accuracy += e.accuracy;
    node_mean.num_samples = e.num_samples;
  }
  node_mean.loss = loss / static_cast<double>(models.size());
  node_mean.accuracy = accuracy / static_cast<double>(models.size());
  nn::Model model(config.model);
  const storage::EvaluationRecord average =
      engine::EvaluateOnTest(model, algorithms::AverageModel(models), test, round);
  return {average, node_mean};
}

storage::EvaluationRecord ConsensusRecord(const std::vector<Eigen::VectorXf>& models,
                                          int64_t round) {
  storage::EvaluationRecord record;
  record.round = round;
  record.split = "consensus";
  record.loss = algorithms::ConsensusDistance(models);
  record.accuracy = std::numeric_limits<double>::quiet_NaN();
  record.num_samples = static_cast<int64_t>(models.size());
  return record;
}

}  // namespace

SimulationResult RunDecentralizedSimulation(const engine::ExperimentConfig& config,
                                            std::FILE* progress, const std::atomic<bool>* stop) {
  if (config.mode != "decentralized") {
    throw ConfigError("RunDecentralizedSimulation: mode is \"" + config.mode + "\"");
  }
  if (config.byzantine_mode != "none") {
    throw ConfigError(
        "mode decentralized: byzantine_mode must be \"none\" (Byzantine nodes are "
        "not simulated for D-SGD)");
  }
  engine::CheckAlgorithms(config, static_cast<size_t>(config.clients));
  engine::ExperimentData data = engine::LoadExperimentData(config);
  const size_t n = data.partition.num_clients();
  const algorithms::Dsgd dsgd(algorithms::ReadDsgdOptions(engine::StrategyConfigFrom(config)), n);
  Fleet fleet(FleetOptions(config), n);
  ThreadPool pool(static_cast<size_t>(config.threads));

  std::vector<std::shared_ptr<SimulatedClientProxy>> nodes;
  auto fleet_data = std::make_shared<std::vector<const datasets::Dataset*>>();
  for (size_t k = 0; k < n; ++k) {
    datasets::Dataset local = datasets::Subset(data.train, data.partition.clients[k]);
    if (data.partition.noise_std.size() > k && data.partition.noise_std[k] > 0.0f) {
      datasets::AddFeatureNoise(local, data.partition.noise_std[k], data.partition.spec.seed, k);
    }
    char id[32];
    std::snprintf(id, sizeof(id), "sim-%04zu", k);
    nodes.push_back(
        std::make_shared<SimulatedClientProxy>(id, std::move(local), config.model, pool));
    fleet_data->push_back(&nodes.back()->data());
  }
  for (auto& node : nodes)
    node->set_fleet_data(fleet_data);
  // The client part (objective, data order) fails here on a bad key, before
  // any training.
  algorithms::MakeLocalObjective(dsgd.Instructions(1, nodes[0]->info()).local, &nodes[0]->data());

  storage::ExperimentLog log(config.db);
  if (log.FindRun(config.run_name)) {
    throw ConfigError("run '" + config.run_name + "' is already in " + config.db +
                      "; decentralized runs are not resumed: choose another run_name");
  }
  const storage::RunLease lease = engine::ClaimRun(log, config);
  const int64_t run_id = log.BeginRun(engine::RunSpecOf(config));
  engine::RecordRunStart(log, run_id, lease, std::nullopt, config);

  SimulationResult result;
  result.run_id = run_id;
  const double started = UnixSeconds();
  try {
    nn::Model initial(config.model);
    initial.Initialize(static_cast<uint64_t>(config.seed));  // as the sync runner does
    std::vector<Eigen::VectorXf> models(n, initial.parameters());
    const auto model_bytes = static_cast<int64_t>(sizeof(float) * initial.num_parameters());
    for (const storage::EvaluationRecord& e : EvaluateNodes(config, models, data.test, pool, 0))
      log.RecordEvaluation(run_id, e);
    log.RecordEvaluation(run_id, ConsensusRecord(models, 0));

    engine::ProgressLine line(progress, "round");
    line.Start(0, config.rounds);
    double clock = 0.0;
    for (int64_t round = 1; round <= config.rounds; ++round) {
      if (stop != nullptr && stop->load()) {
        result.interrupted = true;
        break;
      }
      storage::RoundRecord record;
      record.round = round;
      record.model_version = round;
      record.started_at = UnixSeconds();
      std::vector<bool> live(n, false);
      std::vector<std::string> reasons(n);
      for (size_t k = 0; k < n; ++k) {
        if (!fleet.Available(k, clock)) {
          reasons[k] = "off-line";
        } else if (fleet.DropsOut(k, round)) {
          reasons[k] = "dropped out";
        } else {
          live[k] = true;
        }
      }
      record.selected = static_cast<int64_t>(std::count(live.begin(), live.end(), true));
      std::vector<std::future<train::FitResult>> pending(n);
      std::vector<train::FitInstructions> instructions(n);
      for (size_t k = 0; k < n; ++k) {
        if (!live[k]) continue;
        instructions[k] = dsgd.Instructions(round, nodes[k]->info());
        pending[k] =
            nodes[k]->Fit(std::make_shared<const Eigen::VectorXf>(models[k]), instructions[k]);
      }
      std::vector<Eigen::VectorXf> trained(n);
      std::vector<train::FitResult> results(n);
      for (size_t k = 0; k < n; ++k) {
        if (!live[k]) continue;
        try {
          results[k] = pending[k].get();
        } catch (const Error& e) {
          live[k] = false;
          reasons[k] = e.what();
          continue;
        }
        const Eigen::VectorXf& p = results[k].train.parameters;
        if (auto bad = algorithms::CheckUpdate(
                nodes[k]->info().id,
                std::span<const float>(p.data(), static_cast<size_t>(p.size())),
                static_cast<size_t>(models[k].size()))) {
          live[k] = false;
          reasons[k] = *bad;
          continue;
        }
        trained[k] = p;
      }
      models = dsgd.Step(round, models, trained, live);

      // Live degree: the neighbours a node exchanged models with.
      std::vector<int64_t> degree(n, 0);
      double round_seconds = 0.0;
      double loss_sum = 0.0;
      std::vector<storage::ClientUpdateRecord> updates;
      for (size_t k = 0; k < n; ++k) {
        storage::ClientUpdateRecord u;
        u.round = round;
        u.client_id = nodes[k]->info().id;
        u.num_samples = static_cast<int64_t>(nodes[k]->info().num_samples);
        if (live[k]) {
          for (size_t j : dsgd.graph().neighbors[k])
            degree[k] += live[j] ? 1 : 0;
          const train::LocalTrainResult& t = results[k].train;
          u.local_steps = t.steps;
          u.loss_before = t.loss_before;
          u.loss_after = t.loss_after;
          u.compute_seconds = t.compute_seconds;
          u.bytes_out = degree[k] * model_bytes;
          u.bytes_in = degree[k] * model_bytes;
          loss_sum += t.loss_after;
          round_seconds =
              std::max(round_seconds,
                       fleet.TaskSeconds(
                           k, PlannedSamples(instructions[k].recipe, nodes[k]->info().num_samples),
                           degree[k] * model_bytes));
          ++record.completed;
        } else {
          u.status = storage::UpdateStatus::kDropped;
          u.reason = reasons[k];
          u.loss_before = u.loss_after = u.compute_seconds =
              std::numeric_limits<double>::quiet_NaN();
          ++record.dropped;
        }
        updates.push_back(std::move(u));
      }
      clock += round_seconds;
      record.virtual_time = clock;
      record.train_loss = record.completed > 0 ? loss_sum / static_cast<double>(record.completed)
                                               : std::numeric_limits<double>::quiet_NaN();
      record.aggregated = record.completed > 0;
      if (!record.aggregated) record.outcome = "no node was live";
      std::vector<storage::EvaluationRecord> evaluations;
      const bool evaluate = round % config.eval_every == 0 || round == config.rounds;
      if (evaluate) evaluations = EvaluateNodes(config, models, data.test, pool, round);
      evaluations.push_back(ConsensusRecord(models, round));
      record.ended_at = UnixSeconds();
      storage::Checkpoint checkpoint;
      checkpoint.spec = config.model;
      checkpoint.parameters = algorithms::AverageModel(models);
      log.CommitRound(run_id, record, updates, evaluations, &checkpoint);
      if (config.keep_checkpoints > 0) log.PruneCheckpoints(run_id, config.keep_checkpoints);

      result.last_round = round;
      char details[160];
      if (evaluate) {
        result.final_accuracy = evaluations[0].accuracy;
        result.best_accuracy = std::max(result.best_accuracy, evaluations[0].accuracy);
        std::snprintf(details, sizeof(details),
                      "avg acc %.4f  node acc %.4f  consensus %.3g  live %lld/%zu",
                      evaluations[0].accuracy, evaluations[1].accuracy, evaluations[2].loss,
                      static_cast<long long>(record.completed), n);
      } else {
        std::snprintf(details, sizeof(details), "consensus %.3g  live %lld/%zu",
                      evaluations[0].loss, static_cast<long long>(record.completed), n);
      }
      line.Step(round, details);
    }
    line.Finish();
    result.virtual_seconds = clock;
    if (result.interrupted) {
      log.EndRun(run_id, storage::RunStatus::kInterrupted, "stopped by a signal");
    } else {
      log.EndRun(run_id, storage::RunStatus::kCompleted);
    }
  } catch (const std::exception& e) {
    engine::MarkRunFailed(log, run_id, e);
    throw;
  }
  result.seconds = UnixSeconds() - started;
  return result;
}

}  // namespace edgefl::sim
