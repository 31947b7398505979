#include "engine/async_runner.h"

#include <chrono>
#include <cmath>
#include <map>
#include <string>

#include "algorithms/async_strategy_registry.h"
#include "common/error.h"
#include "common/wall_clock.h"
#include "engine/progress.h"
#include "nn/model.h"
#include "storage/experiment_log.h"
#include "storage/run_lease.h"
#include "train/local_trainer.h"

namespace edgefl::engine {
namespace {

std::vector<storage::ClientUpdateRecord> UpdateRecords(const AsyncUpdate& update,
                                                       int64_t model_bytes) {
  std::vector<storage::ClientUpdateRecord> out;
  // A fast client can have several rows in one version: numbered by seq.
  std::map<std::string, int64_t> rows;
  for (size_t i = 0; i < update.results.size(); ++i) {
    const train::FitResult& r = update.results[i];
    storage::ClientUpdateRecord u;
    u.round = update.model_version;
    u.client_id = r.client;
    u.num_samples = static_cast<int64_t>(r.train.num_samples);
    u.local_steps = r.train.steps;
    u.loss_before = r.train.loss_before;
    u.loss_after = r.train.loss_after;
    u.bytes_in = r.bytes_in > 0 ? r.bytes_in : model_bytes;
    u.bytes_out = r.bytes_out > 0 ? r.bytes_out : model_bytes;
    u.compute_seconds = r.train.compute_seconds;
    u.staleness = update.staleness[i];
    u.status = storage::UpdateStatus::kAccepted;
    u.seq = rows[u.client_id]++;
    out.push_back(std::move(u));
  }
  for (const train::FitFailure& f : update.failures) {
    storage::ClientUpdateRecord u;
    u.round = update.model_version;
    u.client_id = f.client;
    u.loss_before = u.loss_after = u.compute_seconds = std::nan("");
    u.bytes_out = model_bytes;
    u.status = f.kind == train::FitFailure::Kind::kDropped ? storage::UpdateStatus::kDropped
                                                           : storage::UpdateStatus::kRejected;
    u.reason = f.reason;
    u.seq = rows[u.client_id]++;
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace

AsyncExperimentResult RunAsyncExperiment(const ExperimentConfig& config,
                                         const datasets::Dataset& test, size_t fleet_size,
                                         const AsyncLoopFactory& make_loop, std::FILE* progress,
                                         const std::atomic<bool>* stop,
                                         const CommitObserver& on_commit) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<algorithms::AsyncStrategy> strategy =
      algorithms::MakeAsyncStrategy(StrategyConfigFrom(config), fleet_size);

  nn::Model model(config.model);
  model.Initialize(static_cast<uint64_t>(config.seed));
  const int64_t model_bytes = static_cast<int64_t>(sizeof(float)) * model.num_parameters();

  storage::ExperimentLog log(config.db);
  const storage::RunLease lease = ClaimRun(log, config);
  ProgressLine line(progress, "version");
  AsyncExperimentResult result;
  AsyncStart from;  // version 0, or where a resumed run stopped
  from.parameters = model.parameters();
  int64_t run_id = 0;
  const std::optional<storage::RunInfo> existing = RunToResume(log, config);
  if (existing) {
    run_id = existing->id;
    // Checked before ResumeRun: a refused resume leaves the run as it was.
    from.version = log.LastCompletedRound(run_id);
    if (from.version > 0) {
      std::optional<storage::Checkpoint> checkpoint = log.LatestCheckpoint(run_id);
      if (!checkpoint || checkpoint->round != from.version) {
        throw DataError(config.db + ": run '" + config.run_name +
                        "' has no checkpoint of version " + std::to_string(from.version) +
                        " to resume from");
      }
      if (checkpoint->spec != config.model) {
        throw ConfigError("run '" + config.run_name + "' was started with model " +
                          checkpoint->spec + ", the config says " + config.model);
      }
      from.parameters = std::move(checkpoint->parameters);
      // Momentum, buffer and arrival count continue where they stopped.
      if (checkpoint->strategy_state.size() > 0) {
        strategy->RestoreState(checkpoint->strategy_state);
      }
      const std::vector<storage::RoundRecord> done = log.Rounds(run_id);
      for (const storage::RoundRecord& r : done)
        from.tasks_sent += r.selected;
      if (!done.empty() && done.back().virtual_time) from.clock = *done.back().virtual_time;
      for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run_id))
        ++from.client_tasks[u.client_id];
    }
    // FedBR's pool as the run first built it (schema 8).
    if (std::optional<Eigen::MatrixXf> pool = log.PseudoDataPool(run_id)) {
      from.pseudo_data = std::make_shared<const Eigen::MatrixXf>(std::move(*pool));
    }
    log.ResumeRun(run_id);
    line.Message("resuming run '" + config.run_name + "' after version " +
                 std::to_string(from.version));
  } else {
    storage::RunSpec spec = RunSpecOf(config);
    spec.mode = "async";
    run_id = log.BeginRun(spec);
  }
  RecordRunStart(log, run_id, lease, existing, config);
  result.run_id = run_id;
  result.first_round = from.version + 1;
  result.virtual_seconds = from.clock;
  int64_t last_done = from.version;
  try {
    if (!HasTestEvaluation(log, run_id, 0)) {
      log.RecordEvaluation(run_id, EvaluateOnTest(model, model.parameters(), test, 0));
    }
    const std::unique_ptr<AsyncUpdates> loop = make_loop(*strategy, model_bytes, std::move(from));
    AsyncUpdates& engine = *loop;

    line.Start(last_done, config.rounds);
    double started_at = UnixSeconds();
    bool pool_recorded = log.PseudoDataPool(run_id).has_value();
    // Versions are counted as they are taken: the loop may have made more
    // than it has handed over (simultaneous arrivals). A run resumed after
    // the version that spent its privacy budget has nothing left to do.
    if (last_done > 0) result.budget_spent = strategy->BudgetSpentAfter(last_done);
    while (last_done < config.rounds && !result.budget_spent) {
      if (stop != nullptr && stop->load()) {
        result.interrupted = true;
        break;
      }
      std::optional<AsyncUpdate> update = engine.NextUpdate();
      if (!update) {
        result.interrupted = true;
        break;
      }
      const int64_t version = update->model_version;
      if (version != last_done + 1) {  // a loop started at the wrong version
        throw Error("the asynchronous loop made version " + std::to_string(version) +
                    " after version " + std::to_string(last_done));
      }
      // DP: whether another server step would exceed dp_target_epsilon.
      result.budget_spent = strategy->BudgetSpentAfter(version);
      std::vector<storage::EvaluationRecord> evals;
      const bool evaluate = version % config.eval_every == 0 || version == config.rounds ||
                            result.budget_spent.has_value();
      if (evaluate) evals.push_back(EvaluateOnTest(model, *update->parameters, test, version));

      storage::RoundRecord record;
      record.round = version;
      record.model_version = version;
      record.selected = update->dispatched;
      record.completed = static_cast<int64_t>(update->results.size());
      for (const train::FitFailure& f : update->failures) {
        (f.kind == train::FitFailure::Kind::kDropped ? record.dropped : record.rejected) += 1;
      }
      record.started_at = started_at;
      record.ended_at = UnixSeconds();
      started_at = record.ended_at;
      record.virtual_time = update->virtual_time;
      record.train_loss = update->train_loss;
      record.metrics = update->metrics;
      storage::Checkpoint checkpoint;
      checkpoint.round = version;
      checkpoint.spec = config.model;
      checkpoint.parameters = *update->parameters;
      checkpoint.strategy_state = update->strategy_state;  // momentum, buffer: for a later resume
      if (!pool_recorded && update->pseudo_data != nullptr) {
        log.RecordPseudoDataPool(run_id, *update->pseudo_data);
        pool_recorded = true;
      }
      const auto commit_started = std::chrono::steady_clock::now();
      log.CommitRound(run_id, record, UpdateRecords(*update, model_bytes), evals, &checkpoint);
      if (on_commit) {
        CommittedRound committed;
        committed.round = version;
        committed.seconds = record.ended_at - record.started_at;
        committed.commit_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_started)
                .count();
        committed.accepted = record.completed;
        committed.failures = update->failures;
        on_commit(committed);
      }
      if (result.budget_spent) log.RecordEvent(run_id, "budget_spent", *result.budget_spent);
      if (config.keep_checkpoints > 0) log.PruneCheckpoints(run_id, config.keep_checkpoints);

      if (evaluate) {
        result.final_accuracy = evals.front().accuracy;
        result.best_accuracy = std::max(result.best_accuracy, evals.front().accuracy);
      }
      if (progress) {
        double staleness = 0.0;
        for (int64_t s : update->staleness)
          staleness += static_cast<double>(s);
        if (!update->staleness.empty()) staleness /= static_cast<double>(update->staleness.size());
        // The accuracy first: a narrow terminal cuts the end of the figures.
        char details[200];
        int n = 0;
        if (evaluate) {
          n = std::snprintf(details, sizeof details, "test_acc %.4f  test_loss %.4f  ",
                            evals.front().accuracy, evals.front().loss);
        }
        std::snprintf(details + n, sizeof details - static_cast<size_t>(n),
                      "vtime %.2fs  train_loss %.4f  updates %zu  staleness %.1f  lost %zu",
                      update->virtual_time, update->train_loss, update->results.size(), staleness,
                      update->failures.size());
        line.Step(version, details);
      }
      last_done = result.last_round = version;
      result.virtual_seconds = update->virtual_time;
    }
    if (result.interrupted) {
      const bool stopped = stop != nullptr && stop->load();
      log.EndRun(run_id, storage::RunStatus::kInterrupted,
                 stopped ? "stopped after version " + std::to_string(result.last_round)
                         : engine.stop_reason());
    } else if (result.budget_spent) {
      line.Message(*result.budget_spent + "; the run ends");
      log.EndRun(run_id, storage::RunStatus::kCompleted, *result.budget_spent);
    } else {
      log.EndRun(run_id, storage::RunStatus::kCompleted);
    }
  } catch (const std::exception& e) {
    MarkRunFailed(log, run_id, e);
    throw;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace edgefl::engine
