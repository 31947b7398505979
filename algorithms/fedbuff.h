// FedBuff (Nguyen et al. 2022, "Federated Learning with Buffered
// Asynchronous Aggregation"): arriving updates Δ_i = θ_i − θ_base(i) are
// buffered; when K have arrived the model moves by
//   θ ← θ + η · Σ_i n_i · w(s_i) · Δ_i / Σ_i n_i
// (n_i the client's sample count, w the staleness weighting, η the server
// learning rate) and the buffer empties. With equal speeds, K = the cohort,
// η = 1 and constant w this is one round of sync FedAvg.
#pragma once

#include "algorithms/async_strategy.h"
#include "algorithms/async_task.h"
#include "algorithms/staleness_weight.h"

namespace edgefl::algorithms {

struct FedBuffOptions {
  AsyncTaskOptions task;
  int64_t buffer_size = 10;  // K >= 1
  double server_lr = 1.0;    // η > 0
  StalenessWeight weight{StalenessWeight::Kind::kPolynomial, 0.5};
};

class FedBuff final : public AsyncStrategy {
 public:
  explicit FedBuff(FedBuffOptions options);  // ConfigError for a bad option
  std::string name() const override { return "fedbuff"; }
  train::FitInstructions ConfigureFit(int64_t version, const ClientInfo& client, int64_t task,
                                      std::span<const ClientInfo> fleet) override;
  // A new model on every K-th arrival; metrics "buffered" (arrivals in the
  // buffer after this one), and on a flush "update_norm".
  ArrivalOutcome OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                           const train::FitResult& result, int64_t staleness) override;
  // [count, Σ n_i, Σ n_i w_i Δ_i...] (empty buffer: [0, 0]).
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

 private:
  FedBuffOptions options_;
  Eigen::VectorXd sum_;  // Σ n_i w(s_i) Δ_i
  double samples_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace edgefl::algorithms
