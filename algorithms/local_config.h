// The client part of an algorithm as the strategy config gives it: the
// keys local_objective, data_order (with its pacing keys) and the
// objective's own keys, read into the LocalAlgorithm every client receives.
// Shared by the synchronous and the asynchronous strategy registries.
#pragma once

#include <cstdint>
#include <string>

#include "train/fit.h"
#include "train/params.h"

namespace edgefl::algorithms {

// Reads the local algorithm's keys from `reader`. `fixed_objective` is the
// strategy's own objective ("ce": local_objective decides). With "tpsgd"
// the keys layer_loss ("l2" or "l1") and target_scale, and the projections'
// seed derived from `run_seed`, the same for every client. Throws ConfigError
// naming an unknown objective, order or value.
void ReadLocalAlgorithm(train::ParamReader& reader, const std::string& fixed_objective,
                        uint64_t run_seed, train::LocalAlgorithm* local);

}  // namespace edgefl::algorithms
