#include "algorithms/async_strategy_registry.h"

#include "algorithms/delayed_nesterov.h"
#include "algorithms/fedasync.h"
#include "algorithms/fedbuff.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

AsyncTaskOptions ReadTask(train::ParamReader& reader, const StrategyConfig& config) {
  AsyncTaskOptions task;
  task.recipe = config.recipe;
  task.seed = config.seed;
  task.dylu = reader.GetBool("dylu", false);
  return task;
}

StalenessWeight ReadWeight(train::ParamReader& reader, const std::string& fallback) {
  StalenessWeight weight;
  weight.kind = ParseStalenessWeight(reader.GetString("staleness_weight", fallback),
                                     reader.context() + ": staleness_weight");
  weight.exponent = reader.GetDoubleIn("staleness_exponent", 0.5, 0.0, 100.0);
  return weight;
}

}  // namespace

std::vector<std::string> AsyncStrategyNames() {
  return {"fedasync", "fedbuff", "async_dn"};
}

bool IsAsyncStrategy(const std::string& name) {
  for (const std::string& n : AsyncStrategyNames()) {
    if (n == name) return true;
  }
  return false;
}

std::unique_ptr<AsyncStrategy> MakeAsyncStrategy(const StrategyConfig& config, size_t num_clients) {
  train::ParamReader reader(config.params, "strategy " + config.name);
  if (!config.config_keys.empty()) reader.SetOuterKeys("the experiment config", config.config_keys);
  std::unique_ptr<AsyncStrategy> out;
  if (config.name == "fedasync") {
    FedAsyncOptions o;
    o.task = ReadTask(reader, config);
    o.server_lr = reader.GetDoubleIn("server_lr", 1.0, 0.0, 1e3);
    o.weight = ReadWeight(reader, "constant");
    reader.CheckAllUsed();
    out = std::make_unique<FedAsync>(std::move(o));
  } else if (config.name == "fedbuff") {
    FedBuffOptions o;
    o.task = ReadTask(reader, config);
    o.buffer_size = reader.GetIntIn("buffer_size", 10, 1, 1000000);
    o.server_lr = reader.GetDoubleIn("server_lr", 1.0, 0.0, 1e3);
    o.weight = ReadWeight(reader, "polynomial");
    reader.CheckAllUsed();
    out = std::make_unique<FedBuff>(std::move(o));
  } else if (config.name == "async_dn") {
    DelayedNesterovOptions o;
    o.task = ReadTask(reader, config);
    o.outer_lr = reader.GetDoubleIn("outer_lr", 0.7, 0.0, 1e3);
    o.outer_momentum = reader.GetDouble("outer_momentum", 0.9);
    o.buffer_size = reader.GetIntIn("buffer_size", static_cast<int64_t>(num_clients), 1, 1000000);
    o.activation = reader.GetDouble("momentum_activation", 0.0);
    reader.CheckAllUsed();
    out = std::make_unique<DelayedNesterov>(std::move(o));
  } else {
    std::string names;
    for (const std::string& n : AsyncStrategyNames())
      names += (names.empty() ? "" : ", ") + n;
    throw ConfigError("strategy: \"" + config.name + "\" is not an asynchronous strategy (mode = " +
                      "async accepts: " + names + ")");
  }
  return out;
}

}  // namespace edgefl::algorithms
