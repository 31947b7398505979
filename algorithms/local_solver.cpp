#include "algorithms/local_solver.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "algorithms/convex_relu.h"
#include "algorithms/convex_relu_admm.h"
#include "algorithms/convex_relu_robust.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kConvexAdmm = "convex_admm";

struct ConvexAdmmParams {
  int64_t slot = 0;
  double rho = 1.0;
  int inner_iters = 5;
  double eps = 0.0;  // > 0: the robust program (convex_relu_robust.h)
};

ConvexAdmmParams ReadParams(const train::LocalAlgorithm& local) {
  ConvexAdmmParams out;
  for (const auto& [key, value] : local.params) {
    if (!std::isfinite(value)) {
      throw ConfigError(std::string(kConvexAdmm) + ": " + key + " must be finite");
    }
    if (key == "slot") {
      if (value < 0 || value != std::floor(value) || value > 1e6) {
        throw ConfigError(std::string(kConvexAdmm) + ": slot must be an integer in [0, 1e6], got " +
                          std::to_string(value));
      }
      out.slot = static_cast<int64_t>(value);
    } else if (key == "rho") {
      if (!(value > 0.0) || value > 1e12) {
        throw ConfigError(std::string(kConvexAdmm) + ": rho must be in (0, 1e12], got " +
                          std::to_string(value));
      }
      out.rho = value;
    } else if (key == "inner_iters") {
      if (value < 1 || value > 100000 || value != std::floor(value)) {
        throw ConfigError(std::string(kConvexAdmm) +
                          ": inner_iters must be an integer in [1, 100000], got " +
                          std::to_string(value));
      }
      out.inner_iters = static_cast<int>(value);
    } else if (key == "eps") {
      if (!(value >= 0.0) || value > 10.0) {
        throw ConfigError(std::string(kConvexAdmm) + ": eps must be in [0, 10], got " +
                          std::to_string(value));
      }
      out.eps = value;
    } else {
      throw ConfigError("unknown parameter '" + key + "' for local solver '" + kConvexAdmm +
                        "' (accepted: slot, rho, inner_iters, eps)");
    }
  }
  return out;
}

ConfigError GatedRobustError() {
  return ConfigError(std::string(kConvexAdmm) +
                     ": eps > 0 (the robust program) needs a convex_relu model, not gated_relu "
                     "(the gated model's gates can flip under a perturbation)");
}

class ConvexAdmmSolver final : public LocalSolver {
 public:
  ConvexAdmmSolver(nn::ConvexReluLayout layout, const datasets::Dataset& data)
      : layout_(layout), data_(data) {}

  train::LocalTrainResult Solve(std::span<const float> global,
                                const train::LocalAlgorithm& local) override {
    const auto start = std::chrono::steady_clock::now();
    const ConvexAdmmParams p = ReadParams(local);
    if (static_cast<Eigen::Index>(global.size()) != layout_.num_parameters()) {
      throw ConfigError("convex_admm: the global model has " + std::to_string(global.size()) +
                        " parameters, the model spec needs " +
                        std::to_string(layout_.num_parameters()));
    }
    if (p.slot >= layout_.duals) {
      throw ConfigError("convex_admm: slot " + std::to_string(p.slot) + " but the model has " +
                        std::to_string(layout_.duals) + " client dual blocks");
    }
    if (p.eps > 0.0 && layout_.gated) throw GatedRobustError();
    const Eigen::MatrixXd gates = GatesOf(layout_, global);
    const bool robust = p.eps > 0.0;
    if (gates != gates_ || (robust ? !robust_ || robust_->epsilon() != p.eps : !step_)) {
      ConvexReluData rows = ConvexReluDataFrom(data_, gates, static_cast<int>(layout_.classes));
      step_.reset();
      robust_.reset();
      if (robust) {
        robust_ = std::make_unique<RobustConvexSplitting>(std::move(rows), p.eps);
      } else {
        step_ = std::make_unique<ConvexLocalStep>(
            std::move(rows), layout_.gated ? ConvexFormulation::kGated : ConvexFormulation::kCone);
      }
      gates_ = gates;
    }
    const Eigen::MatrixXd z = BlockOf(layout_, global, layout_.z_offset());
    const Eigen::MatrixXd lambda = BlockOf(layout_, global, layout_.dual_offset(p.slot));
    Eigen::MatrixXd u;
    if (robust) {
      for (int it = 0; it < p.inner_iters; ++it)
        u = robust_->Step(z - lambda, p.rho);
    } else {
      u = step_->Solve(z - lambda, p.rho, p.inner_iters);
    }
    train::LocalTrainResult result;
    result.parameters =
        Eigen::Map<const Eigen::VectorXf>(global.data(), static_cast<Eigen::Index>(global.size()));
    StoreBlock(u, layout_.z_offset(), &result.parameters);
    const double n = static_cast<double>(data_.size());
    const ConvexReluData& rows = robust ? robust_->data() : step_->data();
    result.num_samples = data_.size();
    result.steps = layout_.gated ? 1 : p.inner_iters;
    result.samples_processed = static_cast<int64_t>(data_.size()) * result.steps;
    // The (robust, at ε > 0) loss ½Σ(|r| + ε‖q‖₁)² per sample.
    result.loss_before = RobustConvexObjective(rows, z, 0.0, p.eps) / n;
    result.loss_after = RobustConvexObjective(rows, u, 0.0, p.eps) / n;
    result.train_loss = result.loss_after;
    result.compute_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

 private:
  nn::ConvexReluLayout layout_;
  const datasets::Dataset& data_;
  Eigen::MatrixXd gates_;
  std::unique_ptr<ConvexLocalStep> step_;
  std::unique_ptr<RobustConvexSplitting> robust_;
};

}  // namespace

bool IsLocalSolver(const train::LocalAlgorithm& local) {
  return local.objective == kConvexAdmm;
}

void CheckLocalSolverParams(const train::LocalAlgorithm& local) {
  if (!IsLocalSolver(local)) {
    throw ConfigError("'" + local.objective + "' is not a local solver (expected convex_admm)");
  }
  ReadParams(local);
}

std::unique_ptr<LocalSolver> MakeLocalSolver(const train::LocalAlgorithm& local,
                                             const std::string& model_spec,
                                             const datasets::Dataset& data) {
  CheckLocalSolverParams(local);
  const nn::ConvexReluLayout layout = ConvexReluLayoutOf(model_spec, /*need_duals=*/true);
  if (layout.gated && ReadParams(local).eps > 0.0) throw GatedRobustError();
  if (static_cast<Eigen::Index>(data.dim()) != layout.features) {
    throw ConfigError("convex_admm: model " + model_spec + " expects " +
                      std::to_string(layout.features) + " features, the data have " +
                      std::to_string(data.dim()));
  }
  if (data.num_classes > layout.classes) {
    throw ConfigError("convex_admm: model " + model_spec + " has " +
                      std::to_string(layout.classes) + " classes, the data have " +
                      std::to_string(data.num_classes));
  }
  return std::make_unique<ConvexAdmmSolver>(layout, data);
}

}  // namespace edgefl::algorithms
