// The asynchronous experiment loop of `mode = async`, shared by `edgefl sim`
// (sim/simulation.h drives the virtual-clock AsyncEngine over the simulated
// fleet) and edgefl-coordinator (a HostAsyncEngine over the connected
// clients): builds the async strategy the config names, opens the run in the
// SQLite experiment log (mode "async"), and takes one model version at a
// time from the loop it is given. `rounds` counts global model versions: each version is
// committed as one round row (round = model_version) with its virtual time,
// the updates folded into it (with their staleness) and the tasks lost
// since the previous version; the global model is evaluated on the test
// split every eval_every versions (and after the last).
//
// Resume: a run of the same run_name that did not complete continues after
// its last committed version, as a sync run does after its last round: the
// model and the strategy's state (momentum, buffer) from that version's
// checkpoint, the loop's clock from its virtual_time, task counts from the
// log (AsyncStart); the next committed version is the last one + 1, and the
// initial model is not evaluated again. Tasks that were in flight when the
// run stopped are lost (their clients train again from the resumed model),
// so a resumed simulation is NOT bit-identical to an uninterrupted one:
// updates in flight, versions made but not yet committed and the order of
// the next arrivals differ. A completed run, a run started in sync mode or
// with another strategy, and a checkpoint of another model are
// ConfigErrors; a missing checkpoint of the last version is a DataError
// (the run is left as it was). A loop that cannot go on before `rounds`
// versions (no client can deliver, a stop was requested) ends the run as
// interrupted, with the loop's reason.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "algorithms/async_strategy.h"
#include "datasets/dataset.h"
#include "engine/async_update.h"
#include "engine/client_proxy.h"
#include "engine/experiment_config.h"
#include "engine/experiment_runner.h"

namespace edgefl::engine {

// Result fields as for RunExperiment (rounds are versions);
// `virtual_seconds` is the loop's clock at the last version.
struct AsyncExperimentResult : ExperimentResult {
  double virtual_seconds = 0.0;
};

// Runs (or resumes) the experiment over the loop `make_loop` builds from
// the strategy (its state restored on resume), the model's size in bytes and
// where to start (version 0 and the initial model, or a resumed run's last
// version; called once the run is open in the log). `fleet_size` is the
// number of clients the strategy is told (the default buffer of async_dn).
// `progress` (may be null) receives one line per model version. `stop` (may
// be null) is checked before each version: once set, the run ends as
// interrupted (resumable). `on_commit` (may be empty) is told each version
// after its commit.
using AsyncLoopFactory = std::function<std::unique_ptr<AsyncUpdates>(
    algorithms::AsyncStrategy& strategy, int64_t model_bytes, AsyncStart start)>;
AsyncExperimentResult RunAsyncExperiment(const ExperimentConfig& config,
                                         const datasets::Dataset& test, size_t fleet_size,
                                         const AsyncLoopFactory& make_loop, std::FILE* progress,
                                         const std::atomic<bool>* stop = nullptr,
                                         const CommitObserver& on_commit = {});

}  // namespace edgefl::engine
