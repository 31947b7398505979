// `edgefl sim`: a federated experiment with in-process clients.
//
// Builds the dataset and its partition, one SimulatedClientProxy per client
// (training in parallel on a thread pool), the strategy and the selector
// named in the config, and runs the rounds through the same RoundEngine the
// TLS coordinator uses. The global model is evaluated on the test split
// every eval_every rounds (and after the last), one progress line is
// printed per round, and every round is committed to the SQLite experiment
// log with its client updates, evaluation and a checkpoint.
//
// With mode = async the run goes through RunAsyncExperiment (async_runner.h)
// on the simulated fleet the heterogeneity keys describe (heterogeneity.h).
//
// Deterministic: given the config (seed included), the results do not
// depend on the number of threads. A run whose name is already in the log
// and did not complete is resumed from its last committed round.
#pragma once

#include <cstdint>
#include <cstdio>

#include "coordinator/experiment_config.h"
#include "datasets/dataset.h"
#include "datasets/partition.h"

namespace edgefl::coordinator {

struct SimulationData {
  datasets::Dataset train;
  datasets::Dataset test;
  datasets::Partition partition;  // of `train` across config.clients clients
};

// Loads (or generates) the data and splits it. Throws ConfigError, DataError
// or IoError naming what is wrong.
SimulationData LoadSimulationData(const ExperimentConfig& config);

struct SimulationResult {
  int64_t run_id = 0;
  int64_t first_round = 1;  // > 1 when the run was resumed
  int64_t last_round = 0;
  double final_accuracy = 0.0;  // test accuracy after the last round
  double best_accuracy = 0.0;
  double seconds = 0.0;
  double virtual_seconds = 0.0;  // simulated clock at the end (mode async)
};

// Runs the experiment. `progress` (may be null) receives one line per round.
// Throws edgefl::Error subclasses for bad config, data or I/O; the log keeps
// every round committed before the error, and the run is marked failed.
SimulationResult RunSimulation(const ExperimentConfig& config, std::FILE* progress);

}  // namespace edgefl::coordinator
