#include "algorithms/pgd_attack.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

TwoLayerRelu TwoLayerReluFrom(std::span<const float> parameters, Index features, Index hidden,
                              Index classes) {
  const Index expected = hidden * features + hidden + classes * hidden + classes;
  if (static_cast<Index>(parameters.size()) != expected) {
    throw ConfigError("pgd: mlp:" + std::to_string(features) + "-" + std::to_string(hidden) + "-" +
                      std::to_string(classes) + " has " + std::to_string(expected) +
                      " parameters, got " + std::to_string(parameters.size()));
  }
  const float* p = parameters.data();
  TwoLayerRelu net;
  net.w1 = Eigen::Map<const Eigen::MatrixXf>(p, hidden, features).cast<double>();
  p += hidden * features;
  net.b1 = Eigen::Map<const Eigen::VectorXf>(p, hidden).cast<double>();
  p += hidden;
  net.w2 = Eigen::Map<const Eigen::MatrixXf>(p, classes, hidden).cast<double>();
  p += classes * hidden;
  net.b2 = Eigen::Map<const Eigen::VectorXf>(p, classes).cast<double>();
  return net;
}

MatrixXd TwoLayerOutputs(const TwoLayerRelu& net, const MatrixXd& x) {
  MatrixXd h = net.w1 * x.transpose();
  h.colwise() += net.b1;
  const MatrixXd out = (net.w2 * h.cwiseMax(0.0)).colwise() + net.b2;
  return out.transpose();
}

namespace {

// max_{c≠y} f_c − f_y at `x` and the rival class.
double Margin(const VectorXd& f, int32_t y, Index* rival) {
  double best = -std::numeric_limits<double>::infinity();
  for (Index c = 0; c < f.size(); ++c) {
    if (c != y && f(c) > best) best = f(c), *rival = c;
  }
  return best - f(y);
}

VectorXd Forward(const TwoLayerRelu& net, const VectorXd& x, VectorXd* pre) {
  *pre = net.w1 * x + net.b1;
  return net.w2 * pre->cwiseMax(0.0) + net.b2;
}

}  // namespace

MatrixXd PgdAttack(const TwoLayerRelu& net, const MatrixXd& x, std::span<const int32_t> labels,
                   const PgdOptions& options) {
  const Index classes = net.w2.rows();
  if (!(options.epsilon >= 0.0) || !std::isfinite(options.epsilon)) {
    throw ConfigError("pgd: epsilon must be finite and >= 0, got " + ShortNumber(options.epsilon));
  }
  if (options.steps < 1) {
    throw ConfigError("pgd: steps must be >= 1, got " + std::to_string(options.steps));
  }
  if (!(options.step_size >= 0.0) || !(options.lower <= options.upper)) {
    throw ConfigError("pgd: step_size must be >= 0 and lower <= upper");
  }
  if (x.cols() != net.w1.cols() || static_cast<Index>(labels.size()) != x.rows() || classes < 2) {
    throw ConfigError("pgd: " + std::to_string(x.rows()) + " x " + std::to_string(x.cols()) +
                      " inputs, " + std::to_string(labels.size()) + " labels for a network with " +
                      std::to_string(net.w1.cols()) + " inputs and " + std::to_string(classes) +
                      " classes (needs >= 2)");
  }
  const double alpha =
      options.step_size > 0.0 ? options.step_size : 2.5 * options.epsilon / options.steps;
  MatrixXd out = x;
  VectorXd pre;
  for (Index r = 0; r < x.rows(); ++r) {
    const int32_t y = labels[static_cast<size_t>(r)];
    if (y < 0 || y >= classes) {
      throw ConfigError("pgd: label " + std::to_string(y) + " of row " + std::to_string(r) +
                        " is outside [0, " + std::to_string(classes) + ")");
    }
    const VectorXd x0 = x.row(r).transpose();
    const VectorXd low = (x0.array() - options.epsilon).max(options.lower).matrix();
    const VectorXd high = (x0.array() + options.epsilon).min(options.upper).matrix();
    VectorXd xa = x0.cwiseMax(low).cwiseMin(high);
    Index rival = 0;
    double best = Margin(Forward(net, xa, &pre), y, &rival);
    VectorXd best_x = xa;
    for (int step = 0; step < options.steps; ++step) {
      // ∇_x (f_rival − f_y) = W1ᵀ (1[pre > 0] ⊙ (W2_rival − W2_y)ᵀ).
      const VectorXd active = (pre.array() > 0.0).cast<double>();
      const VectorXd back = active.cwiseProduct((net.w2.row(rival) - net.w2.row(y)).transpose());
      const VectorXd grad = net.w1.transpose() * back;
      xa += alpha * grad.unaryExpr([](double g) { return g > 0.0 ? 1.0 : (g < 0.0 ? -1.0 : 0.0); });
      xa = xa.cwiseMax(low).cwiseMin(high);
      const double margin = Margin(Forward(net, xa, &pre), y, &rival);
      if (margin > best) best = margin, best_x = xa;
    }
    out.row(r) = best_x.transpose();
  }
  return out;
}

double Accuracy(const MatrixXd& outputs, std::span<const int32_t> labels) {
  if (outputs.rows() == 0) return 0.0;
  Index correct = 0;
  for (Index r = 0; r < outputs.rows(); ++r) {
    Index best = 0;
    outputs.row(r).maxCoeff(&best);
    if (best == labels[static_cast<size_t>(r)]) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(outputs.rows());
}

}  // namespace edgefl::algorithms
