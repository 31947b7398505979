#include "algorithms/local_config.h"

#include <algorithm>
#include <variant>

#include "algorithms/local_registry.h"
#include "algorithms/pacing.h"
#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

bool IsOneOf(const std::string& name, const std::vector<std::string>& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// tpSGD's string key and the projections' seed: every client gets the same
// seed, derived from the run seed (the projections themselves never travel).
void ReadTpsgd(train::ParamReader& reader, uint64_t run_seed, train::LocalAlgorithm* local) {
  const std::string loss = reader.GetString("layer_loss", "l2");
  if (loss != "l2" && loss != "l1") {
    throw ConfigError(reader.context() + ": layer_loss: unknown loss \"" + loss +
                      "\" (accepted: l2, l1)");
  }
  local->params["layer_loss"] = loss == "l1" ? 1.0 : 2.0;
  if (reader.Has("target_scale")) {
    local->params["target_scale"] = reader.GetDoubleIn("target_scale", 1.0, 1e-6, 1e3);
  }
  // Seeds travel as doubles, exact below 2^53.
  constexpr uint64_t kSeedMask = (uint64_t{1} << 53) - 1;
  local->params["projection_seed"] =
      static_cast<double>(Rng::Derive(run_seed, {0x74707367 /* "tpsg" */}).Next() & kSeedMask);
}

}  // namespace

void ReadLocalAlgorithm(train::ParamReader& reader, const std::string& fixed_objective,
                        uint64_t run_seed, train::LocalAlgorithm* local) {
  const bool fixed = fixed_objective != "ce";
  local->objective = fixed ? fixed_objective : reader.GetString("local_objective", "ce");
  if (!IsOneOf(local->objective, LocalObjectiveNames())) {
    throw ConfigError(reader.context() + ": local_objective: unknown objective \"" +
                      local->objective + "\" (accepted: " + JoinNames(LocalObjectiveNames()) + ")");
  }
  local->data_order = reader.GetString("data_order", "shuffle");
  if (!IsOneOf(local->data_order, DataOrderNames())) {
    throw ConfigError(reader.context() + ": data_order: unknown order \"" + local->data_order +
                      "\" (accepted: " + JoinNames(DataOrderNames()) + ")");
  }
  if (local->data_order == "curriculum" || local->data_order == "anti_curriculum" ||
      local->data_order == "random") {
    // Only the keys given travel; the client's defaults (algorithms.md §5:
    // linear, a = 0.2, b = 0.2, at least 32 samples) fill in the rest.
    // Checked here too so that a bad value fails before the run starts.
    Pacing pacing;
    if (reader.Has("pacing")) {
      pacing.kind =
          ParsePacing(reader.GetString("pacing", "linear"), reader.context() + ": pacing");
      local->params["pacing"] = static_cast<double>(static_cast<int>(pacing.kind));
    }
    for (const char* key : {"pacing_a", "pacing_b", "pacing_c"}) {
      if (reader.Has(key)) local->params[key] = reader.GetDouble(key, 0.0);
    }
    pacing.a = reader.GetDoubleIn("pacing_a", pacing.a, 0.0, 1e6);
    pacing.b = reader.GetDouble("pacing_b", pacing.b);
    pacing.c = reader.GetDoubleIn("pacing_c", pacing.c, 0.0, 1e6);
    pacing.Validate(reader.context() + ": pacing_");
    if (reader.Has("pacing_min")) {
      const int64_t min_samples = reader.GetInt("pacing_min", 32);
      if (min_samples < 1) {
        throw ConfigError(reader.context() + ": pacing_min must be >= 1, got " +
                          std::to_string(min_samples));
      }
      local->params["pacing_min"] = static_cast<double>(min_samples);
    }
  }
  if (local->objective == "ce") return;
  if (local->objective == "tpsgd") ReadTpsgd(reader, run_seed, local);
  // The objective's own hyper-parameters pass through as numbers.
  for (const std::string& key : reader.Unread()) {
    const train::ParamValue& value = reader.params().at(key);
    if (const bool* b = std::get_if<bool>(&value)) {
      reader.GetBool(key, false);
      local->params[key] = *b ? 1.0 : 0.0;
    } else {
      local->params[key] = reader.GetDouble(key, 0.0);
    }
  }
}

}  // namespace edgefl::algorithms
