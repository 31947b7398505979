// FedBR's pseudo-data pool, as the authors' code builds it (LINs-lab/FedBR,
// fedbr/scripts/train_fed.py: get_augmentation_mean_data, lines 33-47,
// called ONCE before the training loop at lines 348-355 and handed to every
// client at every step, line 379): `size` pseudo-samples, each the pixel-wise
// mean of `images` samples drawn uniformly with replacement from ONE client
// that is itself drawn uniformly among all clients. So the pool is fixed for
// the whole run and identical on every client. The paper's protocol has the
// clients upload such means and the server broadcast the pool; here the
// server draws (DrawPseudoData), asks each client for the means of its own
// groups (PseudoDataRequests -> PseudoDataMeans on the client) and assembles
// the pool (AssemblePseudoDataPool). BuildPseudoDataPool does the same three
// steps in one process, so the simulator's pool and a TLS run's are equal
// bit for bit for the same clients (in the same order), data and seed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"
#include "train/fit.h"

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

// What each of the `num_clients` clients is asked for: the sample indices
// of the draws from it, grouped by pseudo-sample in pool order.
std::vector<train::PseudoDataRequest> PseudoDataRequests(std::span<const PseudoDataDraw> draws,
                                                         size_t num_clients, int images);

// On a client: the means of the request's groups over `data`, input_dim x
// groups (sum in request order, then / images). Never a raw sample: throws
// ConfigError if images < 2 or a group has fewer than 2 distinct samples,
// and for an index past the data or a count that is not a multiple of
// images.
Eigen::MatrixXf PseudoDataMeans(const datasets::Dataset& data,
                                const train::PseudoDataRequest& request);

// On the server: the pool, input_dim x (draws / images), from every
// client's answer `means[c]` to PseudoDataRequests(draws, means.size(),
// images)[c]. Throws DataError if an answer has the wrong shape or the
// answers differ in rows.
Eigen::MatrixXf AssemblePseudoDataPool(std::span<const PseudoDataDraw> draws, int images,
                                       std::span<const Eigen::MatrixXf> means);

// A fingerprint of the pool's values (FNV-1a over the floats' bytes, with
// the shape), for logs and tests that compare pools across processes.
uint64_t PseudoDataFingerprint(const Eigen::MatrixXf& pool);

// The pool, input_dim x size: column i is the mean of its draws' features.
// `clients` are every client's data in a fixed order (all the same
// feature count); the three steps above in one process. Throws as
// DrawPseudoData and PseudoDataMeans, and ConfigError if the clients'
// feature counts differ.
Eigen::MatrixXf BuildPseudoDataPool(std::span<const datasets::Dataset* const> clients, int size,
                                    int images, uint64_t seed);

}  // namespace edgefl::algorithms
