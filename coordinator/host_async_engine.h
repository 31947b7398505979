// The asynchronous federation loop of edgefl-coordinator, on the host
// clock: every idle connected client is sent the current global model at
// once, and results are folded in as they come back, whichever finishes
// first (AsyncFold: staleness, rejected and dropped updates, the strategy).
// Clients are taken from the ClientRegistry continuously: a client that
// joins mid-run gets a task as soon as the loop next looks (every
// `poll`); a client that disconnects (or goes silent) mid-task fails its
// task, which becomes a dropped update with the session's reason, and is
// not given another until it reconnects.
//
// Each task is labelled with a task number, increasing over the run, in
// the session's round field (RemoteClient::SetRound): a client's result
// must answer its latest task. The first tasks wait until min_clients are
// connected. `virtual_time` of an update is host seconds since the loop
// started (plus start.clock: a resumed run's time axis continues, its
// downtime left out).
//
// Resume (AsyncStart of a resumed run): the next version is
// start.version + 1 and task numbers continue after start.tasks_sent, the
// tasks the log accounts for. Numbers of tasks that were in flight when the
// previous coordinator died (never logged) can be given again; that is
// safe because a number only matches a result to the pending task of the
// same session, and every session after a restart is new (a client's
// result for a task of a dead connection is never sent on a new one).
// A requested stop (ClientRegistry::RequestStop, e.g. SIGTERM)
// makes NextUpdate return nullopt; tasks still in flight are abandoned
// (their sessions fail them when the server stops them).
//
// Secure aggregation (FedBuff with secure_aggregation = true; AsyncFold):
// each task is a secure one (SecAggTrain before it; the client keeps its
// update and reports statistics only). A session that reported ready is
// held, not given another task, until its cohort is over. When K are ready
// the loop runs the SecAgg+ stages over those K sessions
// (algorithms::RunSecureAggregation, the cohort's number as the round, each
// told its staleness weight in SecAggCohort), blocking the loop meanwhile
// (other results wait in their futures); members that drop out are
// tolerated up to the threshold, beyond it the cohort's updates are logged
// as dropped with the reason and the run goes on.
//
// Thread-safety: one engine per run, driven from one thread (which owns the
// sessions' ClientInfo).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/async_strategy.h"
#include "coordinator/client_registry.h"
#include "coordinator/log.h"
#include "engine/async_fold.h"
#include "engine/async_update.h"

namespace edgefl::coordinator {

struct HostAsyncOptions {
  size_t min_clients = 1;                      // connected before the first task
  std::chrono::milliseconds poll{5};           // how often results and joins are looked for
  std::chrono::milliseconds log_every{10000};  // "waiting for clients" lines
};

class HostAsyncEngine final : public engine::AsyncUpdates {
 public:
  // `registry` outlives the engine. Starts at `start` (see above). Throws
  // ConfigError for an empty model.
  HostAsyncEngine(algorithms::AsyncStrategy& strategy, ClientRegistry& registry,
                  HostAsyncOptions options, engine::AsyncStart start, Logger logger);

  std::optional<engine::AsyncUpdate> NextUpdate() override;
  const Eigen::VectorXf& global() const override { return *fold_.global(); }
  int64_t model_version() const override { return fold_.version(); }
  std::string stop_reason() const override;

  // The last task's number (tasks sent over the run, a resumed run's
  // start.tasks_sent included), and tasks in flight now.
  int64_t tasks_sent() const { return task_label_; }
  size_t in_flight() const { return running_.size(); }

 private:
  struct Task {
    std::shared_ptr<RemoteClient> client;
    engine::SharedParameters base;
    int64_t base_version = 0;
    std::future<train::FitResult> result;
  };

  // Waits for min_clients; false if a stop was requested meanwhile.
  bool WaitForStart();
  void DispatchIdle();
  // Folds in every finished task; true if any was.
  bool CollectFinished();
  // Runs the secure cohorts that are full (see above).
  void RunCohorts();
  double Clock() const;

  ClientRegistry& registry_;
  const HostAsyncOptions options_;
  const Logger logger_;
  engine::AsyncFold fold_;
  std::chrono::steady_clock::time_point start_;
  double clock_offset_ = 0.0;  // start.clock
  bool started_ = false;
  int64_t task_label_ = 0;                             // the last task's number (all clients)
  std::map<std::string, int64_t> tasks_;               // tasks per client id (seeds data order)
  std::map<const RemoteClient*, Task> running_;        // one task per busy session
  std::vector<std::shared_ptr<RemoteClient>> failed_;  // sessions that failed a task
  // Ready sessions waiting for (or in) their secure cohort, kept alive here.
  std::map<const engine::ClientProxy*, std::shared_ptr<RemoteClient>> held_;
  int64_t cohorts_ = 0;  // secure cohorts formed (their SecAgg round numbers)
  std::chrono::steady_clock::time_point idle_since_;  // when no client was last connected
  bool idle_logged_ = false;
  // FedBR's pool, asked of the clients connected when the first task that
  // needs one is sent (engine/pseudo_data_pool.h), then sent with every task.
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data_;
};

}  // namespace edgefl::coordinator
