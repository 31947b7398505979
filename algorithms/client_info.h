// What the server knows about a client when it selects a cohort.
#pragma once

#include <cstdint>
#include <limits>

#include "train/fit.h"

namespace edgefl::algorithms {

struct ClientInfo {
  train::ClientId id;
  size_t num_samples = 0;           // reported local dataset size
  double samples_per_second = 0.0;  // measured training speed (0 = unknown)
  int64_t rounds_participated = 0;  // completed updates so far
  int64_t last_round = -1;          // last round it completed (-1 = never)
  // Difficulty score of its data under the current global model (mean
  // per-sample loss), filled in only for selectors that ask for it.
  double score = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace edgefl::algorithms
