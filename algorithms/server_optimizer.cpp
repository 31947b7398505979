#include "algorithms/server_optimizer.h"

#include <cmath>

#include "common/error.h"

namespace edgefl::algorithms {
namespace {

void CheckUnit(double value, const char* name) {
  if (!(value >= 0.0 && value < 1.0)) {
    throw ConfigError(std::string("server optimizer: ") + name + " must be in [0, 1), got " +
                      std::to_string(value));
  }
}

size_t StateBlocks(ServerOptimizerKind kind) {
  switch (kind) {
    case ServerOptimizerKind::kNone:
      return 0;
    case ServerOptimizerKind::kMomentum:
      return 1;
    case ServerOptimizerKind::kAdam:
    case ServerOptimizerKind::kYogi:
      return 2;
  }
  return 0;
}

}  // namespace

ServerOptimizerKind ParseServerOptimizer(const std::string& name, const std::string& key) {
  if (name == "none") return ServerOptimizerKind::kNone;
  if (name == "momentum") return ServerOptimizerKind::kMomentum;
  if (name == "adam") return ServerOptimizerKind::kAdam;
  if (name == "yogi") return ServerOptimizerKind::kYogi;
  throw ConfigError(key + ": unknown server optimizer \"" + name +
                    "\" (accepted: none, momentum, adam, yogi)");
}

std::string ServerOptimizerName(ServerOptimizerKind kind) {
  switch (kind) {
    case ServerOptimizerKind::kNone:
      return "none";
    case ServerOptimizerKind::kMomentum:
      return "momentum";
    case ServerOptimizerKind::kAdam:
      return "adam";
    case ServerOptimizerKind::kYogi:
      return "yogi";
  }
  return "?";
}

void ValidateServerOptimizer(const ServerOptimizerConfig& config) {
  if (!(std::isfinite(config.learning_rate) && config.learning_rate > 0.0)) {
    throw ConfigError("server optimizer: server_lr must be > 0, got " +
                      std::to_string(config.learning_rate));
  }
  CheckUnit(config.momentum, "server_momentum");
  CheckUnit(config.beta1, "beta1");
  CheckUnit(config.beta2, "beta2");
  if (!(std::isfinite(config.tau) && config.tau > 0.0)) {
    throw ConfigError("server optimizer: tau must be > 0, got " + std::to_string(config.tau));
  }
}

ServerOptimizer::ServerOptimizer(const ServerOptimizerConfig& config) : config_(config) {
  ValidateServerOptimizer(config_);
}

void ServerOptimizer::Reset() {
  steps_ = 0;
  first_.resize(0);
  second_.resize(0);
}

Eigen::VectorXf ServerOptimizer::Step(const Eigen::VectorXf& global,
                                      const Eigen::VectorXf& aggregate) {
  const Eigen::Index n = global.size();
  if (aggregate.size() != n) {
    throw ConfigError("server optimizer: aggregate has " + std::to_string(aggregate.size()) +
                      " values, the global model " + std::to_string(n));
  }
  const size_t blocks = StateBlocks(config_.kind);
  if (blocks > 0 && first_.size() == 0) {
    first_ = Eigen::VectorXf::Zero(n);
    if (blocks > 1) second_ = Eigen::VectorXf::Zero(n);
  } else if (blocks > 0 && first_.size() != n) {
    throw ConfigError("server optimizer: state has " + std::to_string(first_.size()) +
                      " values per moment, the global model " + std::to_string(n));
  }
  ++steps_;
  const float lr = static_cast<float>(config_.learning_rate);
  Eigen::VectorXf next(n);
  switch (config_.kind) {
    case ServerOptimizerKind::kNone: {
      // w − η_s(w − m) = m − (η_s − 1)(w − m).
      const float excess = lr - 1.0f;
      next = aggregate.array() - excess * (global - aggregate).array();
      break;
    }
    case ServerOptimizerKind::kMomentum: {
      // v' = βv + Δ̄; w − η_s v' = m − (η_s β v + (η_s − 1) Δ̄).
      const float beta = static_cast<float>(config_.momentum);
      const float excess = lr - 1.0f;
      const bool nesterov = config_.nesterov;
      auto v = first_.array();
      for (Eigen::Index i = 0; i < n; ++i) {
        const float delta = global[i] - aggregate[i];
        const float old_v = v[i];
        v[i] = beta * old_v + delta;
        // Nesterov: w − η_s(Δ̄ + βv') = m − (η_s βv' + (η_s − 1)Δ̄).
        const float look = nesterov ? v[i] : old_v;
        next[i] = aggregate[i] - (lr * (beta * look) + excess * delta);
      }
      break;
    }
    case ServerOptimizerKind::kAdam:
    case ServerOptimizerKind::kYogi: {
      const float b1 = static_cast<float>(config_.beta1);
      const float b2 = static_cast<float>(config_.beta2);
      const float tau = static_cast<float>(config_.tau);
      float step = lr;
      if (config_.bias_correction) {
        const double t = static_cast<double>(steps_);
        step =
            static_cast<float>(config_.learning_rate * std::sqrt(1.0 - std::pow(config_.beta2, t)) /
                               (1.0 - std::pow(config_.beta1, t)));
      }
      const bool yogi = config_.kind == ServerOptimizerKind::kYogi;
      auto m = first_.array();
      auto v = second_.array();
      for (Eigen::Index i = 0; i < n; ++i) {
        const float d = aggregate[i] - global[i];
        const float d2 = d * d;
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        if (yogi) {
          const float diff = v[i] - d2;
          const float sign = diff > 0.0f ? 1.0f : (diff < 0.0f ? -1.0f : 0.0f);
          v[i] = v[i] - (1.0f - b2) * d2 * sign;
        } else {
          v[i] = b2 * v[i] + (1.0f - b2) * d2;
        }
        next[i] = global[i] + step * m[i] / (std::sqrt(v[i]) + tau);
      }
      break;
    }
  }
  return next;
}

Eigen::VectorXf ServerOptimizer::SaveState() const {
  const size_t blocks = StateBlocks(config_.kind);
  if (blocks == 0 || first_.size() == 0) return {};
  const Eigen::Index n = first_.size();
  Eigen::VectorXf state(1 + static_cast<Eigen::Index>(blocks) * n);
  state[0] = static_cast<float>(steps_);
  state.segment(1, n) = first_;
  if (blocks > 1) state.segment(1 + n, n) = second_;
  return state;
}

Eigen::Index ServerOptimizer::StateSizeFor(Eigen::Index num_parameters) const {
  const auto blocks = static_cast<Eigen::Index>(StateBlocks(config_.kind));
  return blocks == 0 ? 0 : 1 + blocks * num_parameters;
}

void ServerOptimizer::RestoreState(const Eigen::VectorXf& state) {
  const size_t blocks = StateBlocks(config_.kind);
  if (state.size() == 0) {
    Reset();
    return;
  }
  const Eigen::Index per = blocks == 0 ? 0 : (state.size() - 1) / static_cast<Eigen::Index>(blocks);
  if (blocks == 0 || per == 0 || 1 + static_cast<Eigen::Index>(blocks) * per != state.size() ||
      !(state[0] >= 1.0f) || state[0] != std::floor(state[0])) {
    throw ConfigError("server optimizer " + ServerOptimizerName(config_.kind) + ": a state of " +
                      std::to_string(state.size()) + " values does not fit (expected [t, " +
                      (blocks == 2 ? "m, v" : "v") + "] for this kind" +
                      (blocks == 0 ? ", which is stateless" : "") + ")");
  }
  steps_ = static_cast<int64_t>(state[0]);
  first_ = state.segment(1, per);
  second_ = blocks > 1 ? Eigen::VectorXf(state.segment(1 + per, per)) : Eigen::VectorXf();
}

}  // namespace edgefl::algorithms
