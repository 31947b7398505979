// The client side of the algorithms: builds the LocalObjective and the
// DataOrder a FitInstructions' LocalAlgorithm names. Used by every client
// (simulated or edgefl-client) before it trains.
//
// Objectives (parameter keys and defaults in docs/algorithms.md,
// "Client-side objectives"): "ce", "fedbr", "wafl", "deltasgd",
// "entropy_sgd", "noisy_softmax", "tpsgd". Data orders: "shuffle", "sequential",
// "curriculum", "anti_curriculum", "random" (the last three paced, with the
// keys pacing, pacing_a, pacing_b, pacing_c, pacing_min).
// The objective and the order share LocalAlgorithm::params: a key is an
// error only if neither of them takes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"
#include "train/data_order.h"
#include "train/fit.h"
#include "train/local_objective.h"
#include "train/train_recipe.h"

namespace edgefl::algorithms {

// The objective and data-order names MakeLocalObjective and MakeDataOrder
// accept, and the same as "a, b, c" for an error message.
const std::vector<std::string>& LocalObjectiveNames();
const std::vector<std::string>& DataOrderNames();
std::string JoinNames(const std::vector<std::string>& names);

// What a client can tell the objective besides the LocalAlgorithm.
struct ObjectiveContext {
  // The client's training data.
  const datasets::Dataset* local_data = nullptr;
  // The round's recipe: "fedbr" steps P with its learning rate unless
  // head_lr is given (the authors' code). May be null.
  const train::TrainRecipe* recipe = nullptr;
  // Every client's data, in client order, where the caller holds it (the
  // simulator): "fedbr" builds its pseudo-data pool from all of them, the
  // same on every client (fedbr_pseudo_data.h). Empty: from local_data
  // alone (edgefl-client, whose device sees only its own share).
  std::span<const datasets::Dataset* const> fleet_data;
  // FedBR's shared pool as the coordinator sent it (FitInstructions::
  // pseudo_data), input_dim x pool_size; when set, "fedbr" uses it instead
  // of building one from fleet_data or local_data. Must outlive the call.
  const Eigen::MatrixXf* pseudo_data = nullptr;
};

// FedBR's pseudo-data pool keys (pool_size, pool_images, pool_seed).
struct PseudoDataSpec {
  int size = 32;
  int images = 10;
  uint64_t seed = 0;
};

// The pool `local` needs: its keys for "fedbr", nullopt for any other
// objective. Throws ConfigError for a key out of range (as
// MakeLocalObjective).
std::optional<PseudoDataSpec> PseudoDataSpecOf(const train::LocalAlgorithm& local);

// Throws ConfigError naming an unknown objective, or a parameter that
// neither the objective nor the order takes or that is out of range.
// "fedbr" needs context.local_data or context.fleet_data and throws
// ConfigError without both.
std::unique_ptr<train::LocalObjective> MakeLocalObjective(const train::LocalAlgorithm& local,
                                                          const ObjectiveContext& context);
// The same with only the client's data.
std::unique_ptr<train::LocalObjective> MakeLocalObjective(
    const train::LocalAlgorithm& local, const datasets::Dataset* local_data = nullptr);

// Throws ConfigError naming an unknown order or a bad parameter.
// `recipe` gives the round's length for pacing; the paced orders throw
// ConfigError if it is null.
std::unique_ptr<train::DataOrder> MakeDataOrder(const train::LocalAlgorithm& local,
                                                const train::TrainRecipe* recipe = nullptr);

}  // namespace edgefl::algorithms
