// Finite-difference gradient checking shared by the nn tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <doctest/doctest.h>

#include "common/random.h"
#include "nn/model.h"

namespace edgefl::nn::testing {

// Counts of a gradient check. A coordinate is skipped when central
// differences with steps h and h/2 disagree with each other: the function is
// not smooth there (a ReLU or max-pool kink), so no gradient can match.
struct GradCheckResult {
  int checked = 0;
  int skipped = 0;
  int failed = 0;
  std::string first_failure;
};

struct GradCheckOptions {
  float h = 1e-2f;                // central-difference step (h and h/2 are used)
  double rtol = 1e-2;             // relative tolerance, right for float32 forward passes
  double atol = -1.0;             // absolute slack; < 0: 2e-3 * max |analytic gradient|
  Eigen::Index max_checks = 400;  // coordinates checked (a seeded sample if more)
  uint64_t seed = 1;
};

inline bool Close(double a, double b, double rtol, double atol) {
  return std::abs(a - b) <= rtol * std::max(std::abs(a), std::abs(b)) + atol;
}

// Checks d loss / d *x against `analytic` by central differences.
inline void CheckCoordinate(const std::function<double()>& loss, float* x, double analytic,
                            const GradCheckOptions& options, double atol, const std::string& label,
                            GradCheckResult* result) {
  const float h = options.h;
  const float original = *x;
  auto central = [&](float step) {
    const float plus = original + step, minus = original - step;
    *x = plus;
    const double lp = loss();
    *x = minus;
    const double lm = loss();
    *x = original;
    return (lp - lm) / (static_cast<double>(plus) - static_cast<double>(minus));
  };
  const double n1 = central(h);
  const double n2 = central(h / 2);
  ++result->checked;
  if (!Close(n1, n2, options.rtol, atol)) {
    ++result->skipped;
    return;
  }
  if (!Close(analytic, n2, options.rtol, atol)) {
    if (result->failed++ == 0) {
      result->first_failure =
          label + ": analytic " + std::to_string(analytic) + " numeric " + std::to_string(n2);
    }
  }
}

// Checks up to options.max_checks coordinates of `values` (all if fewer; a
// deterministic random sample otherwise).
inline void CheckVector(const std::function<double()>& loss, float* values, Eigen::Index n,
                        const float* analytic, const std::string& label, GradCheckResult* result,
                        const GradCheckOptions& options = {}) {
  double atol = options.atol;
  if (atol < 0) {
    double scale = 0.0;
    for (Eigen::Index i = 0; i < n; ++i)
      scale = std::max(scale, std::abs(double{analytic[i]}));
    atol = 2e-3 * scale;
  }
  Rng rng(options.seed);
  const bool all = n <= options.max_checks;
  for (Eigen::Index k = 0; k < (all ? n : options.max_checks); ++k) {
    const Eigen::Index i =
        all ? k : static_cast<Eigen::Index>(rng.UniformInt(static_cast<uint64_t>(n)));
    CheckCoordinate(loss, values + i, analytic[i], options, atol,
                    label + "[" + std::to_string(i) + "]", result);
  }
}

// Directional check on values[0, n): for the normalised analytic gradient
// direction and `random_directions` random sign directions u, compares
// (L(x + h u) - L(x - h u)) / 2h with <analytic, u>. Aggregating over all
// coordinates of a slice keeps the signal far above float32 rounding noise,
// which matters for big layers with tiny per-coordinate gradients.
inline void CheckDirections(const std::function<double()>& loss, float* values, Eigen::Index n,
                            const float* analytic, const std::string& label,
                            GradCheckResult* result, const GradCheckOptions& options = {},
                            int random_directions = 3) {
  Eigen::Map<Eigen::VectorXf> x(values, n);
  const Eigen::Map<const Eigen::VectorXf> g(analytic, n);
  const Eigen::VectorXf original = x;
  Rng rng(options.seed);
  for (int d = 0; d <= random_directions; ++d) {
    Eigen::VectorXf u(n);
    if (d == 0 && g.norm() > 0) {
      u = g.normalized();
    } else {
      for (Eigen::Index i = 0; i < n; ++i)
        u[i] = rng.UniformInt(2) ? 1.0f : -1.0f;
      u.normalize();
    }
    auto central = [&](float step) {
      x = original + step * u;
      const double lp = loss();
      x = original - step * u;
      const double lm = loss();
      x = original;
      return (lp - lm) / (2.0 * step);
    };
    const double n1 = central(options.h), n2 = central(options.h / 2);
    const double expected = g.cast<double>().dot(u.cast<double>());
    const double atol = options.atol >= 0 ? options.atol : 2e-3 * g.norm();
    ++result->checked;
    if (!Close(n1, n2, options.rtol, atol)) {
      ++result->skipped;
    } else if (!Close(expected, n2, options.rtol, atol) && result->failed++ == 0) {
      result->first_failure = label + " direction " + std::to_string(d) + ": analytic " +
                              std::to_string(expected) + " numeric " + std::to_string(n2);
    }
  }
}

inline void RequirePassed(const GradCheckResult& r) {
  INFO("checked " << r.checked << ", skipped (kinks) " << r.skipped << ", failed " << r.failed
                  << " first: " << r.first_failure);
  CHECK(r.checked > 0);
  CHECK(r.failed == 0);
  CHECK(r.skipped * 10 <= r.checked);
}

// Uniform(-a, a) matrix from a seed.
inline Eigen::MatrixXf RandomMatrix(Eigen::Index rows, Eigen::Index cols, uint64_t seed,
                                    float a = 1.0f) {
  Rng rng(seed);
  Eigen::MatrixXf m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = static_cast<float>((2.0 * rng.Uniform() - 1.0) * a);
  }
  return m;
}

// Windows of T + 1 = steps + 1 random token ids in [0, vocab), one per
// column (batch columns), from a seed: a language model's input.
inline Eigen::MatrixXf RandomWindows(Eigen::Index steps, Eigen::Index batch, int vocab,
                                     uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXf w(steps + 1, batch);
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    w.data()[i] = static_cast<float>(rng.UniformInt(static_cast<uint64_t>(vocab)));
  }
  return w;
}

// Checks a language model's gradient of the mean next-token loss over all
// positions (Model::LossAndGradient) against central differences of
// Model::SequenceLoss on `windows`, for up to max_checks parameters.
inline void CheckSequenceLossGradient(Model& model, const Eigen::MatrixXf& windows,
                                      Eigen::Index max_checks) {
  // Ignored: the targets are in the windows.
  const std::vector<int32_t> labels(static_cast<size_t>(windows.cols()), 0);
  model.LossAndGradient(windows, labels);
  const Eigen::VectorXf grads = model.gradients();
  auto loss = [&]() { return model.SequenceLoss(windows, nullptr, nullptr); };
  GradCheckResult result;
  CheckVector(loss, model.parameters().data(), model.num_parameters(), grads.data(), "param",
              &result, {.max_checks = max_checks});
  RequirePassed(result);
}

}  // namespace edgefl::nn::testing
