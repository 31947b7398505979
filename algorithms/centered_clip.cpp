#include "algorithms/centered_clip.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

CenteredClipOutcome CenteredClip(std::span<const ParameterSpan> vectors, ParameterSpan start,
                                 const CenteredClipOptions& options) {
  if (vectors.empty()) throw ConfigError("CenteredClip: no vectors to aggregate");
  if (!(options.tau > 0.0)) {
    throw ConfigError("CenteredClip: tau must be > 0, got " + ShortNumber(options.tau));
  }
  if (options.iterations < 1) {
    throw ConfigError("CenteredClip: iterations must be >= 1, got " +
                      std::to_string(options.iterations));
  }
  const size_t size = start.size();
  for (size_t k = 0; k < vectors.size(); ++k) {
    if (vectors[k].size() != size) {
      throw ConfigError("CenteredClip: vectors[" + std::to_string(k) + "] has " +
                        std::to_string(vectors[k].size()) + " values, the center has " +
                        std::to_string(size));
    }
  }
  const double n = static_cast<double>(vectors.size());
  std::vector<double> v(start.begin(), start.end());
  std::vector<double> step(size);
  std::vector<double> scale(vectors.size());
  CenteredClipOutcome outcome;
  for (int iteration = 0; iteration < options.iterations; ++iteration) {
    outcome.num_clipped = 0;
    for (size_t k = 0; k < vectors.size(); ++k) {
      const float* x = vectors[k].data();
      double sum = 0.0;
      for (size_t i = 0; i < size; ++i) {
        const double d = static_cast<double>(x[i]) - v[i];
        sum += d * d;
      }
      const double norm = std::sqrt(sum);
      if (!std::isfinite(norm)) {
        throw ConfigError("CenteredClip: vectors[" + std::to_string(k) +
                          "] is not finite (NaN, Inf or overflow)");
      }
      scale[k] = 1.0;
      if (norm > options.tau) {
        scale[k] = options.tau / norm;
        ++outcome.num_clipped;
      }
    }
    std::fill(step.begin(), step.end(), 0.0);
    for (size_t k = 0; k < vectors.size(); ++k) {
      const float* x = vectors[k].data();
      const double c = scale[k] / n;
      for (size_t i = 0; i < size; ++i)
        step[i] += c * (static_cast<double>(x[i]) - v[i]);
    }
    for (size_t i = 0; i < size; ++i)
      v[i] += step[i];
  }
  outcome.center.resize(static_cast<Eigen::Index>(size));
  for (size_t i = 0; i < size; ++i)
    outcome.center[static_cast<Eigen::Index>(i)] = static_cast<float>(v[i]);
  return outcome;
}

}  // namespace edgefl::algorithms
