// The round engine's only view of a client, in the manner of Flower's
// ClientProxy. Two implementations: SimulatedClientProxy (in-process, on a
// thread pool) and, in the deployment, a TLS session. The engine never
// knows which one it talks to.
#pragma once

#include <future>
#include <memory>

#include <Eigen/Core>

#include "algorithms/client_info.h"
#include "train/fit.h"
#include "train/local_trainer.h"

namespace edgefl::engine {

using SharedParameters = std::shared_ptr<const Eigen::VectorXf>;

class ClientProxy {
 public:
  virtual ~ClientProxy() = default;

  // Profile and history the selector sees. The engine updates the history
  // fields (rounds_participated, last_round, score).
  virtual algorithms::ClientInfo& info() = 0;

  // Starts local training from `global` as instructed. The future yields
  // the result, or throws an edgefl::Error describing why the client could
  // not deliver (disconnected, training failed); the engine records that as
  // a dropped update. Must not block.
  virtual std::future<train::FitResult> Fit(SharedParameters global,
                                            const train::FitInstructions& instructions) = 0;

  // Loss and accuracy of `parameters` on the client's local training data
  // (curriculum scores, federated evaluation). Same failure model as Fit.
  virtual std::future<train::EvalResult> Evaluate(SharedParameters parameters) = 0;
};

}  // namespace edgefl::engine
