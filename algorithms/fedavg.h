// The FedAvg family in one strategy (McMahan et al. 2017; FedAvgM, Hsu et
// al. 2019; FedAdam / FedYogi, Reddi et al. 2021), parameterised by
//   - the aggregator: sample-weighted mean, coordinate-wise median, trimmed
//     mean, or norm clipping of the updates followed by the weighted mean
//     (aggregate.h); centered clipping of the updates (centered_clip.h);
//     Multi-Krum (multi_krum.h); optionally bucketing (bucketing.h) or
//     nearest-neighbour mixing (nearest_neighbor_mixing.h) before the rule;
//   - the server optimizer applied to the aggregate (server_optimizer.h);
//   - the client recipe template: a TrainRecipe and LocalAlgorithm copied
//     into every client's instructions, with the learning rate of the
//     round's schedule (train/lr_schedule.h), the global step the round
//     starts at, and a per-client, per-round seed;
//   - optionally QSR (qsr.h): the schedule then runs on global steps and
//     travels in the recipe (the clients follow it step by step), H is
//     recomputed at every averaging from the learning rate at that step, and
//     the run ends when qsr_total_steps local steps are spent.
// Client-side algorithms (FedBR, WAFL, Delta-SGD, curriculum data order) are
// this strategy with a different LocalAlgorithm.
//
// Thread-safety: used by one round engine at a time (see strategy.h).
#pragma once

#include <optional>
#include <string>

#include "algorithms/aggregate.h"
#include "algorithms/centered_clip.h"
#include "algorithms/dp_fedavg.h"
#include "algorithms/qsr.h"
#include "algorithms/server_optimizer.h"
#include "algorithms/strategy.h"
#include "train/lr_schedule.h"

namespace edgefl::algorithms {

enum class AggregatorKind { kMean, kMedian, kTrimmedMean, kNormClip, kCenteredClip, kMultiKrum };

// Parses "mean", "median", "trimmed_mean", "norm_clip", "centered_clip",
// "multi_krum";
// ConfigError naming `key` and the accepted values otherwise.
AggregatorKind ParseAggregator(const std::string& name, const std::string& key = "aggregator");
std::string AggregatorName(AggregatorKind kind);

struct FedAvgOptions {
  std::string name = "fedavg";  // what name() reports
  AggregatorKind aggregator = AggregatorKind::kMean;
  double trim_fraction = 0.1;  // kTrimmedMean: β per side, in [0, 0.5)
  NormClipOptions clip;        // kNormClip
  // kCenteredClip: applied to the updates w_k − w from the center v = the
  // previous round's aggregate update (0 in the first round).
  CenteredClipOptions centered_clip;
  // kMultiKrum: f, the Byzantine clients of a round's cohort to tolerate
  // (>= 1), and m, the inputs averaged (0 = n − f of the round's n inputs;
  // capped at n). The updates the round engine rejected (NaN, wrong size)
  // are Byzantine clients caught already: the rule uses f minus their count
  // (metric "krum_f"). A round with n < 2f + 3 inputs keeps the model (Krum
  // has no neighbour set) and says so in the metric "krum_too_few" = 1.
  size_t krum_byzantine = 1;
  size_t krum_keep = 0;
  // > 1: the median, trimmed mean, centered clipping or Multi-Krum is applied to the
  // means of buckets of this many clients, shuffled per round with
  // Rng::Derive(seed, {bucket stream, round}) (Karimireddy et al. 2022).
  // 1 = no bucketing. Not with mean or norm_clip.
  size_t bucket_size = 1;
  // > 0: nearest-neighbour mixing with this f (Allouah et al. 2023) before
  // the median, trimmed mean, norm clipping, centered clipping or
  // Multi-Krum: the rule sees y_i, the mean of the n − f results nearest to
  // result i, with result i's weight. f is lowered by the engine's
  // rejections as for Multi-Krum (metric "nnm_f"). A round with n <= 2f
  // results keeps the model and logs "nnm_too_few" = 1. 0 = off. Not with
  // bucketing.
  size_t nnm_byzantine = 0;
  ServerOptimizerConfig server;
  // Copied into every client's instructions. Its optimizer.learning_rate is
  // replaced by the schedule's, its seed by the client's seed, its
  // step_offset by the local steps of the earlier rounds.
  train::TrainRecipe recipe;
  train::LocalAlgorithm local;
  // base is taken from recipe.optimizer.learning_rate when the strategy is
  // built (the schedule's own base is ignored). Without QSR it is indexed by
  // round (round r has t = r − 1, one learning rate for the whole round);
  // with QSR by global step, and its cosine horizon is qsr.total_steps.
  train::LrSchedule lr_schedule;
  // QSR (Gu et al. 2024, hmgxr128/QSR localopt.py adjust_h): round r starts
  // at global step S_r (S_1 = 0) and runs H_r = QsrLocalSteps(qsr,
  // lr_schedule.ValueAt(S_r), qsr.total_steps − S_r, InWarmup(S_r)) local
  // steps, with the learning rate of each step from the schedule;
  // S_{r+1} = S_r + H_r. With qsr.alpha = 0 it is Local SGD with a constant
  // H = qsr.base_steps on the same per-step schedule and budget.
  std::optional<QsrOptions> qsr;
  // DP-FedAvg (dp_fedavg.h): replaces the weighted mean by the clipped,
  // noised, fixed-denominator mean; only with aggregator = mean and no
  // bucketing.
  std::optional<DpFedAvgOptions> dp;
  // Secure aggregation (secure_aggregation.h): only with aggregator = mean,
  // no bucketing and no DP (the registry refuses the others by name).
  std::optional<SecureAggregationOptions> secure_aggregation;
  uint64_t seed = 0;  // the run seed
};

class FedAvg final : public Strategy {
 public:
  // Throws ConfigError naming the first invalid option.
  explicit FedAvg(FedAvgOptions options);

  std::string name() const override { return options_.name; }

  // One instruction per cohort entry: the recipe template with the round's
  // learning rate (with QSR: the per-step schedule, the round's H and the
  // learning rate at its first step), step_offset (QSR: S_r; fixed
  // local_steps: (r − 1)·local_steps; epochs: (r − 1)·epochs·⌈n_k/B⌉ with
  // the client's reported n_k), the LocalAlgorithm, model_version = round
  // (the engine may overwrite it), and seed = ClientSeed(seed, round, id).
  // With QSR, throws Error for a round after the one that spent the budget.
  std::vector<train::FitInstructions> ConfigureFit(int64_t round,
                                                   std::span<const ClientInfo> cohort) override;

  // Weights p_k ∝ train.num_samples (uniform if they are all 0). Results
  // whose size differs from `global` are rejected with a reason. No results:
  // parameters = nullopt. Metrics: "num_results", "update_norm" (‖w' − w‖),
  // "client_lr" (with QSR: at the round's first step), "local_steps" and
  // "global_step" (S_r + H_r, with QSR), "clip_bound" and "num_clipped"
  // (norm_clip), "num_clipped" (centered_clip: in its last iteration),
  // "num_selected" (multi_krum: m), "num_buckets" (bucket_size > 1).
  // Without bucketing or mixing, the updates Multi-Krum leaves out are
  // returned as rejected, with their score and rank: the log then names the
  // updates the model was made of.
  AggregateOutcome AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                std::span<const train::FitResult> results,
                                std::span<const train::FitFailure> failures) override;

  // With QSR and a budget: the text "QSR step budget of N local steps spent
  // after round r" once S_r + H_r reaches it; with DP and a target ε, the
  // text once another round would exceed it; nullopt otherwise.
  std::optional<std::string> BudgetSpentAfter(int64_t round) override;
  bool NeedsUniformSampling() const override { return dp_.has_value(); }

  // The server optimizer's state (see ServerOptimizer::SaveState), then,
  // with centered_clip, the center (P values) once a round has set it; with
  // DP, DpFedAvg's state (its last two values). QSR
  // and the schedule are functions of the round, so they need no state.
  // RestoreState throws ConfigError when the layout does not fit.
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

  const SecureAggregationOptions* secure_aggregation() const override {
    return options_.secure_aggregation ? &*options_.secure_aggregation : nullptr;
  }

  // Local steps QSR assigns to round r (recipe.local_steps without QSR); 0
  // when the budget was spent before round r.
  int64_t LocalStepsAt(int64_t round);
  // With QSR, S_r: the global step at which round r starts.
  int64_t QsrStartAt(int64_t round);
  const FedAvgOptions& options() const { return options_; }

 private:
  FedAvgOptions options_;
  ServerOptimizer optimizer_;
  // Memo of QSR's periods, deterministic in the round: S_r and H_r of
  // rounds 1, 2, ... at index r − 1.
  std::vector<int64_t> qsr_starts_;
  std::vector<int64_t> qsr_steps_;
  void ExtendQsr(int64_t round);
  std::optional<DpFedAvg> dp_;
  // kCenteredClip: the previous round's aggregate update (the center of the
  // next round; empty = 0), in SaveState.
  Eigen::VectorXf cc_center_;
};

// The recipe seed of `client` in `round`: Rng::Derive(run_seed, {stream,
// round, FNV-1a hash of the id}).Next(). Stable across cohorts and restarts:
// it depends on who the client is, not on its position in the cohort.
uint64_t ClientSeed(uint64_t run_seed, int64_t round, const train::ClientId& client);

}  // namespace edgefl::algorithms
