#include "algorithms/delayed_nesterov.h"

#include <cmath>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

DelayedNesterov::DelayedNesterov(DelayedNesterovOptions options) : options_(std::move(options)) {
  const std::string context = "strategy async_dn";
  ValidateAsyncTask(options_.task, context);
  if (!(options_.outer_lr > 0.0 && std::isfinite(options_.outer_lr))) {
    throw ConfigError(context + ": outer_lr must be > 0, got " + ShortNumber(options_.outer_lr));
  }
  if (!(options_.outer_momentum >= 0.0 && options_.outer_momentum < 1.0)) {
    throw ConfigError(context + ": outer_momentum must be in [0, 1), got " +
                      ShortNumber(options_.outer_momentum));
  }
  if (options_.buffer_size < 1) {
    throw ConfigError(context + ": buffer_size must be >= 1, got " +
                      std::to_string(options_.buffer_size));
  }
  const double n = static_cast<double>(options_.buffer_size);
  const double c = options_.activation;
  if (!(c >= 0.0 && 1.0 - c * n + c >= 0.0)) {
    throw ConfigError(context + ": momentum_activation must be in [0, 1/(buffer_size - 1)], got " +
                      std::to_string(c));
  }
}

double DelayedNesterov::MomentumCoefficient(int64_t t, int64_t n, double c) {
  const bool window_end = (t + 1) % n == 0;
  return window_end ? 1.0 - c * static_cast<double>(n) + c : c;
}

train::FitInstructions DelayedNesterov::ConfigureFit(int64_t version, const ClientInfo& client,
                                                     int64_t task,
                                                     std::span<const ClientInfo> fleet) {
  return MakeAsyncTask(options_.task, version, client, task, fleet);
}

ArrivalOutcome DelayedNesterov::OnArrival(const Eigen::VectorXf& global,
                                          const Eigen::VectorXf& base,
                                          const train::FitResult& result, int64_t /*staleness*/) {
  if (momentum_.size() != global.size()) {
    momentum_ = Eigen::VectorXf::Zero(global.size());
    window_ = Eigen::VectorXf::Zero(global.size());
  }
  const Eigen::VectorXf g = base - result.train.parameters;
  const int64_t n = options_.buffer_size;
  const float inv_n = 1.0f / static_cast<float>(n);
  const float lr = static_cast<float>(options_.outer_lr);
  const float beta = static_cast<float>(options_.outer_momentum);
  const bool window_end = (arrivals_ + 1) % n == 0;
  window_ += g;
  if (window_end) {
    momentum_ = beta * momentum_ + inv_n * window_;
    window_.setZero();
  }
  const float coefficient =
      static_cast<float>(MomentumCoefficient(arrivals_, n, options_.activation));
  ArrivalOutcome out;
  Eigen::VectorXf step = lr * (coefficient * beta * momentum_ + inv_n * g);
  out.metrics["update_norm"] = static_cast<double>(step.norm());
  out.metrics["window_end"] = window_end ? 1.0 : 0.0;
  out.parameters = global - step;
  ++arrivals_;
  return out;
}

Eigen::VectorXf DelayedNesterov::SaveState() const {
  Eigen::VectorXf state(1 + momentum_.size() + window_.size());
  state[0] = static_cast<float>(arrivals_);
  state.segment(1, momentum_.size()) = momentum_;
  state.tail(window_.size()) = window_;
  return state;
}

void DelayedNesterov::RestoreState(const Eigen::VectorXf& state) {
  if (state.size() < 1 || (state.size() - 1) % 2 != 0) {
    throw ConfigError("strategy async_dn: saved state has " + std::to_string(state.size()) +
                      " values, expected 1 + 2 × parameters");
  }
  arrivals_ = static_cast<int64_t>(state[0]);
  const Eigen::Index p = (state.size() - 1) / 2;
  momentum_ = state.segment(1, p);
  window_ = state.tail(p);
}

}  // namespace edgefl::algorithms
