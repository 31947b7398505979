// Asynchronous strategies by name (experiment config `mode = async`):
// "fedasync", "fedbuff", "async_dn". Their keys, with defaults, are in the
// project's docs/algorithms.md. Errors: an unknown name or key, an
// ill-typed or out-of-range value throw ConfigError naming it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/async_strategy.h"
#include "algorithms/strategy_registry.h"

namespace edgefl::algorithms {

// `num_clients` is the fleet size (the default buffer of async_dn).
std::unique_ptr<AsyncStrategy> MakeAsyncStrategy(const StrategyConfig& config, size_t num_clients);
std::vector<std::string> AsyncStrategyNames();
bool IsAsyncStrategy(const std::string& name);

}  // namespace edgefl::algorithms
