// The values a round exchanges between the server part of an algorithm and
// its clients: what a client is told to do (FitInstructions) and what it
// reports (FitResult, or a FitFailure). Plain value types; the wire encodes
// them, the simulation passes them in memory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "train/local_trainer.h"
#include "train/preconditioning.h"
#include "train/train_recipe.h"

namespace edgefl::train {

// A client's identity: the CN of its certificate, or "sim-0007" in simulation.
using ClientId = std::string;

// The client part of an algorithm, by name, with its hyper-parameters.
// Built into a client::LocalObjective / client::DataOrder on the client by
// MakeLocalObjective / MakeDataOrder (local_registry.h).
struct LocalAlgorithm {
  // "ce" (plain cross-entropy), "fedbr", "wafl", "deltasgd", "entropy_sgd",
  // "noisy_softmax".
  std::string objective = "ce";
  // "shuffle" (default), "curriculum", "anti_curriculum", "random" (the
  // last three with pacing, see curriculum_order.h).
  std::string data_order = "shuffle";
  // Hyper-parameters of the objective and the order, e.g. {"gamma", 0.05}.
  std::map<std::string, double> params;
};

// FedBR's pseudo-data, asked of one client (algorithms/fedbr_pseudo_data.h):
// the means of groups of its own samples, `images` sample indices a group,
// groups one after the other in `samples`. The client answers with the
// input_dim x (samples.size() / images) matrix of the means, never a raw
// sample (it refuses images < 2 or a group of fewer than 2 distinct samples).
struct PseudoDataRequest {
  uint32_t images = 0;            // 0 = no request
  std::vector<uint32_t> samples;  // a multiple of images
  bool empty() const { return images == 0; }
  size_t groups() const { return images == 0 ? 0 : samples.size() / images; }
};

struct FitInstructions {
  int64_t model_version = 0;  // the global model's version the client starts from
  train::TrainRecipe recipe;
  LocalAlgorithm local;
  // SAVIC's shared frozen diagonal and the statistic the server wants back
  // (preconditioning.h); default: none, plain steps, nothing reported.
  Preconditioning preconditioning;
  // The parameters the client starts from and sends back, when they are not
  // the global model: DiPaCo's path, the concatenation of its modules
  // (algorithms/dipaco.h); the client's model spec must fit them. Null: the
  // global model. The engine then requires an update of this size.
  std::shared_ptr<const Eigen::VectorXf> start_parameters;
  // FedBR's shared pseudo-data pool, input_dim x M, built by the round
  // engine from the clients' uploaded means (fedbr_pseudo_data.h); the same
  // on every client. Null: none sent (the client builds its own).
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data;
  // Secure aggregation between processes (algorithms/secagg_party.h): the
  // client keeps its update for the round's SecAgg+ stages and reports only
  // its statistics (a FitResult with no parameters). The simulator leaves
  // it false (its secure round runs in-process on the results).
  bool secure_aggregation = false;
};

struct FitResult {
  ClientId client;
  int64_t base_version = 0;       // model_version of the instructions it answers
  train::LocalTrainResult train;  // new parameters, samples, steps, losses, time
  // Frame bytes of the task sent and of the result (plus heartbeats)
  // received, as the transport counted them; 0 when nothing travelled
  // (in-process simulation).
  int64_t bytes_out = 0;
  int64_t bytes_in = 0;
  // The result is an edge aggregator's group (docs/edge-aggregators.md):
  // parameters are its group's sum / weight and num_samples the weight,
  // already aggregated below (by SecAgg+ within the group in a secure run).
  // Set by the transport that received a GroupSum, never by a client. The
  // round engine adds it to the strategy's mean as it is, never as a party
  // of the round's secure aggregation.
  bool group_sum = false;
};

// A client that did not deliver a usable update this round.
struct FitFailure {
  ClientId client;
  enum class Kind { kDropped, kRejected } kind = Kind::kDropped;
  std::string reason;  // "deadline passed", "disconnected", "update contains NaN", ...
};

}  // namespace edgefl::train
