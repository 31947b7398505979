// Bucketing (Karimireddy, He, Jaggi, "Byzantine-Robust Learning on
// Heterogeneous Datasets via Bucketing", ICLR 2022, Algorithm 1): shuffle the
// n inputs with a random permutation, cut them into ⌈n/s⌉ buckets of s
// consecutive inputs (the last one may be smaller), and replace each bucket
// by the plain mean of its members. A robust rule applied to the bucket
// means sees inputs whose heterogeneity is reduced by about s while at most
// s·f of them are touched by f attackers.
//
// The bucket mean divides by the bucket's own size, as the authors' code
// (utils.py, bucketing_wrapper: sum / len(indices_slice)) does.
//
// Errors: no vectors, vectors of different sizes or bucket_size 0 throw
// ConfigError naming the argument. Non-finite values pass through into the
// bucket means (the round engine rejects such updates before aggregation).
//
// Thread-safety: no shared state; `rng` is the caller's.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "algorithms/aggregate.h"
#include "common/random.h"

namespace edgefl::algorithms {

// The order in which the inputs are bucketed: a uniform permutation of
// [0, count) drawn from `rng` (Fisher-Yates). Bucket b holds
// order[b·s .. min(count, (b+1)·s)).
std::vector<size_t> BucketOrder(size_t count, Rng& rng);

// The ⌈n/s⌉ bucket means of `vectors` under BucketOrder(n, rng).
// bucket_size 1 returns the inputs (in the permuted order); bucket_size >= n
// returns their mean. Sums in double.
std::vector<Eigen::VectorXf> BucketMeans(std::span<const ParameterSpan> vectors, size_t bucket_size,
                                         Rng& rng);

}  // namespace edgefl::algorithms
