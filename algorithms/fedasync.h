// Naive asynchronous FedAvg ("fedasync"): every arriving update is applied
// at once, θ ← θ + η · w(s) · (θ_client − θ_base), with η the server
// learning rate and w the staleness weighting (staleness_weight.h). With
// η = 1, w = 1 and no staleness it replaces the model by the client's.
#pragma once

#include "algorithms/async_strategy.h"
#include "algorithms/async_task.h"
#include "algorithms/staleness_weight.h"

namespace edgefl::algorithms {

struct FedAsyncOptions {
  AsyncTaskOptions task;
  double server_lr = 1.0;  // η > 0
  StalenessWeight weight;  // constant by default
};

class FedAsync final : public AsyncStrategy {
 public:
  explicit FedAsync(FedAsyncOptions options);  // ConfigError for a bad option
  std::string name() const override { return "fedasync"; }
  train::FitInstructions ConfigureFit(int64_t version, const ClientInfo& client, int64_t task,
                                      std::span<const ClientInfo> fleet) override;
  // Always a new model. Metrics: "update_norm" (‖θ' − θ‖), "weight" (w(s)).
  ArrivalOutcome OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                           const train::FitResult& result, int64_t staleness) override;

 private:
  FedAsyncOptions options_;
};

}  // namespace edgefl::algorithms
