// Oort's training participant selector (Lai et al., "Oort: Efficient
// Federated Learning via Guided Participant Selection", OSDI 2021), after
// the authors' code: SymbioticLab/Oort oort/oort.py, _training_selector
// (getTopK, pacer, get_blacklist, get_norm, update_client_util), with the
// defaults of training/argParser.py. docs/algorithms.md lists the keys and
// where this differs from the code.
//
// Each client is an arm: a reward (statistical utility), a duration, the
// round it last took part in (time stamp) and how often it took part.
//   - A client is registered the first time it is a candidate, unexplored,
//     with reward min(num_samples, PlannedSamples(recipe)) (its data size,
//     capped at a round's work, as the code's min(size, upload_epoch·batch))
//     and duration PlannedSamples / samples_per_second (0: unknown speed).
//   - After a round (Observe) a member that delivered an update gets reward
//     OortStatisticalUtility(result), its task's duration, time stamp =
//     round, count + 1. A member that did not (cut by the deadline or the
//     over-commit, dropped, rejected) is treated as the code treats its
//     over-committed workers: reward = the mean utility of the round's
//     completed members (kept if none completed), its duration when known,
//     time stamp = round, count + 1.
//
// Select(t, candidates, k), over the candidates not blacklisted:
//   1. Pacer: the mean reward of last round's exploited clients that
//      reported is appended to a history; at t ≥ 2W with t mod W = 0 (W =
//      pacer_step), with U_prev, U_cur the sums over the two last windows
//      of W: |U_cur − U_prev| ≤ 0.1·U_prev → round_threshold += δ (at most
//      100); ≥ 5·U_prev → round_threshold −= δ (at least δ).
//   2. Preferred duration T: the round_threshold percentile of all arms'
//      durations (infinite at 100).
//   3. Score of an explored arm: (min(r, clip) − r_min)/range +
//      sqrt(0.1·ln t / time_stamp), with clip the clip_bound quantile of
//      the candidates' positive rewards, r_min 0.999 × their minimum and
//      range = max(max − r_min, 1e-4); × (T/duration)^round_penalty when
//      duration > T.
//   4. ε ← max(ε·exploration_decay, ε_min). Exploit E = min(⌊K(1 − ε)⌋,
//      #explored) of K = min(#candidates, ⌈overcommit·k⌉): from the explored
//      arms scoring ≥ cut_off_util × the score ranked E (0-based), draw E
//      without replacement with probability ∝ score.
//   5. Explore: the unexplored candidates, initial reward × the same
//      duration penalty, keep the top ⌊sample_window·X⌋ for X = min(#them,
//      K − E), draw X ∝ reward. With no unexplored arm left, ε and ε_min
//      become 0 (the code's rule).
//   6. Fill up to K uniformly from the candidates not yet picked.
//
// Deterministic given the Rng passed to Select. SaveState/RestoreState
// carry every arm, the registration order, ε, ε_min, the pacer's threshold
// and history, T and the last round's exploited/explored/successful
// clients (doubles written exactly, as hex floats), so a run resumed from a
// checkpoint selects as the uninterrupted run. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "algorithms/client_selector.h"
#include "train/local_trainer.h"
#include "train/train_recipe.h"

namespace edgefl::algorithms {

// Oort's statistical utility of a completed task: |B|·sqrt(mean_k loss(k)²)
// with |B| = min(num_samples, samples_processed) and the mean squared
// per-sample loss loss_sq_before (measured in the simulator and by
// edgefl-client, sent in TrainResult since protocol version 2); when that
// was not measured (NaN: measure_loss off) loss_before², else train_loss².
double OortStatisticalUtility(const train::LocalTrainResult& result);

struct OortOptions {
  double exploration_factor = 0.9;  // ε at the start, in [0, 1]
  double exploration_decay = 0.95;  // ε ← max(ε·decay, ε_min) at each selection, in [0, 1]
  double exploration_min = 0.2;     // ε_min, in [0, 1]
  double round_threshold = 10.0;    // percentile of durations giving T, in [0, 100]
  double round_penalty = 2.0;       // α of (T/t)^α, in [0, 100]
  int64_t pacer_step = 20;          // W, rounds per pacer window, >= 1
  double pacer_delta = 5.0;         // δ, percentile points, in [0, 100]
  double sample_window = 5.0;       // explore pool = sample_window × slots, >= 1
  double clip_bound = 0.98;         // quantile of rewards that clips them, in [0, 1]
  double cut_off_util = 0.7;        // exploit pool: score >= cut_off_util × the E-th, in [0, 1]
  int64_t blacklist_rounds = -1;    // leave out clients with more rounds; -1 = off
  double blacklist_max_len = 0.3;   // at most this share of the clients left out, in [0, 1]
  double overcommit = 1.0;          // select ⌈overcommit·k⌉, >= 1
  train::TrainRecipe recipe;        // the round's work: |B| cap and expected durations

  // Throws ConfigError naming the first invalid field.
  void Validate() const;
};

class OortSelector final : public ClientSelector {
 public:
  explicit OortSelector(OortOptions options);  // ConfigError for a bad option

  std::string name() const override { return "oort"; }
  std::vector<size_t> Select(int64_t round, std::span<const ClientInfo> candidates, size_t k,
                             Rng& rng) override;
  void Observe(int64_t round, std::span<const CohortOutcome> cohort) override;
  std::string SaveState() const override;
  void RestoreState(const std::string& state) override;

  // For logs and tests: the state after the last Select / Observe.
  double exploration() const { return exploration_; }
  double round_threshold() const { return round_threshold_; }
  double preferred_duration() const { return preferred_duration_; }  // T
  // Scores of the explored candidates at the last Select.
  const std::map<train::ClientId, double>& last_scores() const { return last_scores_; }
  const std::vector<train::ClientId>& last_exploited() const { return exploit_clients_; }
  const std::vector<train::ClientId>& last_explored() const { return explore_clients_; }
  // The arm's reward and duration; NaN for a client never registered.
  double reward(const train::ClientId& id) const;
  double duration(const train::ClientId& id) const;

 private:
  struct Arm {
    double reward = 0.0;
    double duration = 0.0;
    int64_t time_stamp = 0;
    int64_t count = 0;
  };

  void Register(const ClientInfo& client);
  std::set<train::ClientId> Blacklist() const;
  void Pace(int64_t t);
  double MeanReward(const std::vector<train::ClientId>& clients) const;
  double Penalty(double duration) const;

  OortOptions options_;
  std::map<train::ClientId, Arm> arms_;
  std::vector<train::ClientId> registered_;  // registration order (the code's OrderedDict)
  double exploration_;
  double exploration_min_;
  double round_threshold_;
  double preferred_duration_;
  std::deque<double> exploit_history_;  // the pacer's last 2W window utilities
  std::vector<train::ClientId> exploit_clients_, explore_clients_;
  std::set<train::ClientId> successful_;  // reported since the last Select
  std::map<train::ClientId, double> last_scores_;
};

}  // namespace edgefl::algorithms
