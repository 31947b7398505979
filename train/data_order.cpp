#include "train/data_order.h"

#include <numeric>

namespace edgefl::train {

void ShuffledOrder::NextPass(int64_t /*steps_done*/, size_t num_samples, Rng& rng,
                             std::vector<uint32_t>* order) {
  order->resize(num_samples);
  std::iota(order->begin(), order->end(), 0u);
  rng.Shuffle(*order);
}

void SequentialOrder::NextPass(int64_t /*steps_done*/, size_t num_samples, Rng& /*rng*/,
                               std::vector<uint32_t>* order) {
  order->resize(num_samples);
  std::iota(order->begin(), order->end(), 0u);
}

}  // namespace edgefl::train
