// Speed-aware selection for synchronous rounds with stragglers: prefer
// clients expected to finish by a target time, keep a fairness floor so
// slow clients still take part, and over-commit (select more than needed,
// the engine keeps the first clients_per_round to finish; see
// engine/round_engine.h).
//
// A client's expected time is client::PlannedSamples(recipe, num_samples) /
// samples_per_second (unknown speed: on time). With m = min(n,
// ceil(overcommit · k)) clients to pick:
//   - round(fairness · m) of them come from the clients expected to be late
//     (over `target`), those with the fewest completed rounds first, ties in
//     random order;
//   - the rest uniformly at random from the on-time clients, topped up with
//     the fastest late ones if there are too few.
// `target` is the round deadline when one is set, else the median expected
// time of the candidates. Under a hard deadline the late picks are cut
// unless they finish; the floor still gives each of them a chance every
// round, and their completed rounds raise their priority no further.
#pragma once

#include "algorithms/client_selector.h"
#include "train/train_recipe.h"

namespace edgefl::algorithms {

struct SpeedAwareOptions {
  double overcommit = 1.3;    // >= 1
  double fairness = 0.1;      // share of the cohort from late clients, in [0, 1]
  double target = 0.0;        // seconds; 0 = the median expected time
  train::TrainRecipe recipe;  // the round's work, for the expected time
};

class SpeedAwareSelector final : public ClientSelector {
 public:
  explicit SpeedAwareSelector(SpeedAwareOptions options);  // ConfigError for a bad option
  std::string name() const override { return "speed_aware"; }
  std::vector<size_t> Select(int64_t round, std::span<const ClientInfo> candidates, size_t k,
                             Rng& rng) override;

  // Expected seconds of `client`'s task (0 when its speed is unknown).
  double ExpectedSeconds(const ClientInfo& client) const;

 private:
  SpeedAwareOptions options_;
};

}  // namespace edgefl::algorithms
