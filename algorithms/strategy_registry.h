// Strategies and client selectors by name, as the experiment config chooses
// them. The keys each accepts, with defaults, are documented in the
// project's docs/algorithms.md.
//
// Strategies: "fedavg", "fedavgm", "fedadam", "fedyogi" (the FedAvg family
// with server optimizer none / momentum / adam / yogi), and "fedbr",
// "wafl", "deltasgd" (FedAvg whose clients run that local objective; keys
// not known to FedAvg pass through, as numbers, into LocalAlgorithm::params
// for the client-side objective to check), and "savic" (FedAvg whose
// clients step with one shared, frozen diagonal scaling; savic.h).
// Selectors: "uniform", "curriculum", "speed_aware", "oort".
//
// Errors: an unknown name, an unknown key, an ill-typed value or an
// out-of-range value throw ConfigError naming it and the accepted values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/client_selector.h"
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
  uint64_t seed = 0;     // the run seed (per-client recipe seeds derive from it)
  // The run's model spec (for dipaco: one path's architecture).
  std::string model = "mlp:784-200-200-10";
  // The experiment config's own keys (rounds, lr, ...), which never reach
  // `params`: a key of `params` the strategy does not accept is reported as
  // unknown to both, with the closest key of either as a suggestion. Empty
  // = report it as unknown to the strategy alone.
  std::vector<std::string> config_keys;
};

std::unique_ptr<Strategy> MakeStrategy(const StrategyConfig& config);
std::vector<std::string> StrategyNames();

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
