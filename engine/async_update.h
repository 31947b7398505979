// What an asynchronous federation loop hands its runner: one new global
// model version at a time (AsyncUpdate), from a source the runner drives
// (AsyncUpdates): the virtual-clock AsyncEngine of the simulation or the
// host-clock HostAsyncEngine of edgefl-coordinator.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "train/fit.h"

namespace edgefl::engine {

// One new global model version and what led to it since the previous one.
struct AsyncUpdate {
  int64_t model_version = 0;
  double virtual_time = 0.0;                // seconds on the loop's clock when it was made
  double host_seconds = 0.0;                // host time since the previous version
  int64_t dispatched = 0;                   // tasks sent since the previous version
  std::vector<train::FitResult> results;    // folded in, in arrival order
  std::vector<int64_t> staleness;           // one per result
  std::vector<train::FitFailure> failures;  // dropped and rejected
  double train_loss = 0.0;  // sample-weighted mean local loss of `results`; NaN if none
  std::map<std::string, double> metrics;  // from the strategy
  // The model of this version and the strategy's state right after it
  // (SaveState): several versions can be made before the runner takes the
  // first (simultaneous arrivals), so the loop's current model may be newer.
  std::shared_ptr<const Eigen::VectorXf> parameters;
  Eigen::VectorXf strategy_state;
  // FedBR's shared pseudo-data pool the loop trains against, once built
  // (null before, or for another objective): the runner stores it once.
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data;
};

// Where a loop starts: version 0 and the initial model of a new run, or the
// last committed version of a resumed run (its checkpoint), so the loop's
// next version is `version` + 1. Tasks in flight when the run stopped are
// not in it: they are lost, and their clients start again from this model.
struct AsyncStart {
  Eigen::VectorXf parameters;  // the model of `version`
  int64_t version = 0;
  double clock = 0.0;      // the loop's clock at `version` (the last version's virtual_time)
  int64_t tasks_sent = 0;  // tasks sent over the run before `version` was made (Σ selected)
  // Tasks per client id that the log accounts for (its update rows): a
  // client's task count, which seeds its data order, continues from here.
  std::map<std::string, int64_t> client_tasks;
  // A resumed run's FedBR pool (from the log); null = build one when needed.
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data;
};

// A loop that makes model versions. Driven from one thread.
class AsyncUpdates {
 public:
  virtual ~AsyncUpdates() = default;
  // Runs until the strategy makes the next global model; nullopt when the
  // loop cannot go on (stop_reason() says why).
  virtual std::optional<AsyncUpdate> NextUpdate() = 0;
  virtual const Eigen::VectorXf& global() const = 0;
  virtual int64_t model_version() const = 0;
  // Why NextUpdate returned nullopt, for the run's log.
  virtual std::string stop_reason() const = 0;
};

}  // namespace edgefl::engine
