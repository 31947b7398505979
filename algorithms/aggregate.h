// Aggregation rules: pure functions from the clients' parameter vectors (and
// their weights) to one vector, in the manner of Flower's
// strategy/aggregate.py. No state, no I/O; every input is a span so callers
// can pass Eigen vectors, wire buffers or test arrays alike.
//
// All rules read the inputs in blocks of coordinates and keep the running
// sums of a block in cache, so each input vector is read from memory exactly
// once and no per-client temporary is made. Sums are accumulated in double.
//
// Errors: an empty input, vectors of different sizes, or a negative /
// non-finite weight throw ConfigError naming the offending argument.
//
// Thread-safety: the functions share nothing; call them from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

namespace edgefl::algorithms {

using ParameterSpan = std::span<const float>;

// Σ_k p_k x_k with p_k = weights[k] / Σ_j weights[j] (FedAvg with weights =
// sample counts n_k; McMahan et al. 2017). Writes into `out`.
// REQUIRES: vectors and weights have the same length > 0; all vectors and
// `out` have the same size; weights >= 0 with a positive sum.
void WeightedMean(std::span<const ParameterSpan> vectors, std::span<const double> weights,
                  std::span<float> out);
Eigen::VectorXf WeightedMean(std::span<const ParameterSpan> vectors,
                             std::span<const double> weights);

// Σ_k c_k x_k with the coefficients as given (not normalised): a row of a
// gossip matrix (dsgd.h). The same kernel and order as WeightedMean, so
// coefficients equal to WeightedMean's p_k give the same bits.
// REQUIRES: as WeightedMean; coefficients finite (ConfigError otherwise).
void WeightedSum(std::span<const ParameterSpan> vectors, std::span<const double> coefficients,
                 std::span<float> out);

// Coordinate-wise median (unweighted; the mean of the two middle values for
// an even count), robust to fewer than half of the clients being arbitrary
// (Yin et al. 2018).
Eigen::VectorXf CoordinateMedian(std::span<const ParameterSpan> vectors);

// Coordinate-wise trimmed mean (unweighted): per coordinate, drops the
// ⌊trim_fraction·K⌋ smallest and as many largest values and averages the
// rest (Yin et al. 2018). REQUIRES: 0 <= trim_fraction < 0.5 and at least one
// value left (throws ConfigError naming trim_fraction otherwise).
Eigen::VectorXf TrimmedMean(std::span<const ParameterSpan> vectors, double trim_fraction);

// The bound a norm-clipping aggregate applies to every client's update.
struct NormClipOptions {
  // > 0: a fixed bound on ‖w_k − w‖₂. 0: adaptive, median_factor times the
  // median update norm of the round.
  double bound = 0.0;
  double median_factor = 1.0;  // > 0; used when bound == 0
};

struct NormClipOutcome {
  Eigen::VectorXf mean;      // w + Σ p_k c_k (w_k − w), c_k = min(1, bound/‖w_k − w‖)
  double bound = 0.0;        // the bound applied this round
  size_t num_clipped = 0;    // updates whose norm exceeded the bound
  double median_norm = 0.0;  // median of ‖w_k − w‖ before clipping
};

// Clips each client's update w_k − global to an L2 norm of at most the bound,
// then takes the weighted mean of the clipped models (norm-bounding defence,
// Sun et al. 2019, "Can you really backdoor federated learning?").
// One pass to measure the norms, one to average.
NormClipOutcome NormClippedMean(ParameterSpan global, std::span<const ParameterSpan> vectors,
                                std::span<const double> weights, const NormClipOptions& options);

// ‖vectors[k] − global‖₂ for every k (accumulated in double).
std::vector<double> UpdateNorms(ParameterSpan global, std::span<const ParameterSpan> vectors);

// The n × n matrix of ‖vectors[i] − vectors[j]‖₂², row-major (d[i·n + j]),
// each pair computed once, in double; the diagonal is 0. Used by the
// distance-based rules (Multi-Krum, nearest-neighbour mixing).
std::vector<double> PairwiseSquaredDistances(std::span<const ParameterSpan> vectors);

// Why the update `parameters` of `client` is unusable, or nullopt if it has
// `expected_size` values, all finite. E.g. "update from sim-3 contains NaN at
// index 17" or "update from sim-3 has 10 parameters, expected 12". Reports
// the first bad index only.
std::optional<std::string> CheckUpdate(std::string_view client, ParameterSpan parameters,
                                       size_t expected_size);

}  // namespace edgefl::algorithms
