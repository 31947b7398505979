// An edge aggregator's round for one task of its upstream
// (docs/edge-aggregators.md): the task goes to every client of the group,
// each with the recipe seed (and step offset) it would get in a flat run,
// through the same RoundEngine as a root's round (deadline, rejection of
// non-finite or mis-sized updates, quorum); the accepted updates become the
// group's sample-weighted sum Σ n_i·w_i with its weight Σ n_i (accumulated
// in double), which the upstream turns back into the flat FedAvg. With
// GroupRoundOptions::secure the updates never leave the devices: SecAgg+
// (the flat coordinator's, through the same RoundEngine) unmasks only
// their weighted sum, and that is what goes up.
//
// Thread-safety: one call at a time per group; the clients are the
// registry's proxies.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <Eigen/Core>

#include "algorithms/secure_aggregation.h"
#include "engine/client_proxy.h"
#include "engine/round_engine.h"
#include "train/fit.h"
#include "wire/group_messages.h"
#include "wire/messages.h"

namespace edgefl::coordinator {

struct GroupRoundOptions {
  // Longest the group's round waits for its clients (zero: for all). Keep
  // it under the upstream's deadline, or the whole group is late.
  std::chrono::milliseconds deadline{0};
  // Fraction of the group that must report for a sum to go up, in (0, 1].
  double quorum = 1.0;
  // The upstream run's seed (Welcome's run_config "seed"): each device's
  // recipe seed is algorithms::ClientSeed(run_seed, round, device id), as in
  // a flat run of the same devices.
  uint64_t run_seed = 1;
  // Secure aggregation within the group (the aggregator's
  // secure_aggregation = true: the options its FedAvg strategy reads, as a
  // flat run's): the devices keep their updates, the round engine drives
  // SecAgg+ over them as a flat coordinator does, and the group's sum is
  // built from the unmasked sum alone — weight Σ min(n_i, W), the sum that
  // weight times the unmasked weighted mean. Unset: the plain sum.
  std::optional<algorithms::SecureAggregationOptions> secure;
};

struct GroupRound {
  engine::RoundReport report;  // the group's round as the engine saw it (per-device results)
  // What goes up when the quorum reported: the sum and the statistics
  // (TrainResult with no parameters: num_samples = weight, losses the
  // sample-weighted means, steps and samples summed, compute time the
  // longest). Unset when the group has nothing to send (report.outcome says
  // why).
  std::optional<wire::GroupSum> sum;
  wire::TrainResult result;
  Eigen::VectorXf mean;  // sum / weight (the aggregator's checkpoint); empty without a sum
};

// The instructions of `task` for a device, as a flat run's FedAvg gives
// them: the task's recipe with seed ClientSeed(run_seed, task.round, id)
// and, when the recipe counts epochs, the device's own step offset
// (round − 1)·epochs·⌈n/batch⌉ from its reported size n.
train::FitInstructions DeviceInstructions(const wire::TrainTask& task, uint64_t run_seed,
                                          const train::ClientId& id, size_t num_samples);

// Runs the task over `clients` (the group, in registry order) and builds
// the sum. Throws what the RoundEngine throws for bad options.
GroupRound RunGroupRound(const wire::TrainTask& task, std::span<engine::ClientProxy* const> clients,
                         const GroupRoundOptions& options);

}  // namespace edgefl::coordinator
