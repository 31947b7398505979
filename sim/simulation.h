// `edgefl sim`: a federated experiment with in-process clients.
//
// Loads the dataset and its partition (engine/experiment_data.h), builds one
// SimulatedClientProxy per client
// (training in parallel on a thread pool), the strategy and the selector
// named in the config, and runs the rounds through the same RoundEngine the
// TLS coordinator uses. The global model is evaluated on the test split
// every eval_every rounds (and after the last), one progress line is
// printed per round, and every round is committed to the SQLite experiment
// log with its client updates, evaluation and a checkpoint.
//
// With mode = async the run goes through RunAsyncExperiment
// (engine/async_runner.h) with the virtual-clock AsyncEngine (async_engine.h)
// on the simulated fleet the heterogeneity keys describe (heterogeneity.h).
// Sync rounds run on the same fleet's virtual clock (stragglers past the
// deadline and clients off-line are cut).
//
// Deterministic: given the config (seed included), the results do not
// depend on the number of threads. A run whose name is already in the log
// and did not complete is resumed from its last committed round.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/client_proxy.h"
#include "engine/experiment_config.h"

namespace edgefl::sim {

struct SimulationResult {
  int64_t run_id = 0;
  int64_t first_round = 1;  // > 1 when the run was resumed
  int64_t last_round = 0;
  double final_accuracy = 0.0;  // test accuracy after the last round
  double best_accuracy = 0.0;
  double seconds = 0.0;
  double virtual_seconds = 0.0;  // simulated clock at the end (mode async)
  bool interrupted = false;      // stopped before config.rounds
  // The strategy's budget ended the run (engine::ExperimentResult::budget_spent).
  std::optional<std::string> budget_spent;
};

// Runs the experiment. `progress` (may be null) receives one line per round.
// Throws edgefl::Error subclasses for bad config, data or I/O; the log keeps
// every round committed before the error, and the run is marked failed.
// `stop` (may be null) is checked before each round (model version): once
// set, the run ends as interrupted after the round in progress, and a later
// run of the same config resumes it.
SimulationResult RunSimulation(const engine::ExperimentConfig& config, std::FILE* progress,
                               const std::atomic<bool>* stop = nullptr);

// Where the clients train, for a simulation spread over processes (the MPI
// ranks, mpi/mpi_simulation.h): called once, after every client's
// in-process proxy is built (in fleet order, the same in every process) and
// before the first round. It may replace proxies by ones that train
// elsewhere (keeping the replaced one alive: the fleet's data points into
// it), and returns whether this process runs the experiment; false: it only
// hosted clients, and RunSimulation returns a default SimulationResult
// without opening the log. Not called with mode = "decentralized".
using ClientPlacement =
    std::function<bool(std::vector<std::shared_ptr<engine::ClientProxy>>& proxies)>;
SimulationResult RunSimulation(const engine::ExperimentConfig& config, std::FILE* progress,
                               const std::atomic<bool>* stop, const ClientPlacement& placement);

}  // namespace edgefl::sim
