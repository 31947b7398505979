// The bookkeeping both asynchronous loops share: the global model and its
// version, and the AsyncUpdate being built from arrivals. An arrival whose
// future failed is a dropped update, a non-finite or mis-sized one a
// rejected update (with the reason), anything else goes to the strategy
// with its staleness (versions made since its base); when the strategy
// makes a new model, the update is complete and waits in TakeReady().
// The loops decide only when tasks are sent and in which order results are
// taken.
//
// Secure aggregation (AsyncStrategy::secure_aggregation, FedBuff's cohorts):
// an accepted arrival is a "ready" report and waits in the cohort instead of
// going to the strategy; once cohort_full(), the loop takes the cohort, runs
// the SecAgg+ stages with its members (in-process or over their sessions),
// each told CohortScale(its staleness), and hands the outcome to
// FinishCohort: a new version from the strategy's step on the unmasked sum,
// or, when the stages failed, the members' updates recorded as dropped with
// the reason (and the run goes on).
//
// Thread-safety: one loop, one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/async_strategy.h"
#include "engine/async_update.h"
#include "engine/client_proxy.h"

namespace edgefl::engine {

class AsyncFold {
 public:
  // Throws ConfigError for an empty model.
  AsyncFold(algorithms::AsyncStrategy& strategy, Eigen::VectorXf initial, int64_t initial_version);

  const SharedParameters& global() const { return global_; }
  int64_t version() const { return version_; }
  algorithms::AsyncStrategy& strategy() { return strategy_; }

  // A task was sent (counted in the next version's `dispatched`).
  void Dispatched() { ++building_.dispatched; }
  // A task of `client` was lost before it delivered: a dropped update.
  void Lost(const train::ClientId& client, const std::string& reason);
  // Takes the result of `client`'s task trained from `base` (version
  // `base_version`); `clock` is the loop's time now (the version's
  // virtual_time if this arrival makes one). Updates the client's
  // rounds_participated/last_round when the update is accepted. Returns
  // false when the future failed (the client did not deliver). Throws
  // edgefl::Error if the strategy makes a non-finite or mis-sized model.
  // `kept`: the client kept its update for secure aggregation and sent
  // statistics only (a result with no parameters is then expected).
  bool Arrive(ClientProxy& client, std::future<train::FitResult>& result,
              const SharedParameters& base, int64_t base_version, double clock, bool kept = false);

  // A ready report waiting for its secure cohort.
  struct CohortMember {
    ClientProxy* client = nullptr;
    train::FitResult result;  // its statistics (and, in simulation, its parameters)
    SharedParameters base;    // the model it trained from
    int64_t staleness = 0;    // versions made since its base, when it reported
  };
  bool secure() const { return strategy_.secure_aggregation() != nullptr; }
  bool cohort_full() const;
  size_t cohort_waiting() const { return cohort_.size(); }  // ready reports not yet in a cohort
  // The oldest cohort_size() ready reports, each with its staleness now.
  std::vector<CohortMember> TakeCohort();
  // The secure round of `members` is over (`secure`, from
  // RunSecureAggregation over them in order with `formed_on` as its global:
  // its sum is formed_on + the mean, and the strategy steps from the
  // current model, which another cohort may have moved meanwhile). Throws
  // as Arrive.
  void FinishCohort(std::vector<CohortMember> members,
                    const algorithms::SecureAggregationResult& secure,
                    const Eigen::VectorXf& formed_on, double clock);

  // The next completed version, oldest first; nullopt when none is.
  std::optional<AsyncUpdate> TakeReady();
  bool ready() const { return !ready_.empty(); }

 private:
  // Makes the next version from the strategy's outcome (when it has one).
  void Complete(algorithms::ArrivalOutcome outcome, double clock);

  algorithms::AsyncStrategy& strategy_;
  SharedParameters global_;
  int64_t version_;
  AsyncUpdate building_;  // the next version's report so far
  double loss_sum_ = 0.0, loss_weight_ = 0.0;
  double host_mark_ = 0.0;  // host time of the previous version
  std::deque<AsyncUpdate> ready_;
  std::deque<CohortMember> cohort_;  // ready reports, oldest first (secure aggregation)
};

}  // namespace edgefl::engine
