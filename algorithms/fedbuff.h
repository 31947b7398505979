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
//
// Privacy (docs/algorithms.md, "Privacy in async mode"; docs/security.md):
//  - DP-FedBuff, central (`dp`): each Δ_i is clipped to L2 norm C (fixed, or
//    adaptive as DP-FedAvg's), then scaled by s(τ_i) <= 1, which keeps one
//    client's contribution within C; at each server step N(0, (z·C)²) is
//    added once to the buffer's sum, which is divided by K (DpFedAvg with
//    m = K). The accountant composes one subsampled Gaussian step with
//    q = K/N per server step, assuming the K are a uniform sample of the N.
//  - Secure aggregation (`secure_aggregation`): the buffer is a SecAgg+
//    cohort of K "ready" clients; each is told s(τ_i) when the cohort forms
//    and scales its update before quantising, and the unmasked mean is the
//    server step (OnSecureCohort). With dp it is distributed DP: the clients
//    clip to C, scale, and add their share of the noise; the accountant
//    charges the step as central DP.
#pragma once

#include <optional>

#include "algorithms/async_strategy.h"
#include "algorithms/async_task.h"
#include "algorithms/dp_fedavg.h"
#include "algorithms/secure_aggregation.h"
#include "algorithms/staleness_weight.h"

namespace edgefl::algorithms {

struct FedBuffOptions {
  AsyncTaskOptions task;
  int64_t buffer_size = 10;  // K >= 1
  double server_lr = 1.0;    // η > 0
  StalenessWeight weight{StalenessWeight::Kind::kPolynomial, 0.5};
  bool sample_weighting = false;  // weigh Δ_i by n_i / Σ n instead of 1 / K
  // DP-FedBuff (its clients_per_round is set to K; population = N, the
  // clients that may be sampled). Refused with sample_weighting.
  std::optional<DpFedAvgOptions> dp;
  // SecAgg+ over cohorts of K (dp_adaptive_clip is refused with it).
  std::optional<SecureAggregationOptions> secure_aggregation;
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
  // With dp the state ends with [unclipped in the buffer, server steps
  // composed, C]: a resumed run continues the same ε.
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

  std::optional<std::string> BudgetSpentAfter(int64_t version) const override;
  const SecureAggregationOptions* secure_aggregation() const override {
    return options_.secure_aggregation ? &*options_.secure_aggregation : nullptr;
  }
  int64_t cohort_size() const override { return options_.buffer_size; }
  double CohortScale(int64_t staleness) const override { return options_.weight(staleness); }
  // θ ← θ + η · (the unmasked mean of the cohort's s_i·Δ_i); with dp the step
  // is charged to the accountant. Metrics "update_norm" (and DP's).
  ArrivalOutcome OnSecureCohort(const Eigen::VectorXf& global,
                                const Eigen::VectorXf& mean) override;

 private:
  FedBuffOptions options_;
  std::optional<DpFedAvg> dp_;
  int unclipped_ = 0;         // DP: buffered updates that were within C
  Eigen::VectorXd sum_;       // Σ c_i s(τ_i) Δ_i
  double denominator_ = 0.0;  // Σ c_i
  int64_t count_ = 0;
};

}  // namespace edgefl::algorithms
