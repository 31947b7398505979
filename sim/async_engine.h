// The asynchronous federation loop over ClientProxy, on a virtual clock.
// Every idle, available client is sent the current global model at once;
// each returned update is handed to the AsyncStrategy when it arrives (in
// virtual time), and the staleness of each update (global versions made
// since its base) is recorded. Idle clients are re-dispatched after all
// events of the same instant are processed, so simultaneous arrivals are
// applied before anyone is given the next model.
//
// Timing comes from the simulated Fleet (heterogeneity.h): a task's virtual
// duration is planned samples / speed + 2 × model bytes / bandwidth, known
// when it is sent. Real training runs on the proxies (a thread pool in
// simulation) while the engine takes results strictly in order of virtual
// arrival (then client index), never host completion order, and each task
// trains from the model current at its virtual dispatch. So a run is
// bit-identical for a given seed whatever the host's load or thread count.
// A task the fleet drops (dropout, or the client going off-line before it
// would finish) is not trained; it becomes a dropped update at that time.
//
// Secure aggregation (FedBuff with secure_aggregation = true; AsyncFold): a
// client whose update arrived is held (not given another task) until its
// cohort's secure round is over. When the K-th ready report arrives the
// cohort's stages run in-process (algorithms::SecureAggregateCohort, each
// member scaled by its staleness weight, secagg_stage_dropout's simulated
// drop-outs) and take virtual time: the slowest member's stage bytes over
// its link plus the modelled client compute, then the server's
// (kSecAggSecondsPer*); the new version (or the failed cohort) is made at
// that time, and the members are free again.
//
// Thread-safety: one engine per run, driven from one thread.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/async_strategy.h"
#include "engine/async_fold.h"
#include "engine/async_update.h"
#include "engine/client_proxy.h"
#include "sim/heterogeneity.h"
#include "sim/virtual_clock.h"

namespace edgefl::sim {

struct AsyncOptions {
  int64_t model_bytes = 0;  // size of the model on the link, for the bandwidth term
};

class AsyncEngine final : public engine::AsyncUpdates {
 public:
  // `clients[k]` is fleet client k; both must outlive the engine. Clients'
  // info().samples_per_second is the speed the strategy sees (DyLU).
  // Starts at `start` (a resumed run: its next version is start.version + 1,
  // the clock continues from start.clock, each client's task count from
  // start.client_tasks; nothing is in flight). Throws ConfigError for an
  // empty model or a fleet of another size.
  AsyncEngine(algorithms::AsyncStrategy& strategy, Fleet& fleet,
              std::vector<engine::ClientProxy*> clients, AsyncOptions options,
              engine::AsyncStart start);
  // A new run: version 0 is `initial`, the clock starts at 0.
  AsyncEngine(algorithms::AsyncStrategy& strategy, Fleet& fleet,
              std::vector<engine::ClientProxy*> clients, AsyncOptions options,
              Eigen::VectorXf initial);
  // Waits for the tasks still training (they use the proxies).
  ~AsyncEngine();
  AsyncEngine(const AsyncEngine&) = delete;
  AsyncEngine& operator=(const AsyncEngine&) = delete;

  // Advances the clock until the strategy makes the next global model.
  // nullopt when nothing can happen any more (no task in flight and no
  // client ever available again).
  std::optional<engine::AsyncUpdate> NextUpdate() override;

  const Eigen::VectorXf& global() const override { return *fold_.global(); }
  int64_t model_version() const override { return fold_.version(); }
  std::string stop_reason() const override;
  double now() const { return clock_.now(); }
  // Tasks sent to client k over the run (a resumed run's count included).
  int64_t tasks(size_t client) const { return tasks_.at(client); }

 private:
  struct Task {
    size_t client = 0;
    int64_t number = 0;  // the client's task count
    engine::SharedParameters base;
    int64_t base_version = 0;
    std::future<train::FitResult> result;  // invalid when the task is lost
    std::string lost_reason;
  };
  struct Event {
    enum class Kind { kArrival, kWake, kCohort } kind = Kind::kArrival;
    size_t client = 0;  // kCohort: the cohort's number
  };
  // A secure cohort whose stages are running on the clock.
  struct Cohort {
    std::vector<engine::AsyncFold::CohortMember> members;
    std::vector<size_t> clients;         // fleet indices of the members
    engine::SharedParameters formed_on;  // the global model its sum was taken against
    algorithms::SecureAggregationResult result;
  };

  void DispatchIdle();
  void Dispatch(size_t client);
  void Arrive(size_t client);
  // Forms a cohort if K are ready: runs its stages, schedules its end.
  void MaybeFormCohort();
  void FinishCohort(size_t number);

  Fleet& fleet_;
  std::vector<engine::ClientProxy*> clients_;
  AsyncOptions options_;
  engine::AsyncFold fold_;  // the model, its version and the update being built
  VirtualClock<Event> clock_;
  std::vector<std::optional<Task>> running_;  // per client
  std::vector<bool> wake_pending_;
  std::vector<int64_t> tasks_;
  std::vector<bool> held_;            // ready, waiting for (or in) its secure cohort
  std::map<size_t, Cohort> cohorts_;  // by number
  int64_t cohort_count_ = 0;          // cohorts formed (their SecAgg round numbers)
  bool started_ = false;
  // FedBR's pool, asked of every client at the first task that needs it
  // (engine/pseudo_data_pool.h), as the synchronous engine does.
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data_;
};

}  // namespace edgefl::sim
