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
// ConfigError.
#pragma once

#include <cstdio>
#include <memory>
#include <vector>

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

}  // namespace edgefl::coordinator
