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
}

train::FitInstructions FedBuff::ConfigureFit(int64_t version, const ClientInfo& client,
                                             int64_t task, std::span<const ClientInfo> fleet) {
  return MakeAsyncTask(options_.task, version, client, task, fleet);
}

ArrivalOutcome FedBuff::OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                                  const train::FitResult& result, int64_t staleness) {
  ArrivalOutcome out;
  if (sum_.size() != global.size()) sum_ = Eigen::VectorXd::Zero(global.size());
  // Each update counts 1 (the paper's mean over the K buffered updates), or
  // its sample count with sample weighting (unknown counts weigh alike).
  const double c = options_.sample_weighting && result.train.num_samples > 0
                       ? static_cast<double>(result.train.num_samples)
                       : 1.0;
  const double w = options_.weight(staleness);
  sum_ += (c * w) * (result.train.parameters - base).cast<double>();
  denominator_ += c;
  ++count_;
  out.metrics["weight"] = w;
  if (count_ < options_.buffer_size) {
    out.metrics["buffered"] = static_cast<double>(count_);
    return out;
  }
  const Eigen::VectorXd step = (options_.server_lr / denominator_) * sum_;
  Eigen::VectorXf next = (global.cast<double>() + step).cast<float>();
  out.metrics["update_norm"] = step.norm();
  out.metrics["buffered"] = 0.0;
  out.parameters = std::move(next);
  sum_.setZero();
  denominator_ = 0.0;
  count_ = 0;
  return out;
}

Eigen::VectorXf FedBuff::SaveState() const {
  Eigen::VectorXf state(2 + (count_ > 0 ? sum_.size() : 0));
  state[0] = static_cast<float>(count_);
  state[1] = static_cast<float>(denominator_);
  if (count_ > 0) state.tail(sum_.size()) = sum_.cast<float>();
  return state;
}

void FedBuff::RestoreState(const Eigen::VectorXf& state) {
  if (state.size() < 2) {
    throw ConfigError("strategy fedbuff: saved state has " + std::to_string(state.size()) +
                      " values, expected at least 2");
  }
  count_ = static_cast<int64_t>(state[0]);
  denominator_ = state[1];
  if (count_ > 0) {
    sum_ = state.tail(state.size() - 2).cast<double>();
  } else {
    sum_.resize(0);
  }
}

}  // namespace edgefl::algorithms
