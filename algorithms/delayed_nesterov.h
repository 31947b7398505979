// Delayed Nesterov outer updates ("async_dn"; Liu et al. 2024, "Asynchronous
// Local-SGD Training for Language Modeling", arXiv 2401.09135; the rule of
// the project's algorithms.md §6). Each arrival brings the pseudo-gradient
// g_t = θ_base − θ_client; with buffer N, momentum β, outer lr ε and
// momentum activation c, starting from m = 0, Δ = 0, t = 0:
//   Δ += g_t
//   if (t + 1) % N == 0:  m ← βm + Δ/N;  θ ← θ − ε[(1 − cN + c)·β·m + g_t/N];  Δ ← 0
//   else:                 θ ← θ − ε[c·β·m + g_t/N]
//   t += 1
// so the model moves on every arrival while momentum is applied once per N
// arrivals (with c = 0, over N arrivals: one Nesterov step on the mean g).
#pragma once

#include "algorithms/async_strategy.h"
#include "algorithms/async_task.h"

namespace edgefl::algorithms {

struct DelayedNesterovOptions {
  AsyncTaskOptions task;
  double outer_lr = 0.7;        // ε > 0
  double outer_momentum = 0.9;  // β in [0, 1)
  int64_t buffer_size = 1;      // N >= 1
  double activation = 0.0;      // c >= 0 with 1 − cN + c >= 0
};

class DelayedNesterov final : public AsyncStrategy {
 public:
  explicit DelayedNesterov(DelayedNesterovOptions options);  // ConfigError for a bad option
  std::string name() const override { return "async_dn"; }
  train::FitInstructions ConfigureFit(int64_t version, const ClientInfo& client, int64_t task,
                                      std::span<const ClientInfo> fleet) override;
  // Always a new model. Metrics "update_norm", "window_end" (1 when the
  // momentum was updated by this arrival).
  ArrivalOutcome OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                           const train::FitResult& result, int64_t staleness) override;
  // [t, m..., Δ...] (before the first arrival: [0]).
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

  // The coefficient in front of β·m at arrival t (from 0) of a window of N:
  // c inside the window, 1 − cN + c at its end; they sum to 1 per window.
  static double MomentumCoefficient(int64_t t, int64_t n, double c);

 private:
  DelayedNesterovOptions options_;
  Eigen::VectorXf momentum_;  // m
  Eigen::VectorXf window_;    // Δ
  int64_t arrivals_ = 0;      // t
};

}  // namespace edgefl::algorithms
