// SAVIC: Local SGD with one diagonal scaling shared by all clients
// (Chezhegov, Skorik, Khachaturov, Shalagin, Avetisyan, Takáč, Kholodov,
// Beznosikov, "Local methods with adaptivity via scaling", arXiv 2406.00846;
// Russ. Math. Surveys 79(6), 2024).
//
// Round t (a synchronisation t_p of the paper), with x̄ the global model:
//   clients: H local steps x ← x − γ·D̂⁻¹g from x̄, with the same D̂ for every
//            client and every step (frozen); each also reports a statistic
//            measured at x̄ on its first minibatch (train/preconditioning.h):
//            its stochastic gradient g_k(x̄) (adam, rmsprop) or a Hutchinson
//            estimate z ⊙ ∇²f_k(x̄)z with its own Rademacher z (oasis);
//   server:  x̄ ← the FedAvg aggregate of the local models (fedavg.h: mean by
//            samples, server optimizer `none` by default), s̄ = Σ p_k s_k
//            (same weights), H = s̄ ⊙ s̄ (adam, rmsprop) or s̄ (oasis),
//            D ← H on the first synchronisation with statistics, else
//            D ← βD + (1−β)H, and
//              adam:    D̂ = √D + e
//              rmsprop: D̂ = D + e
//              oasis:   D̂ = max(α, |D|)
//            sent with the next round's model.
// Before the first statistics arrive (round 1) D̂ = I: round 1 is Local SGD.
// The statistic of round t enters D̂ of round t+1 (it is measured at the x̄
// round t starts from, so D̂ never depends on the samples it scales).
// With D̂ ≡ I the clients' steps are Local SGD's bit for bit; with H = 1 the
// rounds are synchronous diagonally scaled SGD.
//
// Thread-safety: used by one round engine at a time (see strategy.h).
#pragma once

#include <memory>
#include <string>

#include <Eigen/Core>

#include "algorithms/fedavg.h"
#include "algorithms/strategy.h"

namespace edgefl::algorithms {

enum class SavicEstimator { kAdam, kRmsProp, kOasis };

// Parses "adam", "rmsprop", "oasis"; ConfigError naming `key` and the
// accepted values otherwise.
SavicEstimator ParseSavicEstimator(const std::string& name, const std::string& key);
std::string SavicEstimatorName(SavicEstimator estimator);

struct SavicOptions {
  SavicEstimator estimator = SavicEstimator::kAdam;
  double beta = 0.99;     // EMA weight of the old D, in [0, 1)
  double epsilon = 1e-3;  // e of adam and rmsprop, > 0 (the lower bound of D̂)
  double alpha = 1e-3;    // α of oasis, > 0 (the lower bound of D̂)
};

// The curvature estimate H of one synchronisation from the clients' mean
// statistic s̄: s̄ ⊙ s̄ (adam, rmsprop) or s̄ (oasis).
Eigen::VectorXf SavicCurvature(SavicEstimator estimator, const Eigen::VectorXf& mean_statistic);

// D̂ from D: √D + e, D + e, or max(α, |D|); every entry >= e (or α) > 0.
Eigen::VectorXf SavicScaling(const SavicOptions& options, const Eigen::VectorXf& d);

class Savic final : public Strategy {
 public:
  // `base` is the FedAvg the model follows; its recipe's optimizer must be
  // "sgd" (the scaling replaces the client optimizer). Throws ConfigError
  // naming the first invalid option.
  Savic(FedAvgOptions base, SavicOptions options);

  std::string name() const override { return fedavg_.name(); }

  // FedAvg's instructions, each with the same D̂ (none before the first
  // statistics) and the estimator's statistic requested.
  std::vector<train::FitInstructions> ConfigureFit(int64_t round,
                                                   std::span<const ClientInfo> cohort) override;

  // Rejects a result whose statistic is missing, mis-sized or not finite
  // (with a reason); the others make the FedAvg aggregate and the next D̂.
  // Metrics: FedAvg's, plus "num_statistics", "scaling_min", "scaling_max"
  // (of the D̂ the next round gets).
  AggregateOutcome AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                std::span<const train::FitResult> results,
                                std::span<const train::FitFailure> failures) override;

  // [has_D, n div 2^24, n mod 2^24, D (n), D̂ (n), FedAvg's state...]; empty
  // while both parts are empty. Throws ConfigError for a state that does
  // not fit.
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

  // D̂ the next round's clients get; null before the first statistics.
  const std::shared_ptr<const Eigen::VectorXf>& scaling() const { return scaling_; }
  // D; empty before the first statistics.
  const Eigen::VectorXf& curvature_average() const { return d_; }
  const SavicOptions& options() const { return options_; }

 private:
  FedAvg fedavg_;
  SavicOptions options_;
  Eigen::VectorXf d_;
  std::shared_ptr<const Eigen::VectorXf> scaling_;
};

}  // namespace edgefl::algorithms
