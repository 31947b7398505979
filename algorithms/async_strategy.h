// The server part of an asynchronous federated algorithm. Where a sync
// Strategy configures a cohort and aggregates a round, an AsyncStrategy
// configures one idle client at a time (from the model version current at
// its dispatch) and folds each returned update into the global model when it
// arrives, possibly buffering several before the model changes. The async
// engine (sim/async_engine.h) calls it the same way for simulated
// and remote clients.
//
// Thread-safety: used by one engine at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include <Eigen/Core>

#include "algorithms/client_info.h"
#include "algorithms/secure_aggregation.h"
#include "train/fit.h"

namespace edgefl::algorithms {

// What the strategy makes of one arrival.
struct ArrivalOutcome {
  // The next global model, or nullopt when the update was only buffered.
  std::optional<Eigen::VectorXf> parameters;
  // Figures for the log of the version this arrival completes, e.g.
  // "update_norm", "buffered".
  std::map<std::string, double> metrics;
};

class AsyncStrategy {
 public:
  virtual ~AsyncStrategy() = default;
  virtual std::string name() const = 0;

  // Instructions for `client`, starting from global version `version`.
  // `task` counts the client's tasks from 1 (it seeds the data order).
  // `fleet` is every client the engine knows, with its measured speed
  // (ClientInfo::samples_per_second), for speed-dependent work (DyLU).
  virtual train::FitInstructions ConfigureFit(int64_t version, const ClientInfo& client,
                                              int64_t task, std::span<const ClientInfo> fleet) = 0;

  // Folds in `result`, trained from `base` (the parameters of version
  // result.base_version); `global` is the current model and `staleness` the
  // number of versions made since `base`. The result is finite and of the
  // right size (the engine checks).
  virtual ArrivalOutcome OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                                   const train::FitResult& result, int64_t staleness) = 0;

  // Server state (momentum, buffers) as one flat vector; RestoreState
  // (SaveState()) reproduces the strategy. Empty when stateless.
  virtual Eigen::VectorXf SaveState() const { return {}; }
  virtual void RestoreState(const Eigen::VectorXf& /*state*/) {}

  // Whether the run's privacy budget is spent once model version `version`
  // is made: the text to end the run with (a "budget_spent" event), or
  // nullopt to go on (as Strategy::BudgetSpentAfter).
  virtual std::optional<std::string> BudgetSpentAfter(int64_t /*version*/) const {
    return std::nullopt;
  }

  // Secure aggregation (buffered asynchronous FedBuff only): its options, or
  // nullptr when updates arrive in the clear. With it the loop never calls
  // OnArrival: an arrival is a client's "ready" report (its update kept for
  // the stages), cohort_size() ready reports make a cohort, each member is
  // told CohortScale(its staleness) when the cohort forms, and the unmasked
  // sum goes to OnSecureCohort.
  virtual const SecureAggregationOptions* secure_aggregation() const { return nullptr; }
  virtual int64_t cohort_size() const { return 1; }
  virtual double CohortScale(int64_t /*staleness*/) const { return 1.0; }
  // The server step on a cohort's unmasked sum: `mean` is the cohort's mean
  // scaled update (Σ s_i·Δ_i over the contributors, divided by their weight;
  // secure_aggregation.h), `global` the current model.
  virtual ArrivalOutcome OnSecureCohort(const Eigen::VectorXf& /*global*/,
                                        const Eigen::VectorXf& /*mean*/) {
    return {};
  }
};

}  // namespace edgefl::algorithms
