#include "algorithms/aggregate.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {
namespace {

using Eigen::Index;

// Coordinates per block: the double accumulators of a block (64 KB) stay in
// L2 while every client's slice of the block streams through once.
constexpr Index kMeanBlock = 8192;
// Clients added per sweep over the accumulators. One client per sweep costs
// a load and a store of 8 accumulator bytes per 4 update bytes read, which
// caps the mean at a third of the copy bandwidth; eight per sweep make the
// accumulator traffic small and keep eight read streams in flight.
constexpr size_t kMeanGroup = 8;
// Coordinates per block of the order statistics (median, trimmed mean):
// K x kSortBlock floats are gathered, then each coordinate's K values sorted.
constexpr Index kSortBlock = 256;

void CheckVectors(std::span<const ParameterSpan> vectors, const char* function) {
  if (vectors.empty()) {
    throw ConfigError(std::string(function) + ": no vectors to aggregate");
  }
  const size_t size = vectors[0].size();
  for (size_t k = 1; k < vectors.size(); ++k) {
    if (vectors[k].size() != size) {
      throw ConfigError(std::string(function) + ": vectors[" + std::to_string(k) + "] has " +
                        std::to_string(vectors[k].size()) + " values, vectors[0] has " +
                        std::to_string(size));
    }
  }
}

// p_k = weights[k] / Σ weights.
std::vector<double> Normalized(std::span<const double> weights, size_t count,
                               const char* function) {
  if (weights.size() != count) {
    throw ConfigError(std::string(function) + ": " + std::to_string(weights.size()) +
                      " weights for " + std::to_string(count) + " vectors");
  }
  double total = 0.0;
  for (size_t k = 0; k < weights.size(); ++k) {
    if (!std::isfinite(weights[k]) || weights[k] < 0.0) {
      throw ConfigError(std::string(function) + ": weights[" + std::to_string(k) +
                        "] must be finite and >= 0, got " + std::to_string(weights[k]));
    }
    total += weights[k];
  }
  if (!(total > 0.0)) {
    throw ConfigError(std::string(function) + ": the weights sum to 0");
  }
  std::vector<double> p(weights.size());
  for (size_t k = 0; k < weights.size(); ++k)
    p[k] = weights[k] / total;
  return p;
}

// acc[0, len) += Σ_{g<G} p[g] · x[g][start + i], one sweep over acc.
template <size_t G>
void AccumulateGroup(const ParameterSpan* vectors, const double* p, Index start, Index len,
                     double* acc) {
  const float* x[G];
  double w[G];
  for (size_t g = 0; g < G; ++g) {
    x[g] = vectors[g].data() + start;
    w[g] = p[g];
  }
  for (Index i = 0; i < len; ++i) {
    double a = acc[i];
    for (size_t g = 0; g < G; ++g)
      a += w[g] * static_cast<double>(x[g][i]);
    acc[i] = a;
  }
}

// out = Σ p_k vectors[k], p already normalised; the streaming kernel. Each
// vector is read once, `out` written once; sums in double.
void MeanKernel(std::span<const ParameterSpan> vectors, std::span<const double> p,
                std::span<float> out) {
  const Index size = static_cast<Index>(out.size());
  const size_t count = vectors.size();
  std::vector<double> buffer(static_cast<size_t>(std::min(kMeanBlock, size)));
  double* acc = buffer.data();
  for (Index start = 0; start < size; start += kMeanBlock) {
    const Index len = std::min(kMeanBlock, size - start);
    std::fill(acc, acc + len, 0.0);
    size_t k = 0;
    for (; k + kMeanGroup <= count; k += kMeanGroup) {
      AccumulateGroup<kMeanGroup>(&vectors[k], &p[k], start, len, acc);
    }
    for (; k + 4 <= count; k += 4)
      AccumulateGroup<4>(&vectors[k], &p[k], start, len, acc);
    for (; k + 2 <= count; k += 2)
      AccumulateGroup<2>(&vectors[k], &p[k], start, len, acc);
    for (; k < count; ++k)
      AccumulateGroup<1>(&vectors[k], &p[k], start, len, acc);
    Eigen::Map<Eigen::VectorXf>(out.data() + start, len) =
        Eigen::Map<const Eigen::VectorXd>(acc, len).cast<float>();
  }
}

// Applies `reduce(values, count)` -> double to each coordinate's K values.
template <typename Reduce>
Eigen::VectorXf CoordinateWise(std::span<const ParameterSpan> vectors, Reduce reduce) {
  const size_t count = vectors.size();
  const Index size = static_cast<Index>(vectors[0].size());
  Eigen::VectorXf out(size);
  std::vector<float> buffer(count * static_cast<size_t>(kSortBlock));
  for (Index start = 0; start < size; start += kSortBlock) {
    const Index len = std::min(kSortBlock, size - start);
    for (size_t k = 0; k < count; ++k) {
      const float* x = vectors[k].data() + start;
      for (Index i = 0; i < len; ++i)
        buffer[static_cast<size_t>(i) * count + k] = x[i];
    }
    for (Index i = 0; i < len; ++i) {
      out[start + i] = static_cast<float>(reduce(buffer.data() + static_cast<size_t>(i) * count));
    }
  }
  return out;
}

double MedianOf(std::vector<double> values) {
  const size_t n = values.size();
  std::sort(values.begin(), values.end());
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

void WeightedMean(std::span<const ParameterSpan> vectors, std::span<const double> weights,
                  std::span<float> out) {
  CheckVectors(vectors, "WeightedMean");
  if (out.size() != vectors[0].size()) {
    throw ConfigError("WeightedMean: out has " + std::to_string(out.size()) +
                      " values, the vectors have " + std::to_string(vectors[0].size()));
  }
  const std::vector<double> p = Normalized(weights, vectors.size(), "WeightedMean");
  MeanKernel(vectors, p, out);
}

void WeightedSum(std::span<const ParameterSpan> vectors, std::span<const double> coefficients,
                 std::span<float> out) {
  CheckVectors(vectors, "WeightedSum");
  if (out.size() != vectors[0].size() || coefficients.size() != vectors.size()) {
    throw ConfigError("WeightedSum: out has " + std::to_string(out.size()) + " values and " +
                      std::to_string(coefficients.size()) + " coefficients for " +
                      std::to_string(vectors.size()) + " vectors of " +
                      std::to_string(vectors[0].size()));
  }
  for (size_t k = 0; k < coefficients.size(); ++k) {
    if (!std::isfinite(coefficients[k])) {
      throw ConfigError("WeightedSum: coefficients[" + std::to_string(k) + "] is not finite");
    }
  }
  MeanKernel(vectors, coefficients, out);
}

Eigen::VectorXf WeightedMean(std::span<const ParameterSpan> vectors,
                             std::span<const double> weights) {
  CheckVectors(vectors, "WeightedMean");
  Eigen::VectorXf out(static_cast<Index>(vectors[0].size()));
  WeightedMean(vectors, weights, std::span<float>(out.data(), vectors[0].size()));
  return out;
}

Eigen::VectorXf CoordinateMedian(std::span<const ParameterSpan> vectors) {
  CheckVectors(vectors, "CoordinateMedian");
  const size_t count = vectors.size();
  return CoordinateWise(vectors, [count](float* values) {
    float* mid = values + count / 2;
    std::nth_element(values, mid, values + count);
    if (count % 2 == 1) return static_cast<double>(*mid);
    // The lower middle value is the largest of the left part.
    const float lower = *std::max_element(values, mid);
    return 0.5 * (static_cast<double>(lower) + static_cast<double>(*mid));
  });
}

Eigen::VectorXf TrimmedMean(std::span<const ParameterSpan> vectors, double trim_fraction) {
  CheckVectors(vectors, "TrimmedMean");
  if (!(trim_fraction >= 0.0 && trim_fraction < 0.5)) {
    throw ConfigError("TrimmedMean: trim_fraction must be in [0, 0.5), got " +
                      ShortNumber(trim_fraction));
  }
  const size_t count = vectors.size();
  const size_t cut = static_cast<size_t>(std::floor(trim_fraction * static_cast<double>(count)));
  if (2 * cut >= count) {
    throw ConfigError("TrimmedMean: trim_fraction " + ShortNumber(trim_fraction) + " trims all " +
                      std::to_string(count) + " values");
  }
  const double kept = static_cast<double>(count - 2 * cut);
  return CoordinateWise(vectors, [count, cut, kept](float* values) {
    std::sort(values, values + count);
    double sum = 0.0;
    for (size_t k = cut; k < count - cut; ++k)
      sum += values[k];
    return sum / kept;
  });
}

std::vector<double> UpdateNorms(ParameterSpan global, std::span<const ParameterSpan> vectors) {
  std::vector<double> norms(vectors.size());
  for (size_t k = 0; k < vectors.size(); ++k) {
    if (vectors[k].size() != global.size()) {
      throw ConfigError("UpdateNorms: vectors[" + std::to_string(k) + "] has " +
                        std::to_string(vectors[k].size()) + " values, global has " +
                        std::to_string(global.size()));
    }
    const float* x = vectors[k].data();
    const float* g = global.data();
    double sum = 0.0;
    for (size_t i = 0; i < global.size(); ++i) {
      const double d = static_cast<double>(x[i]) - static_cast<double>(g[i]);
      sum += d * d;
    }
    norms[k] = std::sqrt(sum);
  }
  return norms;
}

std::vector<double> PairwiseSquaredDistances(std::span<const ParameterSpan> vectors) {
  CheckVectors(vectors, "PairwiseSquaredDistances");
  const size_t n = vectors.size();
  const size_t size = vectors[0].size();
  std::vector<double> d2(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const float* a = vectors[i].data();
      const float* b = vectors[j].data();
      double sum = 0.0;
      for (size_t c = 0; c < size; ++c) {
        const double diff = static_cast<double>(a[c]) - static_cast<double>(b[c]);
        sum += diff * diff;
      }
      d2[i * n + j] = sum;
      d2[j * n + i] = sum;
    }
  }
  return d2;
}

NormClipOutcome NormClippedMean(ParameterSpan global, std::span<const ParameterSpan> vectors,
                                std::span<const double> weights, const NormClipOptions& options) {
  CheckVectors(vectors, "NormClippedMean");
  if (!(std::isfinite(options.bound) && options.bound >= 0.0)) {
    throw ConfigError("NormClippedMean: bound must be finite and >= 0, got " +
                      ShortNumber(options.bound));
  }
  if (options.bound == 0.0 &&
      !(std::isfinite(options.median_factor) && options.median_factor > 0.0)) {
    throw ConfigError("NormClippedMean: median_factor must be > 0, got " +
                      ShortNumber(options.median_factor));
  }
  const std::vector<double> p = Normalized(weights, vectors.size(), "NormClippedMean");
  const std::vector<double> norms = UpdateNorms(global, vectors);

  NormClipOutcome outcome;
  outcome.median_norm = MedianOf(norms);
  outcome.bound = options.bound > 0.0 ? options.bound : options.median_factor * outcome.median_norm;

  // Σ p_k (w + c_k (w_k − w)) = Σ p_k c_k w_k + (1 − Σ p_k c_k) w: one
  // weighted mean over the clients and the global model.
  std::vector<ParameterSpan> inputs(vectors.begin(), vectors.end());
  std::vector<double> q(vectors.size() + 1);
  double on_clients = 0.0;
  for (size_t k = 0; k < vectors.size(); ++k) {
    double c = 1.0;
    if (norms[k] > outcome.bound) {
      c = outcome.bound / norms[k];
      ++outcome.num_clipped;
    }
    q[k] = p[k] * c;
    on_clients += q[k];
  }
  inputs.push_back(global);
  q.back() = std::max(0.0, 1.0 - on_clients);
  outcome.mean.resize(static_cast<Index>(global.size()));
  MeanKernel(inputs, q, std::span<float>(outcome.mean.data(), global.size()));
  return outcome;
}

std::optional<std::string> CheckUpdate(std::string_view client, ParameterSpan parameters,
                                       size_t expected_size) {
  const std::string who = "update from " + std::string(client);
  if (parameters.size() != expected_size) {
    return who + " has " + std::to_string(parameters.size()) + " parameters, expected " +
           std::to_string(expected_size);
  }
  for (size_t i = 0; i < parameters.size(); ++i) {
    const float x = parameters[i];
    if (!std::isfinite(x)) {
      const char* what = std::isnan(x) ? "NaN" : (x > 0 ? "+Inf" : "-Inf");
      return who + " contains " + what + " at index " + std::to_string(i);
    }
  }
  return std::nullopt;
}

}  // namespace edgefl::algorithms
