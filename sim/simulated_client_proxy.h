// An in-process client: its local data and a LocalTrainer (or the local
// solver the instructions name, algorithms/local_solver.h), training on a
// shared thread pool. Results depend only on the data, the parameters and
// the instructions (seeded), never on scheduling, so a simulation is
// bit-identical whether clients run in parallel or one by one.
//
// A Byzantine client (`attack` active) trains honestly, then sends the
// attack's parameters instead (train/byzantine.h), as edgefl-client
// --byzantine does.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "algorithms/local_solver.h"
#include "compress/codec.h"
#include "compress/error_feedback.h"
#include "compress/model_delta.h"
#include "datasets/dataset.h"
#include "engine/client_proxy.h"
#include "sim/thread_pool.h"
#include "train/byzantine.h"

namespace edgefl::sim {

class SimulatedClientProxy final : public engine::ClientProxy {
 public:
  // `pool` must outlive the proxy. Throws as LocalTrainer's constructor.
  SimulatedClientProxy(train::ClientId id, datasets::Dataset data, const std::string& model_spec,
                       ThreadPool& pool, train::ByzantineAttack attack = {});

  algorithms::ClientInfo& info() override { return info_; }
  std::future<train::FitResult> Fit(engine::SharedParameters global,
                                    const train::FitInstructions& instructions) override;
  std::future<train::EvalResult> Evaluate(engine::SharedParameters parameters) override;
  // The means of the request's groups of this client's data, at once.
  std::future<Eigen::MatrixXf> PseudoDataMeans(const train::PseudoDataRequest& request) override;

  // Compressed updates (compress/): from the next task on, the model goes
  // to the client as a delta against what it holds and the update comes back
  // encoded, as between edgefl-coordinator and edgefl-client; the result's
  // bytes_out / bytes_in are then the encodings' sizes. Default: none.
  void set_compression(const compress::CompressionConfig& config) { compression_ = config; }

  const datasets::Dataset& data() const { return *data_; }
  // Every client's data, in client order (this one's included; they must
  // outlive the proxy): objectives that use the whole fleet's data (FedBR's
  // shared pseudo-data pool) see it through algorithms::ObjectiveContext.
  void set_fleet_data(std::shared_ptr<const std::vector<const datasets::Dataset*>> fleet) {
    fleet_data_ = std::move(fleet);
  }

 private:
  algorithms::ClientInfo info_;
  std::unique_ptr<const datasets::Dataset> data_;  // stable address for the trainer
  std::unique_ptr<train::LocalTrainer> trainer_;
  std::string model_spec_;
  // A local solver's state between rounds (local_solver.h), made on the
  // first round that names one.
  std::unique_ptr<algorithms::LocalSolver> solver_;
  std::mutex trainer_mutex_;  // one task at a time per client
  ThreadPool& pool_;
  train::ByzantineAttack attack_;
  std::shared_ptr<const std::vector<const datasets::Dataset*>> fleet_data_;
  // Compressed updates: both ends of the model delta and the client's
  // top-k residual (guarded by trainer_mutex_).
  compress::CompressionConfig compression_;
  compress::ModelDeltaSender downlink_;
  compress::ModelDeltaReceiver client_model_;
  compress::ErrorFeedback feedback_;
};

}  // namespace edgefl::sim
