// edgefl-coordinator with role = "aggregator": an edge aggregator
// (docs/edge-aggregators.md). It serves its own group of edgefl-clients
// (or of further aggregators: trees of any depth) over mutual TLS exactly
// as a root does, and is a client of its `upstream` coordinator:
//
//   wait for min_clients of its group ─► connect upstream (Hello's
//   dataset_size: the group's samples) ─► for each TrainTask: the group's
//   round (group_round.h) ─► commit it to its own log ─► GroupSum +
//   TrainResult up (or Error training_failed when the group's quorum was
//   not reached) ─► ... ─► the upstream's Bye: Bye to the group, exit.
//
// It loads no data and runs no strategy: the upstream's strategy must be
// one that composes with group sums (engine::GroupSumProblem; the upstream
// says so in Welcome's run_config "group_sums", and its seed in "seed").
// A lost upstream connection is retried with back-off; a refusal
// (certificate, id, version, a model or run that does not fit) ends the
// process with an error naming it.
//
// Its log (config.db, run config.run_name): one round per task, numbered
// 1, 2, ... in this log, the upstream's round in the round's metrics
// ("upstream_round"), a row per device (accepted, dropped, rejected), and
// the group's mean as the round's checkpoint.
//
// Thread-safety: Run on one thread; Stop from any (a signal handler's).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "coordinator/log.h"
#include "engine/experiment_config.h"

namespace edgefl::coordinator {

class UpstreamLink;
class ClientRegistry;
class TlsServer;

struct AggregatorResult {
  int64_t rounds = 0;        // group rounds committed by this process
  bool finished = false;     // the upstream said its run finished
  bool interrupted = false;  // stopped (signal) or the upstream shut down
};

class Aggregator {
 public:
  // REQUIRES: config.role == "aggregator" (LoadExperimentConfig checked
  // the other keys).
  Aggregator(engine::ExperimentConfig config, Logger logger);
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // Serves the group and the upstream until the upstream's Bye or Stop().
  // `on_listening` gets "HOST:PORT" once the group's port is bound. Throws
  // ConfigError for bad files or an upstream run that does not fit,
  // UpstreamError when the upstream refused this aggregator.
  AggregatorResult Run(const std::function<void(const std::string&)>& on_listening);

  // Ends Run: the task in progress is abandoned (the group is told Bye).
  void Stop();

 private:
  const engine::ExperimentConfig config_;
  const Logger logger_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;                    // guards link_ and registry_ for Stop
  UpstreamLink* link_ = nullptr;        // GUARDED_BY(mutex_): the open upstream link
  ClientRegistry* registry_ = nullptr;  // GUARDED_BY(mutex_)
  TlsServer* server_ = nullptr;         // GUARDED_BY(mutex_)
};

}  // namespace edgefl::coordinator
