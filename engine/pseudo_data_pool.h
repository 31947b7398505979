// FedBR's shared pseudo-data pool, asked of a deployment's clients the way
// the paper's protocol builds it (algorithms/fedbr_pseudo_data.h): the
// engine draws over the clients sorted by id with their reported data
// sizes, asks each for the means of its own groups (ClientProxy::
// PseudoDataMeans: in-process in the simulator, an EvalTask over TLS) and
// assembles them. Every engine — synchronous rounds, the asynchronous
// simulator and the coordinator's asynchronous loop — builds its pool here,
// so a run's pool is the same bit for bit whichever engine runs it, for the
// same clients, shares and seed.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include <Eigen/Core>

#include "algorithms/local_registry.h"
#include "engine/client_proxy.h"
#include "train/fit.h"

namespace edgefl::engine {

// The pool the first instruction that needs one asks for; nullopt when no
// instruction's objective takes a pool.
std::optional<algorithms::PseudoDataSpec> PseudoDataSpecOfAny(
    std::span<const train::FitInstructions> instructions);

// The pool, input_dim x spec.size, from `clients` (any order; sorted by id
// here). Blocks until every asked client has answered. Throws Error naming
// the client whose answer failed, or the reason the draw is impossible (no
// clients, a client without samples).
std::shared_ptr<const Eigen::MatrixXf> AskPseudoDataPool(const algorithms::PseudoDataSpec& spec,
                                                         std::span<ClientProxy* const> clients);

}  // namespace edgefl::engine
