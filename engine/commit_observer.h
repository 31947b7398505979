// What the experiment loops tell an observer after each durable commit:
// one sync round or one async model version (the daemon's metrics,
// coordinator/metrics.h). The observer is called on the loop's thread after
// the commit returned; it must not throw.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "train/fit.h"

namespace edgefl::engine {

struct CommittedRound {
  int64_t round = 0;                        // the round, or the async model version
  double seconds = 0.0;                     // host seconds: sync, the round's fan-out and
                                            // aggregation (RoundReport::seconds); async,
                                            // since the previous version's commit
  double commit_seconds = 0.0;              // host seconds of the log's commit transaction
  int64_t accepted = 0;                     // updates aggregated into the model
  int64_t discarded = 0;                    // usable updates of a round that kept its model
  std::vector<train::FitFailure> failures;  // dropped and rejected, with reasons
};

using CommitObserver = std::function<void(const CommittedRound&)>;

}  // namespace edgefl::engine
