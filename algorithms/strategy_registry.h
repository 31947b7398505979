// Strategies and client selectors by name, as the experiment config chooses
// them. The keys each accepts, with defaults, are documented in the
// project's docs/algorithms.md.
//
// Strategies: "fedavg", "fedavgm", "fedadam", "fedyogi" (the FedAvg family
// with server optimizer none / momentum / adam / yogi), and "fedbr",
// "wafl", "deltasgd" (FedAvg whose clients run that local objective; keys
// not known to FedAvg pass through, as numbers, into LocalAlgorithm::params
// for the client-side objective to check), and "savic" (FedAvg whose
// clients step with one shared, frozen diagonal scaling; savic.h), and
// "convex_relu" (the convex program of a two-layer ReLU network by
// consensus ADMM; convex_relu.h; needs `model`).
// Selectors: "uniform", "curriculum", "speed_aware", "oort".
//
// Errors: an unknown name, an unknown key, an ill-typed value or an
// out-of-range value throw ConfigError naming it and the accepted values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/client_selector.h"
#include "algorithms/dp_fedavg.h"
#include "algorithms/dsgd.h"
#include "algorithms/secure_aggregation.h"
#include "algorithms/strategy.h"
#include "train/params.h"
#include "train/train_recipe.h"

namespace edgefl::algorithms {

struct StrategyConfig {
  std::string name = "fedavg";
  train::ParamMap params;  // the strategy's own keys
  // The client recipe template, from the common config keys (local_epochs,
  // local_steps, batch_size, lr, momentum, optimizer, ...). Its learning
  // rate is the schedule's base.
  train::TrainRecipe recipe;
  int64_t rounds = 100;  // the run's rounds (cosine schedule horizon)
  // The run's model spec (convex_relu reads its layout from it).
  // (for dipaco: one path's architecture).
  std::string model = "mlp:784-200-200-10";
  uint64_t seed = 0;  // the run seed (per-client recipe seeds derive from it)
  // The federation's clients N and the cohort m of a round (DP-FedAvg's
  // sampling rate q = m/N and fixed denominator m); 0 = unknown.
  int64_t clients = 0;
  int64_t clients_per_round = 0;
  // The experiment config's own keys (rounds, lr, ...), which never reach
  // `params`: a key of `params` the strategy does not accept is reported as
  // unknown to both, with the closest key of either as a suggestion. Empty
  // = report it as unknown to the strategy alone.
  std::vector<std::string> config_keys;
};

std::unique_ptr<Strategy> MakeStrategy(const StrategyConfig& config);
std::vector<std::string> StrategyNames();

// The privacy keys, shared with the asynchronous registry
// (async_strategy_registry.h). ReadDp: DP-FedAvg's keys when dp = true
// (nullopt otherwise), with clients_per_round and population from `config`.
// ReadSecureAggregationKeys: the secagg_* keys (secure_aggregation.h), read
// once secure_aggregation = true was seen; `seed` is the run seed.
std::optional<DpFedAvgOptions> ReadDp(train::ParamReader& reader, const StrategyConfig& config);
SecureAggregationOptions ReadSecureAggregationKeys(train::ParamReader& reader, uint64_t seed);

// "dsgd": decentralized, no server model (dsgd.h); runs with mode =
// "decentralized", never through MakeStrategy (which refuses it saying so).
bool IsDecentralizedStrategy(const std::string& name);
// D-SGD's options from its keys (topology, topology_p, dsgd_update,
// dsgd_schedule, dsgd_beta, dsgd_tau_alpha, dsgd_tau_beta, dsgd_global_metrics, and the client
// keys local_objective, data_order, reset_optimizer, nesterov) and the
// recipe. Throws ConfigError for another strategy, an unknown key or a bad
// value.
DsgdOptions ReadDsgdOptions(const StrategyConfig& config);

struct SelectorConfig {
  std::string name = "uniform";
  train::ParamMap params;
  int64_t rounds = 100;  // the run's rounds (curriculum update budget R·k)
  // The round's work and deadline (virtual seconds, 0 = none), for
  // speed_aware's expected finishing times.
  train::TrainRecipe recipe;
  double deadline = 0.0;
};

std::unique_ptr<ClientSelector> MakeSelector(const SelectorConfig& config);
std::vector<std::string> SelectorNames();

}  // namespace edgefl::algorithms
