// The synchronous round engine shared by the simulator and the TLS
// coordinator. One round reads like Flower's fit_round: select a cohort,
// configure it through the strategy, fan out Fit calls, sort results from
// failures (rejecting non-finite or mis-sized updates, always), aggregate,
// and report. It knows clients only as ClientProxy, so the same code runs
// in-process simulated clients and remote TLS clients. Recording the report
// (SQLite) and evaluating the model are the caller's.
//
// Thread-safety: one engine per run, driven from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "algorithms/client_selector.h"
#include "algorithms/strategy.h"
#include "engine/client_proxy.h"

namespace edgefl::engine {

struct RoundOptions {
  // Cohort size per round (the selector may return fewer).
  size_t clients_per_round = 10;
  // Longest a round waits for its cohort (host time); zero waits for all.
  std::chrono::milliseconds deadline{0};
  // Fraction of the cohort that must report by the deadline for the model
  // to be updated, in (0, 1]. Below it the round fails: the model is kept.
  double quorum = 1.0;
  // Count the quorum in samples instead of clients: the usable updates'
  // num_samples against quorum × the dataset sizes the cohort members
  // reported (ClientInfo::num_samples, Hello's dataset_size). A root of edge
  // aggregators uses it, each member standing for a group of its own size
  // (docs/edge-aggregators.md). With no size reported, clients are counted.
  bool quorum_by_samples = false;
  // Seeds the selector's stream for each round: Rng::Derive(seed, {round}).
  uint64_t seed = 1;

  // Simulation: the virtual seconds a cohort member's task takes (round,
  // client, its instructions), or nullopt when the client drops the task.
  // When set, tasks are timed on a virtual clock before anything is sent:
  // a dropped task and one longer than `virtual_deadline` (> 0) are
  // recorded as dropped without training, and if the selector over-committed
  // (returned more than clients_per_round) only the first clients_per_round
  // to finish are trained and the rest are dropped. The quorum counts
  // against min(cohort, clients_per_round).
  std::function<std::optional<double>(int64_t, const algorithms::ClientInfo&,
                                      const train::FitInstructions&)>
      virtual_seconds;
  double virtual_deadline = 0.0;  // 0 = none
  // Simulation, with virtual_seconds: a client's availability at virtual
  // time t as {the earliest time >= t it is on (infinity: never again), the
  // end of that on period}. Unset: always on. Only clients on at the
  // round's start are candidates (with nobody on, the clock first moves to
  // the earliest return); a task that would end after its client goes off
  // is dropped ("went off-line"). The clock advances by each round's
  // virtual_seconds.
  std::function<std::pair<double, double>(const algorithms::ClientInfo&, double)> availability;
  // Simulation, with virtual_seconds: the virtual seconds a client needs to
  // move `bytes` over its link; secure aggregation's stages
  // (Strategy::secure_aggregation) are then added to the round's length.
  std::function<double(int64_t bytes)> transfer_seconds;
};

struct RoundReport {
  int64_t round = 0;
  int64_t model_version = 0;  // version after this round
  std::vector<train::ClientId> selected;
  std::vector<train::FitResult> results;    // accepted, in cohort order
  std::vector<train::FitFailure> failures;  // dropped and rejected
  bool model_updated = false;
  // Why the model was kept when !model_updated: "quorum not reached: 2 of 3
  // needed usable updates", "no usable update", "the strategy kept the
  // model". Empty when it was updated.
  std::string outcome;
  double train_loss = 0.0;  // sample-weighted mean of the clients' mean step loss
  double seconds = 0.0;     // host time of the round
  // Virtual length of the round (with RoundOptions::virtual_seconds): the
  // last kept task's finish, or the deadline when it cut someone.
  std::optional<double> virtual_seconds;
  std::map<std::string, double> metrics;  // from the strategy

  size_t dropped() const;
  size_t rejected() const;
};

class RoundEngine {
 public:
  // Throws ConfigError for invalid options or an empty initial model.
  RoundEngine(algorithms::Strategy& strategy, algorithms::ClientSelector& selector,
              RoundOptions options, Eigen::VectorXf initial, int64_t initial_version = 0);

  // Runs round `round` over the currently available `clients`.
  RoundReport RunRound(int64_t round, std::span<ClientProxy* const> clients);

  const Eigen::VectorXf& global() const { return *global_; }
  SharedParameters shared_global() const { return global_; }
  // The virtual clock at the start of the next round (with virtual_seconds);
  // set it when resuming a run.
  double virtual_now() const { return virtual_now_; }
  void set_virtual_now(double t) { virtual_now_ = t; }
  int64_t model_version() const { return version_; }
  // FedBR's shared pseudo-data pool, once built (null before, or for
  // another objective).
  const std::shared_ptr<const Eigen::MatrixXf>& pseudo_data() const { return pseudo_data_; }
  // Installs the pool a resumed run built before (from the log); the
  // engine then never asks clients for one.
  void set_pseudo_data(std::shared_ptr<const Eigen::MatrixXf> pool) {
    pseudo_data_ = std::move(pool);
  }

 private:
  // Builds FedBR's pool the first time an instruction's objective needs
  // one (algorithms::PseudoDataSpecOf): draws over `clients` sorted by id
  // (the simulator's fleet order), asks each for the means of its groups,
  // assembles. Returns why it failed ("" when there is a pool or none is
  // needed).
  std::string EnsurePseudoData(const std::vector<train::FitInstructions>& instructions,
                               std::span<ClientProxy* const> clients);

  algorithms::Strategy& strategy_;
  algorithms::ClientSelector& selector_;
  RoundOptions options_;
  SharedParameters global_;
  int64_t version_;
  double virtual_now_ = 0.0;
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data_;

  // Runs secure aggregation over report.results: in-process when
  // `parties` is empty (the simulator), else through parties[i] for
  // the i-th result that is not a group sum (remote clients holding their
  // updates). Edge aggregators' group sums (FitResult::group_sum) are moved
  // after the others and take no part in the stages. False (with
  // report.outcome set) when its stages failed, else the unmasked mean is
  // left in secure_sum_ for the strategy (unset when every result was a
  // group sum).
  bool SecureRound(int64_t round, const algorithms::SecureAggregationOptions& options,
                   std::span<algorithms::SecAggParty* const> parties, RoundReport& report);
  std::optional<train::FitResult> secure_sum_;
};

}  // namespace edgefl::engine
