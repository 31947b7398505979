// The order in which the local trainer visits its samples.
//
// Training proceeds in passes; before each pass the trainer asks for the
// sample indices of that pass, then cuts them into minibatches. The default
// is a fresh shuffle of all samples per pass (an epoch). Curriculum ordering
// (easy samples first, a growing subset paced by the step count) implements
// this interface too.
#pragma once

#include <cstdint>
#include <vector>

#include "common/random.h"
#include "datasets/dataset.h"
#include "nn/model.h"

namespace edgefl::train {

class DataOrder {
 public:
  virtual ~DataOrder() = default;

  // Called once per round with the global model loaded, before any pass
  // (e.g. to score samples by their loss).
  virtual void BeginRound(nn::Model& /*model*/, const datasets::Dataset& /*data*/) {}

  // Fills *order with the indices (into the local dataset) of the next pass.
  // `steps_done` is the number of minibatch steps taken so far this round.
  // REQUIRES: the result is non-empty.
  virtual void NextPass(int64_t steps_done, size_t num_samples, Rng& rng,
                        std::vector<uint32_t>* order) = 0;
};

// A uniformly random permutation of all samples per pass.
class ShuffledOrder final : public DataOrder {
 public:
  void NextPass(int64_t steps_done, size_t num_samples, Rng& rng,
                std::vector<uint32_t>* order) override;
};

// All samples in their stored order, every pass (for tests and debugging).
class SequentialOrder final : public DataOrder {
 public:
  void NextPass(int64_t steps_done, size_t num_samples, Rng& rng,
                std::vector<uint32_t>* order) override;
};

}  // namespace edgefl::train
