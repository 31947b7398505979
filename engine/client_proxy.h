// The round engine's only view of a client, in the manner of Flower's
// ClientProxy. Two implementations: SimulatedClientProxy (in-process, on a
// thread pool) and, in the deployment, a TLS session. The engine never
// knows which one it talks to.
#pragma once

#include <future>
#include <memory>
#include <stdexcept>

#include <Eigen/Core>

#include "algorithms/client_info.h"
#include "algorithms/secagg_party.h"
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

  // FedBR's pseudo-data upload: the means of the request's groups of the
  // client's own samples, input_dim x groups (algorithms::PseudoDataMeans
  // on the client; never a raw sample). Same failure model as Fit. The
  // default fails: a client that cannot answer.
  virtual std::future<Eigen::MatrixXf> PseudoDataMeans(const train::PseudoDataRequest& request) {
    (void)request;
    std::promise<Eigen::MatrixXf> failed;
    failed.set_exception(std::make_exception_ptr(
        std::runtime_error(info().id + " cannot send FedBR pseudo-data means")));
    return failed.get_future();
  }

  // The client's handle for secure aggregation's stages when it runs them
  // itself (a remote client: the round engine then asks it to keep its
  // update, FitInstructions::secure_aggregation, and drives the stages
  // through this handle). Null (the default): the engine aggregates the
  // client's result in-process (the simulator).
  virtual algorithms::SecAggParty* secagg_party() { return nullptr; }
};

}  // namespace edgefl::engine
