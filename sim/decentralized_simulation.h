// `edgefl sim` with mode = "decentralized": D-SGD (algorithms/dsgd.h) with
// every node in-process. There is no global model: node i keeps x_i, trains
// it on its partition share (a SimulatedClientProxy on the thread pool) and
// mixes with its graph neighbours each round. A node the simulated fleet
// drops out of a round (dropout, availability; heterogeneity.h) neither
// trains nor mixes, and its neighbours re-weight (mixing_matrix.h).
//
// Virtual clock: a round lasts as long as its slowest live node's task,
// Fleet::TaskSeconds(samples, model bytes x live degree): the node's model
// goes to, and its neighbours' models come from, each live neighbour.
//
// What the experiment log gets per round (storage/experiment_log.h; one
// CommitRound each, with the average model x̄ as the checkpoint):
//   rounds          selected = nodes live at the start, completed = nodes
//                   that trained and mixed, dropped = the others,
//                   virtual_time, train_loss = mean loss after local steps
//   client_updates  one row per node: bytes_out / bytes_in = the model
//                   bytes it sent to / received from its live neighbours
//                   (bytes per node), losses, status accepted or dropped
//   evaluations     every eval_every rounds (and the last): split "test" =
//                   the average model x̄ on the test split, split
//                   "node_mean" = the mean over nodes of each x_i's test
//                   loss and accuracy; every round, split "consensus" with
//                   loss = (1/n) Σ ‖x_i − x̄‖² (accuracy NULL)
// Round 0 (the common initial model) is evaluated too.
//
// Deterministic: bit-identical for a seed whatever the number of threads.
// Not resumable: a run_name already in the log is a ConfigError (the n node
// models are not checkpointed, only x̄). Byzantine clients are refused.
#pragma once

#include <atomic>
#include <cstdio>

#include "engine/experiment_config.h"
#include "sim/simulation.h"

namespace edgefl::sim {

// REQUIRES: config.mode == "decentralized". Throws as RunSimulation.
SimulationResult RunDecentralizedSimulation(const engine::ExperimentConfig& config,
                                            std::FILE* progress, const std::atomic<bool>* stop);

}  // namespace edgefl::sim
