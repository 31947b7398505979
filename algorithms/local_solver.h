// The client part of an algorithm that replaces gradient training
// altogether: from the global parameters and the round's instructions it
// computes the update directly. convex_relu's clients ("convex_admm":
// the local step of the consensus ADMM, convex_relu.h) are the one kind.
//
// A solver keeps state between rounds (a cached Cholesky factor, the cone
// splitting's warm start), so the simulator's client and edgefl-client each
// keep one per client for as long as the model spec stays the same; a
// client that loses it (a restart) starts the splitting cold, which costs
// accuracy for a round, not correctness. Not thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "datasets/dataset.h"
#include "train/fit.h"

namespace edgefl::algorithms {

class LocalSolver {
 public:
  virtual ~LocalSolver() = default;
  // Throws ConfigError for a parameter vector of the wrong size or bad
  // instructions (naming the key).
  virtual train::LocalTrainResult Solve(std::span<const float> global,
                                        const train::LocalAlgorithm& local) = 0;
};

// Whether `local` names a local solver instead of a gradient objective.
bool IsLocalSolver(const train::LocalAlgorithm& local);

// Throws ConfigError naming an unknown or out-of-range parameter of `local`
// (keys of "convex_admm": slot, rho, inner_iters, eps).
void CheckLocalSolverParams(const train::LocalAlgorithm& local);

// The solver `local` names for a client with `data` training `model_spec`.
// Throws ConfigError if `local` names none, its parameters are bad, or the
// spec is not a convex_relu/gated_relu model with client duals whose
// features and classes match `data`.
std::unique_ptr<LocalSolver> MakeLocalSolver(const train::LocalAlgorithm& local,
                                             const std::string& model_spec,
                                             const datasets::Dataset& data);

}  // namespace edgefl::algorithms
