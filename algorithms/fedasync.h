// FedAsync (Xie, Koyejo, Gupta 2019, "Asynchronous Federated Optimization",
// arXiv 1903.03934, Algorithm 1): every arriving model is mixed into the
// global one at once,
//   α_s = α · s(staleness),   θ ← (1 − α_s) · θ + α_s · θ_client
// with α the mixing hyper-parameter and s the staleness function
// (staleness_weight.h: constant, polynomial or hinge). α = 1 with constant s
// replaces the model by the client's. The paper's workers also add
// (ρ/2)‖x − x_τ‖² to their loss; that regularizer is not implemented (ρ = 0).
#pragma once

#include "algorithms/async_strategy.h"
#include "algorithms/async_task.h"
#include "algorithms/staleness_weight.h"

namespace edgefl::algorithms {

struct FedAsyncOptions {
  AsyncTaskOptions task;
  double mixing = 0.6;     // α in (0, 1]
  StalenessWeight weight;  // constant by default
};

class FedAsync final : public AsyncStrategy {
 public:
  explicit FedAsync(FedAsyncOptions options);  // ConfigError for a bad option
  std::string name() const override { return "fedasync"; }
  train::FitInstructions ConfigureFit(int64_t version, const ClientInfo& client, int64_t task,
                                      std::span<const ClientInfo> fleet) override;
  // Always a new model; `base` is not used (the rule mixes models, not
  // deltas). Metrics: "update_norm" (‖θ' − θ‖), "weight" (s(staleness)),
  // "mixing" (α_s).
  ArrivalOutcome OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                           const train::FitResult& result, int64_t staleness) override;

 private:
  FedAsyncOptions options_;
};

}  // namespace edgefl::algorithms
