#include "algorithms/fedbuff.h"

#include <cmath>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

FedBuff::FedBuff(FedBuffOptions options) : options_(std::move(options)) {
  ValidateAsyncTask(options_.task, "strategy fedbuff");
  if (options_.buffer_size < 1) {
    throw ConfigError("strategy fedbuff: buffer_size must be >= 1, got " +
                      std::to_string(options_.buffer_size));
  }
  if (!(options_.server_lr > 0.0 && std::isfinite(options_.server_lr))) {
    throw ConfigError("strategy fedbuff: server_lr must be > 0, got " +
                      ShortNumber(options_.server_lr));
  }
  const StalenessWeight& w = options_.weight;
  if (!(w.exponent >= 0.0 && w.hinge_a >= 0.0 && w.hinge_b >= 0.0)) {
    throw ConfigError("strategy fedbuff: staleness_exponent, hinge_a and hinge_b must be >= 0");
  }
  if (options_.dp && options_.secure_aggregation && options_.dp->adaptive_clip) {
    throw ConfigError(
        "strategy fedbuff: secure_aggregation is refused with dp_adaptive_clip: adaptive "
        "clipping needs each client's clipped-count bit on the server; distributed DP "
        "under secure aggregation uses a fixed dp_clip");
  }
  if (options_.dp) {
    if (options_.sample_weighting) {
      throw ConfigError(
          "strategy fedbuff: dp is refused with sample_weighting = true: DP-FedBuff divides "
          "the buffer's sum of clipped updates by K, so one client moves the model by at "
          "most C/K; weighing by sample counts would let one client weigh more. Set "
          "sample_weighting = false");
    }
    DpFedAvgOptions dp = *options_.dp;
    dp.clients_per_round = options_.buffer_size;  // q = K/N, the fixed denominator K
    dp_.emplace(dp, options_.task.seed);
  }
  if (options_.secure_aggregation) {
    SecureAggregationOptions& sa = *options_.secure_aggregation;
    if (options_.buffer_size < 2) {
      throw ConfigError(
          "strategy fedbuff: secure_aggregation needs buffer_size >= 2 (the cohort whose sum "
          "is unmasked is the buffer of K updates), got " +
          std::to_string(options_.buffer_size));
    }
    sa.uniform_weight = !options_.sample_weighting;
    // Distributed DP, as sync FedAvg's: the clients add the noise.
    if (dp_) dp_->ArmSecureAggregation(sa);
  }
}

train::FitInstructions FedBuff::ConfigureFit(int64_t version, const ClientInfo& client,
                                             int64_t task, std::span<const ClientInfo> fleet) {
  return MakeAsyncTask(options_.task, version, client, task, fleet);
}

ArrivalOutcome FedBuff::OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                                  const train::FitResult& result, int64_t staleness) {
  if (options_.secure_aggregation) {
    throw Error("strategy fedbuff: an update in the clear under secure aggregation");
  }
  ArrivalOutcome out;
  if (sum_.size() != global.size()) sum_ = Eigen::VectorXd::Zero(global.size());
  // Each update counts 1 (the paper's mean over the K buffered updates), or
  // its sample count with sample weighting (unknown counts weigh alike).
  const double c = options_.sample_weighting && result.train.num_samples > 0
                       ? static_cast<double>(result.train.num_samples)
                       : 1.0;
  const double w = options_.weight(staleness);
  Eigen::VectorXf delta = result.train.parameters - base;
  // DP: clipped before the staleness weight, so s(τ) <= 1 keeps it within C.
  if (dp_ && dp_->Clip(std::span<float>(delta.data(), static_cast<size_t>(delta.size())))) {
    ++unclipped_;
  }
  sum_ += (c * w) * delta.cast<double>();
  denominator_ += c;
  ++count_;
  out.metrics["weight"] = w;
  if (count_ < options_.buffer_size) {
    out.metrics["buffered"] = static_cast<double>(count_);
    return out;
  }
  Eigen::VectorXd step;
  if (dp_) {
    // Noise once on the buffer's sum, divided by K (= count_, = denominator_).
    const Eigen::VectorXf mean = dp_->NoisedMean(dp_->steps() + 1, sum_.cast<float>(), unclipped_,
                                                 static_cast<int>(count_), &out.metrics);
    step = options_.server_lr * mean.cast<double>();
  } else {
    step = (options_.server_lr / denominator_) * sum_;
  }
  Eigen::VectorXf next = (global.cast<double>() + step).cast<float>();
  out.metrics["update_norm"] = step.norm();
  out.metrics["buffered"] = 0.0;
  out.parameters = std::move(next);
  sum_.setZero();
  denominator_ = 0.0;
  count_ = 0;
  unclipped_ = 0;
  return out;
}

ArrivalOutcome FedBuff::OnSecureCohort(const Eigen::VectorXf& global, const Eigen::VectorXf& mean) {
  ArrivalOutcome out;
  if (mean.size() != global.size()) {
    throw Error("strategy fedbuff: a secure mean of " + std::to_string(mean.size()) +
                " values for a model of " + std::to_string(global.size()));
  }
  const Eigen::VectorXd step = options_.server_lr * mean.cast<double>();
  // Distributed DP: the clients clipped and noised; one step composed.
  if (dp_) dp_->ChargeDistributedRound(&out.metrics);
  out.metrics["update_norm"] = step.norm();
  out.parameters = (global.cast<double>() + step).cast<float>();
  return out;
}

std::optional<std::string> FedBuff::BudgetSpentAfter(int64_t version) const {
  // One server step per version (a flush, or a cohort's unmasked sum).
  return dp_ ? dp_->BudgetSpentAfterSteps(version) : std::nullopt;
}

Eigen::VectorXf FedBuff::SaveState() const {
  const Eigen::Index dp = dp_ ? 3 : 0;
  const Eigen::Index buffered = count_ > 0 ? sum_.size() : 0;
  Eigen::VectorXf state(2 + buffered + dp);
  state[0] = static_cast<float>(count_);
  state[1] = static_cast<float>(denominator_);
  if (buffered > 0) state.segment(2, buffered) = sum_.cast<float>();
  if (dp_) {
    const Eigen::VectorXf accountant = dp_->SaveState();  // [steps, C]
    state[2 + buffered] = static_cast<float>(unclipped_);
    state.tail(2) = accountant;
  }
  return state;
}

void FedBuff::RestoreState(const Eigen::VectorXf& state) {
  const Eigen::Index dp = dp_ ? 3 : 0;
  if (state.size() < 2 + dp) {
    throw ConfigError("strategy fedbuff: saved state has " + std::to_string(state.size()) +
                      " values, expected at least " + std::to_string(2 + dp) +
                      (dp_ ? " (with dp: the buffer, then [unclipped, steps, C])" : ""));
  }
  count_ = static_cast<int64_t>(state[0]);
  denominator_ = state[1];
  const Eigen::Index buffered = state.size() - 2 - dp;
  if (count_ > 0) {
    sum_ = state.segment(2, buffered).cast<double>();
  } else {
    sum_.resize(0);
  }
  if (dp_) {
    unclipped_ = static_cast<int>(state[2 + buffered]);
    const Eigen::VectorXf accountant = state.tail(2);
    dp_->RestoreState(std::span<const float>(accountant.data(), 2));
  }
}

}  // namespace edgefl::algorithms
