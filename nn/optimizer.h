// Local optimizers on the flat parameter and gradient vectors.
//
// Step(params, grads) applies one update in place. Per-coordinate state
// (momentum, moment estimates) is sized on the first Step and carried across
// calls and rounds until Reset(); a Step with a different size than the
// state without a Reset in between throws ConfigError. Not thread-safe.
#pragma once

#include <string>

#include <Eigen/Core>

namespace edgefl::nn {

using VectorRef = Eigen::Ref<Eigen::VectorXf>;
using ConstVectorRef = Eigen::Ref<const Eigen::VectorXf>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // params <- update(params, grads). Throws ConfigError if the sizes differ
  // from each other or from the carried state.
  virtual void Step(VectorRef params, const ConstVectorRef& grads) = 0;
  // Forgets all state (momentum, moments, step count).
  virtual void Reset() = 0;
  // E.g. "sgd(lr=0.05, momentum=0.9)".
  virtual std::string Describe() const = 0;

  // The step size, adjustable between steps (e.g. by a step-size rule).
  float learning_rate() const { return learning_rate_; }
  // Throws ConfigError unless lr >= 0 and finite.
  void set_learning_rate(float lr);

 protected:
  explicit Optimizer(float learning_rate) { set_learning_rate(learning_rate); }
  // Throws ConfigError unless params.size() == grads.size(); sizes `state`
  // (zero-filled) on first use and checks it afterwards.
  void CheckSizes(const VectorRef& params, const ConstVectorRef& grads, Eigen::VectorXf& state,
                  const char* name) const;

 private:
  float learning_rate_ = 0.0f;
};

}  // namespace edgefl::nn
