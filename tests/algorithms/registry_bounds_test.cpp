// Every key a strategy or selector registry entry reads, fed the extremes of
// its type, is refused with a ConfigError naming it or builds the component
// (never a crash, an abort or another kind of error), and no numeric key
// takes 2^63 or 1e300: each has a finite range. The keys are the
// registries' own (read from their "accepted here" lists), not a
// hand-picked list, with the options that unlock conditional keys.
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

// The bases under which each entry reads its conditional keys too.
const std::vector<train::ParamMap> kUnlocks = {
    {},
    {{"server_optimizer", std::string("momentum")}},
    {{"server_optimizer", std::string("adam")}},
    {{"aggregator", std::string("trimmed_mean")}},
    {{"aggregator", std::string("clipped_mean")}},
    {{"aggregator", std::string("centered_clip")}},
    {{"lr_schedule", std::string("step")}},
    {{"lr_schedule", std::string("cosine")}},
    {{"qsr", true}},
    {{"qsr", true}, {"lr_schedule", std::string("step")}},
    {{"data_order", std::string("curriculum")}},
    {{"savic_estimator", std::string("oasis")}},
    {{"secure_aggregation", true}},
};

// Builds what `kind` names ("strategy", "async", "selector"); throws as the
// registry does.
void Build(const std::string& kind, const std::string& name, const train::ParamMap& params) {
  if (kind == "selector") {
    SelectorConfig config;
    config.name = name;
    config.params = params;
    MakeSelector(config);
    return;
  }
  StrategyConfig config;
  config.name = name;
  config.params = params;
  config.rounds = 10;
  // convex_relu reads its layout from the model, dipaco its levels; the
  // others ignore it.
  if (name == "convex_relu") config.model = "convex_relu:2-2-2-2";
  if (kind == "async") {
    MakeAsyncStrategy(config, 8);
  } else {
    MakeStrategy(config);
  }
}

// The keys the entry accepts under `base`, from its unknown-key message.
std::set<std::string> AcceptedKeys(const std::string& kind, const std::string& name,
                                   train::ParamMap base) {
  base["zz_probe_key"] = int64_t{0};
  try {
    Build(kind, name, base);
  } catch (const ConfigError& e) {
    const std::string text = e.what();
    const std::string marker = "accepted here: ";
    const size_t at = text.find(marker);
    if (at == std::string::npos) return {};  // the base itself was refused
    std::set<std::string> keys;
    std::string list = text.substr(at + marker.size());
    list = list.substr(0, list.rfind(')'));
    size_t start = 0;
    while (start < list.size()) {
      size_t end = list.find(", ", start);
      if (end == std::string::npos) end = list.size();
      keys.insert(list.substr(start, end - start));
      start = end + 2;
    }
    return keys;
  }
  // fedbr, wafl, deltasgd, ...: keys FedAvg does not know pass through to
  // the client objective, whose own registry checks them
  // (local_registry_test.cpp); the strategy's keys are FedAvg's, tried above.
  return {};
}

}  // namespace

TEST_CASE("registry bounds: every key of every strategy and selector at its extremes") {
  const std::vector<train::ParamValue> extremes = {int64_t{0},
                                                   int64_t{-1},
                                                   int64_t{9223372036854775807},
                                                   int64_t{-9223372036854775807},
                                                   1e300,
                                                   -1e300,
                                                   0.5,
                                                   std::string("nan"),
                                                   std::string("inf"),
                                                   std::string("x"),
                                                   true};
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& n : StrategyNames())
    entries.emplace_back("strategy", n);
  for (const std::string& n : AsyncStrategyNames())
    entries.emplace_back("async", n);
  for (const std::string& n : SelectorNames())
    entries.emplace_back("selector", n);
  REQUIRE(entries.size() >= 10);

  int tried = 0;
  for (const auto& [kind, name] : entries) {
    for (const train::ParamMap& base : kUnlocks) {
      for (const std::string& key : AcceptedKeys(kind, name, base)) {
        if (base.count(key)) continue;
        for (const train::ParamValue& value : extremes) {
          train::ParamMap params = base;
          params[key] = value;
          CAPTURE(kind);
          CAPTURE(name);
          CAPTURE(key);
          CAPTURE(train::DescribeParam(value));
          try {
            Build(kind, name, params);
            // Every numeric key has a finite range: none takes the
            // extremes of its type (a count of 2^63 steps, a rate of 1e300).
            const bool extreme = (std::holds_alternative<int64_t>(value) &&
                                  std::llabs(std::get<int64_t>(value)) > (int64_t{1} << 53)) ||
                                 (std::holds_alternative<double>(value) &&
                                  std::fabs(std::get<double>(value)) > 1e200);
            CHECK_MESSAGE(!extreme, "accepted " << key << " = " << train::DescribeParam(value));
          } catch (const ConfigError& e) {
            CHECK_MESSAGE(std::string(e.what()).find(key) != std::string::npos, e.what());
          }
          // Any other exception, an abort or a crash fails the test.
          ++tried;
        }
      }
    }
  }
  MESSAGE("values tried: " << tried);
  CHECK(tried > 500);
}

}  // namespace edgefl::algorithms
