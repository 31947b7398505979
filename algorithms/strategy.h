// The server part of a federated algorithm, in the manner of Flower's
// Strategy: it decides what each selected client does in a round and how
// the results become the next global model. Strategies never see sockets,
// threads or SQLite; the round engine (engine/round_engine.h) calls
// them the same way for TLS clients and simulated ones.
//
// Thread-safety: a strategy is used by one round engine at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/client_info.h"
#include "algorithms/secure_aggregation.h"
#include "datasets/dataset.h"
#include "train/fit.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {

struct AggregateOutcome {
  // The new global parameters; nullopt keeps the current model (e.g. no
  // usable result this round).
  std::optional<Eigen::VectorXf> parameters;
  // Results the strategy refused (robust aggregation), with reasons; the
  // engine records them as rejected updates.
  std::vector<train::FitFailure> rejected;
  // Strategy-specific figures for the round log (e.g. "update_norm").
  std::map<std::string, double> metrics;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  // The name it is registered under, e.g. "fedavgm".
  virtual std::string name() const = 0;

  // Instructions for each client of `cohort` in round `round` (rounds count
  // from 1; round 0 is the initial model), one per cohort entry, in order.
  virtual std::vector<train::FitInstructions> ConfigureFit(int64_t round,
                                                           std::span<const ClientInfo> cohort) = 0;

  // ConfigureFit with the current global model, for instructions that carry
  // parameters of their own (DiPaCo: each client's path, gathered from the
  // module grid). The round engine calls this one; by default it is
  // ConfigureFit.
  virtual std::vector<train::FitInstructions> ConfigureFitFrom(int64_t round,
                                                               std::span<const ClientInfo> cohort,
                                                               const Eigen::VectorXf& /*global*/) {
    return ConfigureFit(round, cohort);
  }

  // The next global model from this round's results. `results` hold only
  // finite updates of the right size (the engine rejects the others before
  // this call, always: the global's, or their start_parameters' size); `failures` are the dropped
  // and rejected clients.
  virtual AggregateOutcome AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                        std::span<const train::FitResult> results,
                                        std::span<const train::FitFailure> failures) = 0;

  // Whether the run's budget is spent once round `round` is aggregated
  // (e.g. QSR's total local steps): then the runner evaluates that round,
  // records the returned text as a "budget_spent" event and ends the run as
  // completed, even before the config's rounds. nullopt: go on. A function
  // of the round, so a resumed run ends where the first would have.
  virtual std::optional<std::string> BudgetSpentAfter(int64_t /*round*/) { return std::nullopt; }

  // Whether the strategy's guarantee assumes each round's cohort is a
  // uniform sample of the clients (DP's accountant): the engine then refuses
  // any selector but "uniform".
  virtual bool NeedsUniformSampling() const { return false; }

  // The global model of round 0, from the run's model initialised with the
  // run seed. Default: that vector. A strategy whose global model is not one
  // model of the run's spec (DiPaCo: the module grid) builds it here.
  virtual Eigen::VectorXf InitialGlobal(const Eigen::VectorXf& model_initial) {
    return model_initial;
  }

  // Whether Prepare needs the training split: the runner then calls
  // Prepare(train) once before round 1 (on resume too), in the simulator
  // and the daemon alike. DiPaCo learns its router from it.
  virtual bool WantsTrainingData() const { return false; }
  virtual void Prepare(const datasets::Dataset& /*train*/) {}

  // The global model's loss and accuracy on `test` when the runner cannot
  // evaluate it as one model of the run's spec (DiPaCo: every sample
  // through the path its router picks). nullopt: the runner's evaluation.
  virtual std::optional<train::EvalResult> EvaluateGlobal(const Eigen::VectorXf& /*global*/,
                                                          const datasets::Dataset& /*test*/) {
    return std::nullopt;
  }

  // Server state that must survive a restart (momentum, Adam moments), as
  // one flat vector; empty when stateless. RestoreState(SaveState()) must
  // reproduce the strategy exactly. Throws ConfigError on a size mismatch.
  virtual Eigen::VectorXf SaveState() const { return {}; }
  virtual void RestoreState(const Eigen::VectorXf& /*state*/) {}

  // When the round's updates are to be summed by secure aggregation
  // (secure_aggregation.h): its options; the round engine then hands
  // AggregateFit the single unmasked mean instead of the results. nullptr:
  // plain aggregation (the default).
  virtual const SecureAggregationOptions* secure_aggregation() const { return nullptr; }
};

}  // namespace edgefl::algorithms
