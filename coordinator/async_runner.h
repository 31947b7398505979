// The asynchronous experiment loop of `edgefl sim` with `mode = async`:
// builds the async strategy the config names, opens the run in the SQLite
// experiment log (mode "async"), and drives an AsyncEngine over the
// simulated fleet. `rounds` counts global model versions: each version is
// committed as one round row (round = model_version) with its virtual time,
// the updates folded into it (with their staleness) and the tasks lost
// since the previous version; the global model is evaluated on the test
// split every eval_every versions (and after the last).
//
// Async runs are not resumable yet: a run name already in the log is a
// ConfigError. A loop that cannot go on before `rounds` versions (no client
// can deliver, a stop was requested) ends the run as interrupted, with the
// loop's reason.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "algorithms/async_strategy.h"
#include "coordinator/async_update.h"
#include "coordinator/client_proxy.h"
#include "coordinator/experiment_config.h"
#include "coordinator/experiment_runner.h"
#include "coordinator/heterogeneity.h"
#include "datasets/dataset.h"

namespace edgefl::coordinator {

// The fleet model the config's heterogeneity keys describe.
HeterogeneityOptions HeterogeneityFrom(const ExperimentConfig& config);

// Runs the experiment; `clients[k]` is fleet client k. `progress` (may be
// null) receives one line per model version. Result fields as for
// RunExperiment (rounds are versions); `virtual_seconds` is the clock at the
// last version.
struct AsyncExperimentResult : ExperimentResult {
  double virtual_seconds = 0.0;
};
AsyncExperimentResult RunAsyncExperiment(const ExperimentConfig& config,
                                         const datasets::Dataset& test,
                                         const std::vector<std::shared_ptr<ClientProxy>>& clients,
                                         Fleet& fleet, std::FILE* progress);

// The same run over any loop: `make_loop` builds it from the strategy, the
// model's size in bytes and the initial model (once the run is open in the
// log). `fleet_size` is the number of clients the strategy is told (the
// default buffer of async_dn). Used by edgefl-coordinator with a
// HostAsyncEngine.
using AsyncLoopFactory = std::function<std::unique_ptr<AsyncUpdates>(
    algorithms::AsyncStrategy& strategy, int64_t model_bytes, Eigen::VectorXf initial)>;
AsyncExperimentResult RunAsyncExperiment(const ExperimentConfig& config,
                                         const datasets::Dataset& test, size_t fleet_size,
                                         const AsyncLoopFactory& make_loop, std::FILE* progress);

}  // namespace edgefl::coordinator
