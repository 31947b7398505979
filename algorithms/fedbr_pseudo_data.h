// FedBR's pseudo-data pool, as the authors' code builds it (LINs-lab/FedBR,
// fedbr/scripts/train_fed.py: get_augmentation_mean_data, lines 33-47,
// called ONCE before the training loop at lines 348-355 and handed to every
// client at every step, line 379): `size` pseudo-samples, each the pixel-wise
// mean of `images` samples drawn uniformly with replacement from ONE client
// that is itself drawn uniformly among all clients. So the pool is fixed for
// the whole run and identical on every client. (The paper's protocol has the
// clients upload such means and the server broadcast the pool; the code
// builds it centrally from every client's data, and so does the simulator.)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"

namespace edgefl::algorithms {

// One image of the pool: row `sample` of client `client`'s data.
struct PseudoDataDraw {
  size_t client = 0;
  size_t sample = 0;
};

// The draws, size x images of them in pool order (pseudo-sample i uses
// draws [i·images, (i+1)·images)), from Rng::Derive(seed, {"pool"}): per
// pseudo-sample one UniformInt(clients), then `images` UniformInt(size of
// that client). Deterministic. Throws ConfigError if size or images < 1,
// there are no clients or a client has no samples.
std::vector<PseudoDataDraw> DrawPseudoData(std::span<const size_t> client_sizes, int size,
                                           int images, uint64_t seed);

// The pool, input_dim x size: column i is the mean of its draws' features.
// `clients` are every client's data in a fixed order (all the same
// feature count). Throws as DrawPseudoData, and ConfigError if the clients'
// feature counts differ.
Eigen::MatrixXf BuildPseudoDataPool(std::span<const datasets::Dataset* const> clients, int size,
                                    int images, uint64_t seed);

}  // namespace edgefl::algorithms
