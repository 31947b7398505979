#include "algorithms/deltasgd_objective.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {
namespace {

// ‖u − v‖ accumulated in double.
double DistanceNorm(const Eigen::VectorXf& u, const Eigen::VectorXf& v) {
  double sum = 0.0;
  for (Eigen::Index i = 0; i < u.size(); ++i) {
    const double diff = static_cast<double>(u[i]) - static_cast<double>(v[i]);
    sum += diff * diff;
  }
  return std::sqrt(sum);
}

}  // namespace

double DeltaSgdNextStepSize(const DeltaSgdOptions& options, double eta, double theta, double a,
                            double d) {
  const double grown = std::sqrt(1.0 + options.delta * theta) * eta;
  if (a > 0.0 && d > 0.0) return std::min(grown, options.gamma * a / (2.0 * d)) + options.epsilon;
  return grown;
}

DeltaSgdObjective::DeltaSgdObjective(const DeltaSgdOptions& options) : options_(options) {
  RequireOption("deltasgd", std::isfinite(options.eta0) && options.eta0 > 0.0, "eta0", "> 0",
                options.eta0);
  RequireOption("deltasgd", std::isfinite(options.theta0) && options.theta0 >= 0.0, "theta0",
                ">= 0", options.theta0);
  RequireOption("deltasgd", std::isfinite(options.gamma) && options.gamma > 0.0, "gamma", "> 0",
                options.gamma);
  RequireOption("deltasgd", std::isfinite(options.delta) && options.delta >= 0.0, "delta", ">= 0",
                options.delta);
  RequireOption("deltasgd", std::isfinite(options.epsilon) && options.epsilon >= 0.0, "epsilon",
                ">= 0", options.epsilon);
}

void DeltaSgdObjective::BeginRound(const nn::Model& model, Rng& /*rng*/) {
  eta_ = options_.eta0;
  theta_ = options_.theta0;
  a_ = 0.0;
  d_ = 0.0;
  steps_ = 0;
  x_prev_ = model.parameters();
}

void DeltaSgdObjective::BeforeStep(nn::Model& model, const train::Batch& batch,
                                   nn::Optimizer& optimizer) {
  if (x_prev_.size() != model.num_parameters()) {
    throw Error("deltasgd: BeforeStep without BeginRound");
  }
  a_ = DistanceNorm(model.parameters(), x_prev_);
  d_ = 0.0;
  if (a_ > 0.0) {
    // Swap x_prev and g into the model (O(1)), take g_prev there, swap back:
    // parameters() and gradients() are restored bit for bit.
    model.parameters().swap(x_prev_);
    g_.resize(model.num_parameters());
    model.gradients().swap(g_);
    model.LossAndGradient(batch.x, batch.labels);
    d_ = DistanceNorm(g_, model.gradients());
    model.gradients().swap(g_);
    model.parameters().swap(x_prev_);
  }
  const double eta_new = DeltaSgdNextStepSize(options_, eta_, theta_, a_, d_);
  theta_ = eta_new / eta_;
  eta_ = eta_new;
  x_prev_ = model.parameters();  // same size: no allocation
  ++steps_;
  optimizer.set_learning_rate(static_cast<float>(eta_));
}

}  // namespace edgefl::algorithms
