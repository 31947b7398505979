// The server side of DP-FedAvg (McMahan, Ramage, Talwar, Zhang, ICLR'18,
// "Learning Differentially Private Recurrent Language Models", Algorithm 1
// with the fixed-denominator estimator), central DP: each client's update
// Δ_k = w_k − w is clipped to L2 norm C, the clipped updates are summed,
// Gaussian noise N(0, (z_Δ·C)²) is added per coordinate, and the sum is
// divided by the expected cohort m (not by the number that reported, so
// one client's presence changes the sum by at most C). With adaptive
// clipping (Andrew et al., NeurIPS'21) C moves toward the target quantile
// of the update norms from a noised count (privacy/dp_clipping.h) and z is
// split between the two queries. The accountant (privacy/rdp_accountant.h)
// composes one subsampled Gaussian step with q = m/N per aggregated round.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include <Eigen/Core>

#include "algorithms/aggregate.h"
#include "algorithms/secure_aggregation.h"
#include "privacy/dp_clipping.h"
#include "privacy/rdp_accountant.h"

namespace edgefl::algorithms {

struct DpFedAvgOptions {
  double noise_multiplier = 1.0;  // z >= 0 (0 = clipping only, ε = ∞)
  double clip_norm = 1.0;         // C > 0 (the initial C when adaptive)
  bool adaptive_clip = false;
  // Its count_stddev 0 means Andrew et al.'s m/20.
  privacy::AdaptiveClipOptions adaptive;
  double delta = 0.0;           // δ in (0, 1); 0 = 1/N
  double target_epsilon = 0.0;  // > 0: end the run before ε would exceed it; 0 = no limit
  // > 0: replace noise_multiplier by the smallest z whose ε after this many
  // rounds is at most target_epsilon (privacy::NoiseMultiplierFor); needs
  // a target. 0: use noise_multiplier as given.
  int64_t calibrate_rounds = 0;
  // true: the noise comes from Rng::Derive(run seed, {stream, round}), so a
  // simulation is repeatable (and anyone with the seed can remove the
  // noise); false: from a generator seeded by OpenSSL's CSPRNG.
  bool seeded_noise = false;
  int64_t clients_per_round = 0;  // m >= 1
  int64_t population = 0;         // N >= m: the clients that may be sampled
};

class DpFedAvg {
 public:
  // Throws ConfigError naming the first bad option, and when even one round
  // would exceed target_epsilon.
  DpFedAvg(DpFedAvgOptions options, uint64_t run_seed);

  // The next model before the server optimizer: w + (Σ clip(w_k − w) +
  // noise)/m, and with adaptive clipping the next C. Composes one step in
  // the accountant. `models` must have global's size. Metrics: "dp_clip"
  // (the C used), "dp_unclipped" (b_k count), "dp_noise_std" (z_Δ·C/m on
  // the mean), "epsilon" (after this round, at δ), "dp_delta" (δ),
  // "dp_noise_multiplier" (z, as calibrated).
  Eigen::VectorXf Aggregate(int64_t round, const Eigen::VectorXf& global,
                            std::span<const ParameterSpan> models,
                            std::map<std::string, double>* metrics);

  // The two halves of Aggregate, for a server step whose updates arrive one
  // at a time (DP-FedBuff, fedbuff.h). Clip: one update clipped in place to
  // the current C; true when its norm was within C (Andrew et al.'s b_k).
  bool Clip(std::span<float> update) const;
  // (sum + N(0, (z_Δ·C)²) per coordinate) / m for the sum of `count` clipped
  // updates of which `unclipped` were within C, `step` seeding the noise
  // (a round, or an async server step); adapts C, composes one step and sets
  // the metrics as Aggregate does.
  Eigen::VectorXf NoisedMean(int64_t step, Eigen::VectorXf sum, int unclipped, int count,
                             std::map<std::string, double>* metrics);

  // Distributed DP (secure aggregation): the clients clipped and noised,
  // the sum arrived noised; composes one step in the accountant, exactly as
  // Aggregate does, and sets the metrics "epsilon", "dp_delta",
  // "dp_noise_multiplier", "dp_clip".
  void ChargeDistributedRound(std::map<std::string, double>* metrics);

  // Distributed DP under secure aggregation: gives `sa` the clients' clip
  // C, z and noise source. Throws ConfigError when sa's quantiser range
  // (secagg_clip_range) cannot hold a clipped coordinate plus 6 std-devs of
  // one client's noise (at the smallest m_min, 2): clipping there would bias
  // the sum.
  void ArmSecureAggregation(SecureAggregationOptions& sa) const;

  // The text to end the run with once another round would exceed
  // target_epsilon; nullopt otherwise.
  std::optional<std::string> BudgetSpentAfter(int64_t round) const;
  // The same for a run that has composed exactly `steps` steps, whatever
  // this object has composed (an async loop can run ahead of its log).
  std::optional<std::string> BudgetSpentAfterSteps(int64_t steps) const;

  // ε after the rounds aggregated so far.
  double Epsilon() const { return accountant_.Spent(delta_).epsilon; }
  double clip_norm() const { return clip_; }
  double noise_multiplier() const { return options_.noise_multiplier; }
  double delta() const { return delta_; }
  int64_t steps() const { return accountant_.steps(); }  // rounds (server steps) composed

  // [rounds composed, C]: RestoreState(SaveState()) continues the same ε and
  // C. Throws ConfigError for any other layout.
  Eigen::VectorXf SaveState() const;
  void RestoreState(std::span<const float> state);
  static constexpr Eigen::Index kStateSize = 2;

 private:
  DpFedAvgOptions options_;
  uint64_t noise_seed_;
  double delta_;
  double update_multiplier_;  // z_Δ
  double count_stddev_;       // σ_b (0 without adaptive clipping)
  double clip_;
  privacy::RdpAccountant accountant_;
};

}  // namespace edgefl::algorithms
