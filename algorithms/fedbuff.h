// FedBuff (Nguyen et al. 2022, "Federated Learning with Buffered
// Asynchronous Aggregation", AISTATS, arXiv 2106.06639, Algorithm 1):
// arriving updates Δ_i = θ_i − θ_base(i) are buffered, each scaled by the
// staleness weight s(τ_i) (staleness_weight.h; the paper's s(τ) = 1/√(1+τ));
// when K have arrived the model moves by the mean of the buffer,
//   θ ← θ + η · (1/K) · Σ_i s(τ_i) · Δ_i
// (η the server learning rate) and the buffer empties. With
// `sample_weighting` the mean is over samples instead,
// θ ← θ + η · Σ_i n_i s(τ_i) Δ_i / Σ_i n_i (n_i the client's sample count):
// not the paper's rule, kept as an option. With equal speeds, K = the
// cohort, η = 1, constant s and sample weighting this is a round of sync
// FedAvg.
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
  bool sample_weighting = false;  // weigh Δ_i by n_i / Σ n instead of 1 / K
};

class FedBuff final : public AsyncStrategy {
 public:
  explicit FedBuff(FedBuffOptions options);  // ConfigError for a bad option
  std::string name() const override { return "fedbuff"; }
  train::FitInstructions ConfigureFit(int64_t version, const ClientInfo& client, int64_t task,
                                      std::span<const ClientInfo> fleet) override;
  // A new model on every K-th arrival; metrics "weight" (s(τ) of this
  // arrival), "buffered" (arrivals in the buffer after this one), and on a
  // flush "update_norm".
  ArrivalOutcome OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                           const train::FitResult& result, int64_t staleness) override;
  // [count, Σ c_i, Σ c_i s_i Δ_i...] with c_i = 1, or n_i with sample
  // weighting (empty buffer: [0, 0]).
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

 private:
  FedBuffOptions options_;
  Eigen::VectorXd sum_;       // Σ c_i s(τ_i) Δ_i
  double denominator_ = 0.0;  // Σ c_i
  int64_t count_ = 0;
};

}  // namespace edgefl::algorithms
