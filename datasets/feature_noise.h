// Feature-distribution skew: the noise a client adds to its own share under
// PartitionScheme::kFeatureNoise (Partition::noise_std[client_id]).
#pragma once

#include <cstdint>

#include "datasets/dataset.h"

namespace edgefl::datasets {

// Adds independent N(0, noise_std^2) noise to every feature of `data`, in
// place; labels are untouched and values are not clipped. The noise depends
// only on seed, client_id and the shape of `data`, so a client that reloads
// its share gets the same noisy features; pass the partition's seed.
// noise_std == 0 leaves `data` unchanged. Throws ConfigError if noise_std is
// negative or not finite.
void AddFeatureNoise(Dataset& data, float noise_std, uint64_t seed, size_t client_id);

}  // namespace edgefl::datasets
