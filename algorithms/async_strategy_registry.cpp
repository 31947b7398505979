#include "algorithms/async_strategy_registry.h"

#include <algorithm>

#include "algorithms/delayed_nesterov.h"
#include "algorithms/fedasync.h"
#include "algorithms/fedbuff.h"
#include "algorithms/local_config.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

// `keep_optimizer`: the strategy's default for whether a worker's optimizer
// state (momentum, Adam moments) carries over from its previous task.
AsyncTaskOptions ReadTask(train::ParamReader& reader, const StrategyConfig& config,
                          bool keep_optimizer) {
  AsyncTaskOptions task;
  task.recipe = config.recipe;
  task.seed = config.seed;
  task.dylu = reader.GetBool("dylu", false);
  task.recipe.reset_optimizer = reader.GetBool("reset_optimizer", !keep_optimizer);
  return task;
}

StalenessWeight ReadWeight(train::ParamReader& reader, const std::string& fallback) {
  StalenessWeight weight;
  weight.kind = ParseStalenessWeight(reader.GetString("staleness_weight", fallback),
                                     reader.context() + ": staleness_weight");
  weight.exponent = reader.GetDoubleIn("staleness_exponent", 0.5, 0.0, 100.0);
  weight.hinge_a = reader.GetDoubleIn("hinge_a", 10.0, 0.0, 1e6);
  weight.hinge_b = reader.GetDoubleIn("hinge_b", 4.0, 0.0, 1e6);
  return weight;
}

// dp and secure_aggregation compose with FedBuff's buffer only: FedAsync and
// async_dn apply (or step on) each update alone, so the server would see
// every update in the clear and one client's noise-free update would move
// the model. Refused by name with the reason.
void RefusePrivacy(train::ParamReader& reader, const std::string& name) {
  for (const char* key : {"dp", "secure_aggregation"}) {
    if (reader.GetBool(key, false)) {
      throw ConfigError("strategy " + name + ": " + key +
                        " is refused in async mode except with fedbuff: " + name +
                        " folds each update into the model alone, so there is no sum over "
                        "several clients to noise or to aggregate securely; use strategy = "
                        "\"fedbuff\" (its buffer of K updates is one DP step and one SecAgg+ "
                        "cohort)");
    }
  }
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
    o.task = ReadTask(reader, config, /*keep_optimizer=*/false);
    o.mixing = reader.GetDoubleIn("mixing", 0.6, 0.0, 1.0);
    o.weight = ReadWeight(reader, "constant");
    RefusePrivacy(reader, config.name);
    ReadLocalAlgorithm(reader, "ce", config.seed, &o.task.local);
    reader.CheckAllUsed();
    out = std::make_unique<FedAsync>(std::move(o));
  } else if (config.name == "fedbuff") {
    FedBuffOptions o;
    o.task = ReadTask(reader, config, /*keep_optimizer=*/false);
    // Nielsen et al.'s K = 10, but never more than the fleet holds (a default
    // that follows clients: docs/settings.md).
    o.buffer_size = reader.GetIntIn(
        "buffer_size",
        std::min<int64_t>(10, std::max<int64_t>(1, static_cast<int64_t>(num_clients))), 1, 1000000);
    o.server_lr = reader.GetDoubleIn("server_lr", 1.0, 0.0, 1e3);
    o.weight = ReadWeight(reader, "polynomial");
    o.sample_weighting = reader.GetBool("sample_weighting", false);
    o.dp = ReadDp(reader, config);  // clients_per_round becomes K (fedbuff.h)
    if (reader.GetBool("secure_aggregation", false)) {
      o.secure_aggregation = ReadSecureAggregationKeys(reader, config.seed);
    }
    ReadLocalAlgorithm(reader, "ce", config.seed, &o.task.local);
    reader.CheckAllUsed();
    if (o.secure_aggregation && o.buffer_size > static_cast<int64_t>(num_clients)) {
      throw ConfigError("strategy fedbuff: secure_aggregation needs buffer_size (" +
                        std::to_string(o.buffer_size) + ") <= the clients (" +
                        std::to_string(num_clients) +
                        "): a client that reported ready waits for its cohort of K, so fewer "
                        "clients would never make one");
    }
    out = std::make_unique<FedBuff>(std::move(o));
  } else if (config.name == "async_dn") {
    DelayedNesterovOptions o;
    // Liu et al. 2024: the inner optimizer state stays on the worker.
    o.task = ReadTask(reader, config, /*keep_optimizer=*/true);
    o.outer_lr = reader.GetDoubleIn("outer_lr", 0.7, 0.0, 1e3);
    o.outer_momentum = reader.GetDouble("outer_momentum", 0.9);
    o.buffer_size = reader.GetIntIn("buffer_size", static_cast<int64_t>(num_clients), 1, 1000000);
    o.activation = reader.GetDouble("momentum_activation", 0.0);
    RefusePrivacy(reader, config.name);
    ReadLocalAlgorithm(reader, "ce", config.seed, &o.task.local);
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
