// `mpirun -n R edgefl sim --config X`: one experiment over R MPI ranks.
//
// Every rank reads the config and builds the same fleet (data, partition,
// simulated clients, in the same order). Rank 0 runs the experiment as
// `edgefl sim` does — the round engine, the strategy, evaluation and the
// SQLite log, which only rank 0 opens — and client k trains on rank
// k mod R: rank 0 keeps its share in-process, the others are
// RemoteClientProxy's whose tasks the RankDispatcher sends to the client
// ranks' HostClients loop. Each rank trains its share of a cohort on its own
// thread pool (`threads` threads per rank).
//
// Bit-identical to the single-process run of the same config: every client
// trains on the rank that holds it from the same parameters and seeded
// instructions, its result comes back bit for bit (task_codec.h), and rank 0
// aggregates the individual results in cohort order with the unchanged
// engine and strategy, so not even the order of a floating-point sum
// changes. (A reduction of weighted sums across ranks would move less data
// but sum in another order; it is not used.)
//
// A rank that dies ends the run without committing the round in progress
// (rank_dispatcher.h); the same command resumes it from the log.
//
// Sync and async modes; mode = "decentralized" is refused (its nodes do not
// go through client proxies), and so is population = "lazy" (its clients
// are drawn per round, not built once; sim::RunSimulation refuses it).
#pragma once

#include <atomic>
#include <cstdio>
#include <optional>

#include "engine/experiment_config.h"
#include "sim/simulation.h"

namespace edgefl::mpi {

// Whether this build can run over MPI (EDGEFL_MPI=ON).
bool Available();

// Runs `config` as one rank of the MPI job this process belongs to
// (MPI_Init here; call after tools::StopSignals). Returns the result on rank
// 0, nullopt on the client ranks. Throws as sim::RunSimulation; ConfigError
// for mode = "decentralized" or in a build without MPI.
std::optional<sim::SimulationResult> RunMpiSimulation(const engine::ExperimentConfig& config,
                                                      std::FILE* progress,
                                                      const std::atomic<bool>* stop);

}  // namespace edgefl::mpi
