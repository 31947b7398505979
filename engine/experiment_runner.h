// The experiment loop shared by `edgefl sim` and `edgefl-coordinator`:
// builds the strategy and selector the config names, opens (or resumes) the
// run in the SQLite experiment log, evaluates the initial model, then for
// each round asks a ClientSource for the clients available now, runs the
// round through the RoundEngine, evaluates the global model on the test
// split, and commits the round (updates, evaluation, checkpoint) in one
// durable transaction. Where the clients come from (in-process simulated
// clients, TLS sessions) is the only difference between the two.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/client_selector.h"
#include "algorithms/strategy.h"
#include "algorithms/strategy_registry.h"
#include "datasets/dataset.h"
#include "engine/client_proxy.h"
#include "engine/commit_observer.h"
#include "engine/experiment_config.h"
#include "engine/round_engine.h"
#include "nn/model.h"
#include "storage/experiment_log.h"
#include "storage/records.h"
#include "storage/run_lease.h"

namespace edgefl::engine {

// Supplies the clients of each round.
class ClientSource {
 public:
  virtual ~ClientSource() = default;
  // The clients available for `round` (may block, e.g. until enough clients
  // are connected). Returning an empty list ends the run as interrupted
  // (e.g. on shutdown). The proxies stay alive while the caller holds them.
  virtual std::vector<std::shared_ptr<ClientProxy>> ClientsForRound(int64_t round) = 0;
};

// Builds the configured strategy and selector (or, with mode = async, the
// async strategy, told `fleet_size` clients) once, so a bad name or key
// fails before any data is loaded or port bound. Throws ConfigError naming
// it, and for a sync run of an asynchronous strategy.
void CheckAlgorithms(const ExperimentConfig& config, size_t fleet_size);
// Builds the clients' part of the configured algorithm once (objective and
// data-order keys) against `sample_data`, so a bad key fails before any
// training. Throws ConfigError naming the key.
void CheckClientAlgorithm(const ExperimentConfig& config, const datasets::Dataset& sample_data);
// Marks run `run_id` failed with `error`'s message. Never throws: a second
// failure (e.g. the disk is still full) must not hide the first, which the
// caller rethrows. On a log found damaged the write is refused (storage
// sets the connection query_only), so nothing is written into it.
void MarkRunFailed(storage::ExperimentLog& log, int64_t run_id, const std::exception& error);
// The run config.run_name names in `log`, checked for a resume in
// config.mode: nullopt when there is none; ConfigError when it is complete
// ("already complete ...; choose another run_name"), was started in the
// other mode (a sync run cannot continue asynchronously, nor the reverse),
// with another strategy or model, or with another value of a key that may
// not change (ResumeChanges).
std::optional<storage::RunInfo> RunToResume(storage::ExperimentLog& log,
                                            const ExperimentConfig& config);
// The config keys of `config` that differ from those `run` was started with
// and may change on resume (MayChangeOnResume), as "key: old -> new".
// Throws ConfigError naming every other changed key with both values, and
// how to start a new run instead; DataError if the recorded config cannot be
// read. RunToResume calls it, so a refused resume changes nothing.
std::vector<std::string> ResumeChanges(const storage::RunInfo& run, const ExperimentConfig& config);
// Takes the run's lease (storage/run_lease.h), before anything of the run is
// written, and holds it while the returned value lives. Throws ConfigError
// naming the process that runs it ("pid 1234 on host h") when another
// holds it. A run recorded as running whose lease was free lost its owner
// (killed, power loss): it gets an "owner_lost" event and is marked
// interrupted, so it is resumed as any interrupted run.
storage::RunLease ClaimRun(storage::ExperimentLog& log, const ExperimentConfig& config);
// What BeginRun records of a new run: its name, config text, strategy, mode,
// model, seed and planned rounds, from `config`.
storage::RunSpec RunSpecOf(const ExperimentConfig& config);
// After BeginRun or ResumeRun: records the lease's owner and, for a resumed
// run (`resumed`, as RunToResume returned it), the accepted config changes
// (new config text and planned rounds, one "config_changed" event each) and a
// "resumed" event.
void RecordRunStart(storage::ExperimentLog& log, int64_t run_id, const storage::RunLease& lease,
                    const std::optional<storage::RunInfo>& resumed, const ExperimentConfig& config);
// Whether the run has a "test" evaluation of `round` (a resumed run that
// crashed before its first commit already has the initial model's).
bool HasTestEvaluation(storage::ExperimentLog& log, int64_t run_id, int64_t round);
// Loss, accuracy and per-class accuracy of `parameters` on `test`, as the
// log's "test" evaluation of `round` (sync rounds and async versions alike).
storage::EvaluationRecord EvaluateOnTest(nn::Model& model, const Eigen::VectorXf& parameters,
                                         const datasets::Dataset& test, int64_t round);

// EvaluateOnTest, unless the strategy evaluates its global model itself
// (Strategy::EvaluateGlobal: DiPaCo's routed paths).
storage::EvaluationRecord EvaluateGlobalOnTest(algorithms::Strategy& strategy, nn::Model& model,
                                               const Eigen::VectorXf& global,
                                               const datasets::Dataset& test, int64_t round);

struct ExperimentResult {
  int64_t run_id = 0;
  int64_t first_round = 1;  // > 1 when the run was resumed
  int64_t last_round = 0;   // last round committed in this call
  double final_accuracy = 0.0;
  double best_accuracy = 0.0;
  double seconds = 0.0;
  bool interrupted = false;  // stopped before config.rounds
  // Set when the strategy's budget ended the run (Strategy::BudgetSpentAfter),
  // possibly before config.rounds: its text, also the "budget_spent" event.
  std::optional<std::string> budget_spent;
};

struct RunnerOptions {
  RoundOptions round;                       // cohort size, deadline, quorum, seed
  const std::atomic<bool>* stop = nullptr;  // checked between rounds
  std::FILE* progress = nullptr;  // round i/N, accuracy, ETA (engine/progress.h); may be null
  // Rewrite one progress line in place; unset: when `progress` is a
  // terminal. The daemon turns it off when its log lines (stderr) go to the
  // same terminal, where they would break the line.
  std::optional<bool> progress_in_place;
  // The training split, for a strategy that learns from it before round 1
  // (Strategy::WantsTrainingData: DiPaCo's router); may be null otherwise.
  const datasets::Dataset* training_data = nullptr;
  // Told each round after its commit (the daemon's metrics); may be empty.
  CommitObserver on_commit;
};

// Runs (or resumes) the experiment, for config.rounds rounds or until the
// strategy says its budget is spent (then that round is evaluated and the
// run completes early). A run whose name is in the log and did
// not complete is resumed after its last committed round; a completed one,
// or an async one, is a ConfigError (RunToResume). On an exception the run is marked failed (rounds
// committed before stay intact) and the exception propagates; on `stop`
// or an empty ClientsForRound it is marked interrupted.
ExperimentResult RunExperiment(const ExperimentConfig& config, const datasets::Dataset& test,
                               ClientSource& clients, const RunnerOptions& options);

}  // namespace edgefl::engine
