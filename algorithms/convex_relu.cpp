#include "algorithms/convex_relu.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "algorithms/convex_relu_admm.h"
#include "algorithms/convex_relu_robust.h"
#include "common/error.h"
#include "nn/model_spec.h"

namespace edgefl::algorithms {

using Eigen::Index;
using Eigen::MatrixXd;

nn::ConvexReluLayout ConvexReluLayoutOf(const std::string& model_spec, bool need_duals) {
  const nn::ModelSpec spec = nn::ParseModelSpec(model_spec);
  if (spec.kind != nn::ModelKind::kConvexRelu && spec.kind != nn::ModelKind::kGatedRelu) {
    throw ConfigError(
        "convex_relu: the model must be convex_relu:D-P-C-K or gated_relu:D-P-C-K, "
        "got \"" +
        model_spec + "\"");
  }
  nn::ConvexReluLayout layout;
  layout.features = spec.widths[0];
  layout.patterns = spec.widths[1];
  layout.classes = spec.widths[2];
  layout.duals = spec.widths[3];
  layout.gated = spec.kind == nn::ModelKind::kGatedRelu;
  if (need_duals && layout.duals < 1) {
    throw ConfigError("convex_relu: the model \"" + model_spec +
                      "\" has no client dual blocks; append the number of clients K, e.g. " +
                      model_spec + "-10");
  }
  return layout;
}

ConvexRelu::ConvexRelu(std::string model_spec, ConvexReluOptions options)
    : model_spec_(std::move(model_spec)),
      options_(options),
      layout_(ConvexReluLayoutOf(model_spec_, /*need_duals=*/true)) {
  ConvexAdmmOptions check;
  check.beta = options_.beta;
  check.rho = options_.rho;
  ValidateConvexAdmmOptions(check);
  if (options_.inner_iters < 1) {
    throw ConfigError("convex_relu: inner_iters must be >= 1, got " +
                      std::to_string(options_.inner_iters));
  }
  ValidateAdversarialEpsilon(options_.adversarial_eps);
  if (options_.adversarial_eps > 0.0 && layout_.gated) {
    throw ConfigError(
        "convex_relu: convex_adversarial_eps > 0 needs the model convex_relu:D-P-C-K, not "
        "gated_relu (the gated model's gates can flip under a perturbation, so it has no robust "
        "counterpart here); got \"" +
        model_spec_ + "\"");
  }
}

namespace {

// Cohort indices ordered by client id: entry r is the index of slot r.
std::vector<size_t> SlotOrder(size_t count, const auto& id_of) {
  std::vector<size_t> order(count);
  for (size_t i = 0; i < count; ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return id_of(a) < id_of(b); });
  return order;
}

}  // namespace

std::vector<train::FitInstructions> ConvexRelu::ConfigureFit(int64_t round,
                                                             std::span<const ClientInfo> cohort) {
  std::vector<train::FitInstructions> out(cohort.size());
  const std::vector<size_t> order =
      SlotOrder(cohort.size(), [&](size_t i) -> const std::string& { return cohort[i].id; });
  for (size_t slot = 0; slot < order.size(); ++slot) {
    train::FitInstructions& instructions = out[order[slot]];
    instructions.model_version = round;
    instructions.local.objective = "convex_admm";
    instructions.local.params["slot"] = static_cast<double>(slot);
    instructions.local.params["rho"] = options_.rho;
    instructions.local.params["inner_iters"] = options_.inner_iters;
    if (options_.adversarial_eps > 0.0) {
      instructions.local.params["eps"] = options_.adversarial_eps;
    }
  }
  return out;
}

AggregateOutcome ConvexRelu::AggregateFit(int64_t /*round*/, const Eigen::VectorXf& global,
                                          std::span<const train::FitResult> results,
                                          std::span<const train::FitFailure> /*failures*/) {
  AggregateOutcome outcome;
  const Index k = layout_.duals;
  outcome.metrics["num_results"] = static_cast<double>(results.size());
  if (global.size() != layout_.num_parameters()) {
    throw ConfigError("convex_relu: the global model has " + std::to_string(global.size()) +
                      " parameters, " + model_spec_ + " needs " +
                      std::to_string(layout_.num_parameters()));
  }
  if (static_cast<Index>(results.size()) != k) {
    outcome.metrics["complete"] = 0.0;
    return outcome;  // consensus needs every client's U_k: keep the model
  }
  const std::span<const float> g(global.data(), static_cast<size_t>(global.size()));
  const std::vector<size_t> order =
      SlotOrder(results.size(), [&](size_t i) -> const std::string& { return results[i].client; });
  const MatrixXd z_prev = BlockOf(layout_, g, layout_.z_offset());
  std::vector<MatrixXd> u(static_cast<size_t>(k));
  std::vector<MatrixXd> lambda(static_cast<size_t>(k));
  MatrixXd mean = MatrixXd::Zero(z_prev.rows(), z_prev.cols());
  for (Index slot = 0; slot < k; ++slot) {
    const Eigen::VectorXf& p = results[order[static_cast<size_t>(slot)]].train.parameters;
    u[slot] = BlockOf(layout_, std::span<const float>(p.data(), static_cast<size_t>(p.size())),
                      layout_.z_offset());
    lambda[slot] = BlockOf(layout_, g, layout_.dual_offset(slot));
    mean += u[slot] + lambda[slot];
  }
  mean /= static_cast<double>(k);
  const MatrixXd z = GroupShrink(mean, layout_.augmented(),
                                 options_.beta / (static_cast<double>(k) * options_.rho));
  Eigen::VectorXf next = global;
  StoreBlock(z, layout_.z_offset(), &next);
  double primal = 0.0;
  for (Index slot = 0; slot < k; ++slot) {
    primal += (u[slot] - z).squaredNorm();
    StoreBlock(lambda[slot] + u[slot] - z, layout_.dual_offset(slot), &next);
  }
  Index active = 0;
  for (Index c = 0; c < z.cols(); ++c) {
    for (Index j = 0; j < z.rows() / layout_.augmented(); ++j) {
      if (z.col(c).segment(j * layout_.augmented(), layout_.augmented()).norm() > 0.0) ++active;
    }
  }
  outcome.metrics["complete"] = 1.0;
  outcome.metrics["primal_residual"] = std::sqrt(primal);
  outcome.metrics["dual_residual"] =
      options_.rho * std::sqrt(static_cast<double>(k)) * (z - z_prev).norm();
  outcome.metrics["active_neurons"] = static_cast<double>(active);
  outcome.parameters = std::move(next);
  return outcome;
}

}  // namespace edgefl::algorithms
