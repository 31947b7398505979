#include "engine/experiment_runner.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/local_registry.h"
#include "algorithms/local_solver.h"
#include "common/error.h"
#include "common/wall_clock.h"
#include "engine/progress.h"
#include "nn/model.h"
#include "storage/experiment_log.h"
#include "storage/run_lease.h"
#include "train/local_trainer.h"

namespace edgefl::engine {
namespace {

std::vector<storage::ClientUpdateRecord> UpdateRecords(const RoundReport& report,
                                                       int64_t model_bytes) {
  std::vector<storage::ClientUpdateRecord> out;
  for (const train::FitResult& r : report.results) {
    storage::ClientUpdateRecord u;
    u.round = report.round;
    u.client_id = r.client;
    u.num_samples = static_cast<int64_t>(r.train.num_samples);
    u.local_steps = r.train.steps;
    u.loss_before = r.train.loss_before;
    u.loss_after = r.train.loss_after;
    // What crossed the network, or the model's size each way in simulation.
    u.bytes_in = r.bytes_in > 0 ? r.bytes_in : model_bytes;
    u.bytes_out = r.bytes_out > 0 ? r.bytes_out : model_bytes;
    u.compute_seconds = r.train.compute_seconds;
    u.staleness = report.model_version - 1 - r.base_version;
    if (u.staleness < 0) u.staleness = 0;
    u.status = storage::UpdateStatus::kAccepted;
    if (!report.model_updated) {
      u.status = storage::UpdateStatus::kDiscarded;
      u.reason = report.outcome;
    }
    out.push_back(std::move(u));
  }
  for (const train::FitFailure& f : report.failures) {
    storage::ClientUpdateRecord u;
    u.round = report.round;
    u.client_id = f.client;
    u.loss_before = u.loss_after = u.compute_seconds = std::nan("");
    u.bytes_out = model_bytes;
    u.status = f.kind == train::FitFailure::Kind::kDropped ? storage::UpdateStatus::kDropped
                                                           : storage::UpdateStatus::kRejected;
    u.reason = f.reason;
    out.push_back(std::move(u));
  }
  return out;
}

// The local models the log keeps of this round (keep_client_models): the
// first client_models_per_round accepted (or discarded) results in cohort
// order, whoever delivered them (in-process or over TLS: the engine's
// results are the same either way).
std::vector<storage::ClientModel> ClientModels(const RoundReport& report,
                                               const ExperimentConfig& config) {
  std::vector<storage::ClientModel> out;
  if (config.keep_client_models <= 0) return out;
  for (const train::FitResult& r : report.results) {
    if (static_cast<int64_t>(out.size()) >= config.client_models_per_round) break;
    if (r.train.parameters.size() == 0) continue;  // kept on the device (secure aggregation)
    storage::ClientModel m;
    m.round = report.round;
    m.client_id = r.client;
    m.spec = config.model;
    m.parameters = r.train.parameters;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

void MarkRunFailed(storage::ExperimentLog& log, int64_t run_id, const std::exception& error) {
  try {
    log.EndRun(run_id, storage::RunStatus::kFailed, error.what());
  } catch (const std::exception&) {
    // The original error is the one to report (e.g. the disk is full).
  }
}

storage::EvaluationRecord EvaluateOnTest(nn::Model& model, const Eigen::VectorXf& parameters,
                                         const datasets::Dataset& test, int64_t round) {
  model.SetParameters(parameters);
  const train::EvalResult eval = train::LocalTrainer::Evaluate(model, test);
  storage::EvaluationRecord record;
  record.round = round;
  record.split = "test";
  record.loss = eval.loss;
  record.accuracy = eval.accuracy;
  record.per_class_accuracy = eval.per_class_accuracy;
  record.num_samples = static_cast<int64_t>(eval.num_samples);
  return record;
}

storage::EvaluationRecord EvaluateGlobalOnTest(algorithms::Strategy& strategy, nn::Model& model,
                                               const Eigen::VectorXf& global,
                                               const datasets::Dataset& test, int64_t round) {
  const std::optional<train::EvalResult> eval = strategy.EvaluateGlobal(global, test);
  if (!eval) return EvaluateOnTest(model, global, test, round);
  storage::EvaluationRecord record;
  record.round = round;
  record.split = "test";
  record.loss = eval->loss;
  record.accuracy = eval->accuracy;
  record.per_class_accuracy = eval->per_class_accuracy;
  record.num_samples = static_cast<int64_t>(eval->num_samples);
  return record;
}

std::optional<storage::RunInfo> RunToResume(storage::ExperimentLog& log,
                                            const ExperimentConfig& config) {
  std::optional<storage::RunInfo> existing = log.FindRun(config.run_name);
  if (!existing) return std::nullopt;
  if (existing->status == storage::RunStatus::kCompleted) {
    throw ConfigError("run '" + config.run_name + "' is already complete in " + config.db +
                      "; choose another run_name");
  }
  if (existing->spec.mode != config.mode) {
    throw ConfigError(
        "run '" + config.run_name + "' in " + config.db + " was started with mode = \"" +
        existing->spec.mode + "\"; it cannot be resumed with mode = \"" + config.mode +
        "\" (set mode = \"" + existing->spec.mode + "\" to resume it, or choose another run_name)");
  }
  if (existing->spec.strategy != config.strategy) {
    throw ConfigError("run '" + config.run_name + "' in " + config.db +
                      " was started with strategy " + existing->spec.strategy +
                      ", the config says " + config.strategy +
                      " (set it back to resume the run, or choose another run_name)");
  }
  if (!existing->spec.model_spec.empty() && existing->spec.model_spec != config.model) {
    throw ConfigError("run '" + config.run_name + "' in " + config.db + " was started with model " +
                      existing->spec.model_spec + ", the config says " + config.model +
                      " (set it back to resume the run, or choose another run_name)");
  }
  ResumeChanges(*existing, config);  // throws for a key that may not change
  return existing;
}

std::vector<std::string> ResumeChanges(const storage::RunInfo& run,
                                       const ExperimentConfig& config) {
  // A run recorded without its config (by another tool) has nothing to
  // compare beyond the checks above.
  if (run.spec.config.empty()) return {};
  std::vector<ConfigChange> changes;
  try {
    changes = ConfigChanges(run.spec.config, config);
  } catch (const DataError& e) {
    throw DataError(config.db + ": run '" + config.run_name + "': " + e.what() +
                    "; it cannot be compared with this config, so it is not resumed (choose "
                    "another run_name)");
  }
  std::string refused;
  std::vector<std::string> accepted;
  for (const ConfigChange& c : changes) {
    if (c.key == "run_name" || c.key == "db") continue;
    const std::string text = c.key + " = " + c.recorded + " (now " + c.now + ")";
    if (MayChangeOnResume(c.key, run.spec.mode)) {
      accepted.push_back(c.key + ": " + c.recorded + " -> " + c.now);
    } else {
      refused += (refused.empty() ? "" : ", ") + text;
    }
  }
  if (!refused.empty()) {
    throw ConfigError(
        "run '" + config.run_name + "' in " + config.db +
        " was started with another config: " + refused +
        ". A resumed run keeps every key that shapes its results; only rounds, threads, "
        "eval_every, keep_checkpoints, min_clients (sync) and the coordinator's connection keys "
        "may change. Set these back to resume the run, or set run_name to start a new one");
  }
  return accepted;
}

storage::RunLease ClaimRun(storage::ExperimentLog& log, const ExperimentConfig& config) {
  std::optional<storage::RunLease> lease =
      storage::RunLease::TryAcquire(log.path(), config.run_name);
  if (!lease) {
    const std::optional<storage::RunInfo> run = log.FindRun(config.run_name);
    const std::string owner = run && !run->owner.empty() ? run->owner : "another process";
    throw ConfigError("run '" + config.run_name + "' in " + config.db + " is being run by " +
                      owner +
                      "; one process owns a run: wait for it to end or stop it, or choose "
                      "another run_name");
  }
  // Marked running, yet nobody held its lease: its process died (kill -9,
  // power loss) without closing the run. Say so before it is resumed.
  std::optional<storage::RunInfo> run = log.FindRun(config.run_name);
  if (run && run->status == storage::RunStatus::kRunning) {
    const std::string who = run->owner.empty() ? "its process" : run->owner;
    const std::string reason = who + " ended without closing the run after round " +
                               std::to_string(log.LastCompletedRound(run->id));
    log.RecordEvent(run->id, "owner_lost", reason);
    log.EndRun(run->id, storage::RunStatus::kInterrupted, reason);
  }
  return std::move(*lease);
}

void RecordRunStart(storage::ExperimentLog& log, int64_t run_id, const storage::RunLease& lease,
                    const std::optional<storage::RunInfo>& resumed,
                    const ExperimentConfig& config) {
  log.SetOwner(run_id, lease.owner());
  if (!resumed) return;
  const std::vector<std::string> changes = ResumeChanges(*resumed, config);
  if (!changes.empty() || resumed->spec.config.empty()) {
    log.ChangeRunSpec(run_id, ToToml(config), config.rounds, changes);
  }
  log.RecordEvent(run_id, "resumed", "by " + lease.owner());
}

storage::RunSpec RunSpecOf(const ExperimentConfig& config) {
  storage::RunSpec spec;
  spec.name = config.run_name;
  spec.config = ToToml(config);
  spec.strategy = config.strategy;
  spec.mode = config.mode;
  spec.model_spec = config.model;
  spec.seed = config.seed;
  spec.planned_rounds = config.rounds;
  return spec;
}

bool HasTestEvaluation(storage::ExperimentLog& log, int64_t run_id, int64_t round) {
  for (const storage::EvaluationRecord& e : log.Evaluations(run_id)) {
    if (e.round == round && e.split == "test") return true;
  }
  return false;
}

namespace {

// A selector that biases the cohort breaks a guarantee that assumes a
// uniform sample (DP-FedAvg's accountant): refused, failing closed.
void CheckSamplingFits(const algorithms::Strategy& strategy,
                       const algorithms::ClientSelector& selector) {
  if (strategy.NeedsUniformSampling() && selector.name() != "uniform") {
    throw ConfigError("strategy " + strategy.name() + " with dp = true needs selector = " +
                      "\"uniform\": the privacy accountant assumes each round's cohort is a " +
                      "uniform sample of the clients, and selector \"" + selector.name() +
                      "\" picks them by other criteria");
  }
}

}  // namespace

void CheckAlgorithms(const ExperimentConfig& config, size_t fleet_size) {
  if (config.mode == "decentralized") {
    algorithms::Dsgd(algorithms::ReadDsgdOptions(StrategyConfigFrom(config)), fleet_size);
    return;
  }
  if (config.mode == "async") {
    algorithms::MakeAsyncStrategy(StrategyConfigFrom(config), fleet_size);
    return;
  }
  if (algorithms::IsAsyncStrategy(config.strategy)) {
    throw ConfigError("strategy " + config.strategy + " is asynchronous: set mode = \"async\"");
  }
  CheckSamplingFits(*algorithms::MakeStrategy(StrategyConfigFrom(config)),
                    *algorithms::MakeSelector(SelectorConfigFrom(config)));
}

void CheckClientAlgorithm(const ExperimentConfig& config, const datasets::Dataset& sample_data) {
  std::unique_ptr<algorithms::Strategy> probe =
      algorithms::MakeStrategy(StrategyConfigFrom(config));
  algorithms::ClientInfo info;
  info.id = "probe";
  info.num_samples = sample_data.size();
  const std::vector<train::FitInstructions> instructions =
      probe->ConfigureFit(1, std::span<const algorithms::ClientInfo>(&info, 1));
  if (algorithms::IsLocalSolver(instructions.at(0).local)) {
    algorithms::MakeLocalSolver(instructions.at(0).local, config.model, sample_data);
    return;
  }
  algorithms::MakeLocalObjective(instructions.at(0).local, &sample_data);
  algorithms::MakeDataOrder(instructions.at(0).local, &instructions.at(0).recipe);
}

ExperimentResult RunExperiment(const ExperimentConfig& config, const datasets::Dataset& test,
                               ClientSource& clients, const RunnerOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<algorithms::Strategy> strategy =
      algorithms::MakeStrategy(StrategyConfigFrom(config));
  std::unique_ptr<algorithms::ClientSelector> selector =
      algorithms::MakeSelector(SelectorConfigFrom(config));
  CheckSamplingFits(*strategy, *selector);

  nn::Model model(config.model);
  model.Initialize(static_cast<uint64_t>(config.seed));
  if (strategy->WantsTrainingData()) {
    if (options.training_data == nullptr) {
      throw ConfigError("strategy " + config.strategy +
                        " needs the training split (RunnerOptions::training_data)");
    }
    strategy->Prepare(*options.training_data);
  }
  Eigen::VectorXf initial = strategy->InitialGlobal(model.parameters());
  const int64_t model_bytes = static_cast<int64_t>(sizeof(float)) * model.num_parameters();

  storage::ExperimentLog log(config.db);
  const storage::RunLease lease = ClaimRun(log, config);
  ProgressLine progress = options.progress_in_place
                              ? ProgressLine(options.progress, "round", *options.progress_in_place)
                              : ProgressLine(options.progress, "round");
  ExperimentResult result;
  int64_t run_id = 0;
  int64_t last_done = 0;
  const std::optional<storage::RunInfo> existing = RunToResume(log, config);
  if (existing) {
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
      // Momentum and Adam moments continue where they stopped. A checkpoint
      // written before schema 2 has no state: the optimizer starts afresh.
      if (checkpoint->strategy_state.size() > 0) {
        strategy->RestoreState(checkpoint->strategy_state);
      }
      // Oort's arms, pacer and ε continue too (schema 7; before it, or for
      // a stateless selector, nothing is saved and selection starts afresh).
      if (!checkpoint->selector_state.empty()) {
        selector->RestoreState(checkpoint->selector_state);
      }
    }
    progress.Message("resuming run '" + config.run_name + "' after round " +
                     std::to_string(last_done));
  } else {
    run_id = log.BeginRun(RunSpecOf(config));
  }
  RecordRunStart(log, run_id, lease, existing, config);
  result.run_id = run_id;
  result.first_round = last_done + 1;

  try {
    if (last_done == 0 && !HasTestEvaluation(log, run_id, 0)) {
      const storage::EvaluationRecord initial_eval =
          EvaluateGlobalOnTest(*strategy, model, initial, test, 0);
      log.RecordEvaluation(run_id, initial_eval);
    }
    RoundEngine engine(*strategy, *selector, options.round, initial, last_done);
    // The simulated clock (rounds timed on it), continued on resume.
    double virtual_clock = 0.0;
    if (last_done > 0) {
      const std::vector<storage::RoundRecord> done = log.Rounds(run_id);
      if (!done.empty() && done.back().virtual_time) virtual_clock = *done.back().virtual_time;
      engine.set_virtual_now(virtual_clock);
      // FedBR's pool as the run first built it (schema 8): the clients
      // connected now may not be those the pool was drawn from.
      if (std::optional<Eigen::MatrixXf> pool = log.PseudoDataPool(run_id)) {
        engine.set_pseudo_data(std::make_shared<const Eigen::MatrixXf>(std::move(*pool)));
      }
    }
    bool pool_recorded = engine.pseudo_data() != nullptr;
    progress.Start(last_done, config.rounds);

    result.best_accuracy = 0.0;
    // A run resumed after the round that spent its budget (it crashed
    // before it was marked complete) has nothing left to do.
    if (last_done > 0) result.budget_spent = strategy->BudgetSpentAfter(last_done);
    for (int64_t round = last_done + 1; round <= config.rounds && !result.budget_spent; ++round) {
      if (options.stop != nullptr && options.stop->load()) {
        result.interrupted = true;
        break;
      }
      const double started_at = UnixSeconds();
      const std::vector<std::shared_ptr<ClientProxy>> available = clients.ClientsForRound(round);
      if (available.empty()) {
        result.interrupted = true;
        break;
      }
      std::vector<ClientProxy*> raw;
      for (const auto& c : available)
        raw.push_back(c.get());
      const RoundReport report = engine.RunRound(round, raw);
      if (!pool_recorded && engine.pseudo_data() != nullptr) {
        log.RecordPseudoDataPool(run_id, *engine.pseudo_data());
        pool_recorded = true;
      }
      result.budget_spent = strategy->BudgetSpentAfter(round);

      std::vector<storage::EvaluationRecord> evals;
      const bool evaluate = round % config.eval_every == 0 || round == config.rounds ||
                            result.budget_spent.has_value();
      if (evaluate) {
        evals.push_back(EvaluateGlobalOnTest(*strategy, model, engine.global(), test, round));
      }

      storage::RoundRecord record;
      record.round = round;
      record.model_version = report.model_version;
      record.selected = static_cast<int64_t>(report.selected.size());
      // A round that kept the previous model says so; its usable updates
      // are discarded, not accepted (UpdateRecords).
      record.aggregated = report.model_updated;
      record.outcome = report.outcome;
      record.metrics = report.metrics;
      record.completed = report.model_updated ? static_cast<int64_t>(report.results.size()) : 0;
      record.dropped = static_cast<int64_t>(report.dropped());
      record.rejected = static_cast<int64_t>(report.rejected());
      record.started_at = started_at;
      record.ended_at = UnixSeconds();
      record.train_loss = report.train_loss;
      if (report.virtual_seconds) {
        virtual_clock += *report.virtual_seconds;
        record.virtual_time = virtual_clock;
      }
      const std::vector<storage::ClientUpdateRecord> updates = UpdateRecords(report, model_bytes);
      storage::Checkpoint checkpoint;
      checkpoint.round = round;
      checkpoint.spec = config.model;
      checkpoint.parameters = engine.global();
      checkpoint.strategy_state = strategy->SaveState();
      checkpoint.selector_state = selector->SaveState();
      const std::vector<storage::ClientModel> client_models = ClientModels(report, config);
      const auto commit_started = std::chrono::steady_clock::now();
      log.CommitRound(run_id, record, updates, evals, &checkpoint, client_models);
      if (options.on_commit) {
        CommittedRound committed;
        committed.round = round;
        committed.seconds = report.seconds;
        committed.commit_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_started)
                .count();
        committed.accepted = record.completed;
        committed.discarded =
            report.model_updated ? 0 : static_cast<int64_t>(report.results.size());
        committed.failures = report.failures;
        options.on_commit(committed);
      }
      if (result.budget_spent) log.RecordEvent(run_id, "budget_spent", *result.budget_spent);
      if (config.keep_checkpoints > 0) log.PruneCheckpoints(run_id, config.keep_checkpoints);
      if (config.keep_client_models > 0) {
        log.PruneClientModels(run_id, config.keep_client_models);
      }

      if (evaluate) {
        result.final_accuracy = evals.front().accuracy;
        result.best_accuracy = std::max(result.best_accuracy, evals.front().accuracy);
      }
      if (options.progress) {
        // The accuracy first: a narrow terminal cuts the end of the figures.
        char details[160];
        int n = 0;
        if (evaluate) {
          n = std::snprintf(details, sizeof details, "test_acc %.4f  test_loss %.4f  ",
                            evals.front().accuracy, evals.front().loss);
        }
        std::snprintf(details + n, sizeof details - static_cast<size_t>(n),
                      "train_loss %.4f  clients %zu/%zu  %.1fs", report.train_loss,
                      report.results.size(), report.selected.size(), report.seconds);
        if (report.virtual_seconds) {
          const size_t used = std::strlen(details);
          std::snprintf(details + used, sizeof details - used, "  vtime %.1fs", virtual_clock);
        }
        progress.Step(round, details);
      }
      result.last_round = round;
    }
    if (result.interrupted) {
      log.EndRun(run_id, storage::RunStatus::kInterrupted,
                 "stopped after round " + std::to_string(result.last_round));
    } else if (result.budget_spent) {
      progress.Message(*result.budget_spent + "; the run ends");
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
