// An in-process client: its local data and a LocalTrainer, training on a
// shared thread pool. Results depend only on the data, the parameters and
// the instructions (seeded), never on scheduling, so a simulation is
// bit-identical whether clients run in parallel or one by one.
//
// A Byzantine client (`attack` active) trains honestly, then sends the
// attack's parameters instead (client/byzantine.h), as edgefl-client
// --byzantine does.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "client/byzantine.h"
#include "coordinator/client_proxy.h"
#include "coordinator/thread_pool.h"
#include "datasets/dataset.h"

namespace edgefl::coordinator {

class SimulatedClientProxy final : public ClientProxy {
 public:
  // `pool` must outlive the proxy. Throws as LocalTrainer's constructor.
  SimulatedClientProxy(algorithms::ClientId id, datasets::Dataset data,
                       const std::string& model_spec, ThreadPool& pool,
                       client::ByzantineAttack attack = {});

  algorithms::ClientInfo& info() override { return info_; }
  std::future<algorithms::FitResult> Fit(SharedParameters global,
                                         const algorithms::FitInstructions& instructions) override;
  std::future<client::EvalResult> Evaluate(SharedParameters parameters) override;

 private:
  algorithms::ClientInfo info_;
  std::unique_ptr<const datasets::Dataset> data_;  // stable address for the trainer
  std::unique_ptr<client::LocalTrainer> trainer_;
  std::mutex trainer_mutex_;  // one task at a time per client
  ThreadPool& pool_;
  client::ByzantineAttack attack_;
};

}  // namespace edgefl::coordinator
