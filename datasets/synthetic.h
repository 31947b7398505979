// The synthetic(alpha, beta) federated benchmark of FedProx (Li et al. 2020)
// and LEAF: multinomial logistic regression data where alpha controls how
// much the clients' models differ and beta how much their inputs differ.
//
// For client k: u_k ~ N(0, alpha), B_k ~ N(0, beta); W_k ~ N(u_k, 1)
// (classes x dim), b_k ~ N(u_k, 1); v_k ~ N(B_k, 1) (dim); x ~ N(v_k, Sigma)
// with Sigma diagonal, Sigma_jj = j^-1.2 for j = 1..dim; y = argmax(W_k x + b_k).
// Client k has n_k = floor(LogNormal(4, 2)) + 50 samples (power law), capped
// at max_samples_per_client; the first floor(train_fraction * n_k) (at least
// 1, at most n_k - 1) go to train, the rest to test. All of client k's draws
// come from Rng::Derive(seed, {stream, k}), so client k's data depends only
// on the options and k, not on num_clients.
//
// Note (as in FedProx's generator): u_k shifts every class score by the
// same amount, u_k * (1 + sum(x)), so alpha does not change the labels;
// label heterogeneity across clients comes from beta (and from the per-client
// W_k, v_k, which make even synthetic(0, 0) strongly non-IID).
#pragma once

#include <cstdint>

#include "datasets/dataset.h"
#include "datasets/partition.h"

namespace edgefl::datasets {

struct SyntheticOptions {
  double alpha = 1.0;                    // >= 0
  double beta = 1.0;                     // >= 0
  size_t num_clients = 30;               // > 0
  size_t dim = 60;                       // > 0
  int num_classes = 10;                  // >= 2
  size_t max_samples_per_client = 5000;  // > 50
  double train_fraction = 0.8;           // per client, in (0, 1)
  uint64_t seed = 1;
};

// The generated data with its natural per-client split: train.clients[k]
// and test.clients[k] index client k's samples in `train` and `test`.
struct SyntheticFederated {
  Dataset train;
  Dataset test;
  Partition train_partition;
  Partition test_partition;
};

// Throws ConfigError naming the parameter when options are out of range.
SyntheticFederated GenerateSynthetic(const SyntheticOptions& options);

// Client k's data alone, for a lazily drawn population: the same rows
// GenerateSynthetic gives client k (train: its train_partition rows, test:
// its test_partition rows), made without generating any other client.
// options.num_clients is not used (any k is valid). Throws as
// GenerateSynthetic.
struct SyntheticClient {
  Dataset train;
  Dataset test;
};
SyntheticClient GenerateSyntheticClient(const SyntheticOptions& options, uint64_t k);

}  // namespace edgefl::datasets
