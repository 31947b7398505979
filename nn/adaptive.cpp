#include "nn/adaptive.h"

#include <cmath>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::nn {
namespace {

constexpr uint64_t kOasisStream = 0x6f61736973;  // "oasis"

const char* Name(Scaling s) {
  switch (s) {
    case Scaling::kAdam:
      return "adam";
    case Scaling::kRmsProp:
      return "rmsprop";
    case Scaling::kOasis:
      return "oasis";
  }
  return "?";
}

void Require(bool ok, const AdaptiveOptions& o, const std::string& what) {
  if (!ok) throw ConfigError(std::string(Name(o.scaling)) + ": " + what);
}

}  // namespace

AdaptiveOptions AdamOptions(float learning_rate, float weight_decay) {
  return {.scaling = Scaling::kAdam,
          .learning_rate = learning_rate,
          .beta1 = 0.9f,
          .beta2 = 0.999f,
          .epsilon = 1e-8f,
          .weight_decay = weight_decay};
}

AdaptiveOptions RmsPropOptions(float learning_rate) {
  return {.scaling = Scaling::kRmsProp,
          .learning_rate = learning_rate,
          .beta1 = 0.0f,
          .beta2 = 0.99f,
          .epsilon = 1e-8f};
}

AdaptiveOptions OasisOptions(float learning_rate) {
  return {.scaling = Scaling::kOasis,
          .learning_rate = learning_rate,
          .beta1 = 0.0f,
          .beta2 = 0.99f,
          .alpha = 1e-4f};
}

AdaptiveOptimizer::AdaptiveOptimizer(const AdaptiveOptions& options)
    : Optimizer(options.learning_rate), options_(options), rng_(0) {
  Require(options.beta1 >= 0.0f && options.beta1 < 1.0f, options,
          "beta1 must be in [0, 1), got " + ShortNumber(options.beta1));
  Require(options.beta2 >= 0.0f && options.beta2 < 1.0f, options,
          "beta2 must be in [0, 1), got " + ShortNumber(options.beta2));
  Require(options.epsilon > 0.0f && std::isfinite(options.epsilon), options,
          "epsilon must be > 0, got " + ShortNumber(options.epsilon));
  Require(options.alpha > 0.0f && std::isfinite(options.alpha), options,
          "alpha must be > 0, got " + ShortNumber(options.alpha));
  Require(options.weight_decay >= 0.0f && std::isfinite(options.weight_decay), options,
          "weight_decay must be >= 0, got " + ShortNumber(options.weight_decay));
  Reset();
}

void AdaptiveOptimizer::Reset() {
  steps_ = 0;
  first_.resize(0);
  second_.resize(0);
  rng_ = Rng::Derive(options_.seed, {kOasisStream});
}

std::string AdaptiveOptimizer::Describe() const {
  std::string s = std::string(Name(options_.scaling)) + "(lr=" + ShortNumber(learning_rate());
  if (options_.scaling == Scaling::kAdam) s += ", beta1=" + ShortNumber(options_.beta1);
  s += ", beta2=" + ShortNumber(options_.beta2);
  if (options_.scaling == Scaling::kOasis) {
    s += ", alpha=" + ShortNumber(options_.alpha);
  } else {
    s += ", eps=" + ShortNumber(options_.epsilon);
  }
  return s + ", weight_decay=" + ShortNumber(options_.weight_decay) + ")";
}

void AdaptiveOptimizer::Step(VectorRef params, const ConstVectorRef& grads) {
  CheckSizes(params, grads, second_, "second-moment");
  const float lr = learning_rate();
  const float b1 = options_.beta1, b2 = options_.beta2, eps = options_.epsilon;
  ++steps_;
  switch (options_.scaling) {
    case Scaling::kAdam: {
      CheckSizes(params, grads, first_, "first-moment");
      if (options_.weight_decay > 0.0f) params *= 1.0f - lr * options_.weight_decay;
      first_ = b1 * first_ + (1.0f - b1) * grads;
      second_ = b2 * second_ + (1.0f - b2) * grads.cwiseAbs2();
      const double t = static_cast<double>(steps_);
      const float step = static_cast<float>(lr / (1.0 - std::pow(static_cast<double>(b1), t)));
      const float inv_root_bc2 =
          static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(static_cast<double>(b2), t)));
      params.array() -= step * first_.array() / (second_.array().sqrt() * inv_root_bc2 + eps);
      break;
    }
    case Scaling::kRmsProp: {
      if (options_.weight_decay > 0.0f) params *= 1.0f - lr * options_.weight_decay;
      second_ = b2 * second_ + (1.0f - b2) * grads.cwiseAbs2();
      params.array() -= lr * grads.array() / (second_.array().sqrt() + eps);
      break;
    }
    case Scaling::kOasis: {
      if (!hvp_) {
        --steps_;
        throw ConfigError("oasis: no Hessian-vector product callback was set");
      }
      const Eigen::Index n = params.size();
      z_.resize(n);
      uint64_t bits = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        if ((i & 63) == 0) bits = rng_.Next();
        z_[i] = (bits & 1) ? 1.0f : -1.0f;
        bits >>= 1;
      }
      hvp_(z_, &hz_);
      if (hz_.size() != n) {
        --steps_;
        throw ConfigError("oasis: the Hessian-vector product returned " +
                          std::to_string(hz_.size()) + " values, expected " + std::to_string(n));
      }
      if (steps_ == 1) {
        second_ = (z_.array() * hz_.array()).abs().matrix();
      } else {
        second_ = b2 * second_ + (1.0f - b2) * (z_.array() * hz_.array()).abs().matrix();
      }
      if (options_.weight_decay > 0.0f) params *= 1.0f - lr * options_.weight_decay;
      params.array() -= lr * grads.array() / second_.array().max(options_.alpha);
      break;
    }
  }
}

}  // namespace edgefl::nn
