// A claim's experiment: variants of one setting, each over several seeds,
// on a grid of one key; prints per-seed and mean ± std test accuracy (final,
// best) and the rounds (and virtual seconds, async) to a target accuracy,
// read back from the experiment log. Every run is a normal `edgefl sim` run
// in --db, so the report and log tools see them.
//
//   build/bench/seed_sweep [--config FILE.toml] --base "k=v;k=v;..."
//       --variants "name:k=v;k=v|name2:k=v" [--grid "key=v1,v2,..."]
//       [--seeds 1,2,3] [--target 0.80] [--shift-noise 0.1,0.3] [--db FILE]
//
// --shift-noise evaluates each run's final global model (its last checkpoint
// in the log) also on shifted copies of the test set: Gaussian noise of
// standard deviation σ added to every feature (seeded by the run's seed),
// clipped to [0, 1] — a target distribution none of the clients trained on.
//
// Example (curriculum vs shuffle as label skew grows):
//   build/bench/seed_sweep --base "dataset=fmnist;partition=dirichlet;rounds=20"
//       --variants "shuffle:data_order=shuffle|curriculum:data_order=curriculum"
//       --grid "alpha=1,0.5,0.1,0.05" --seeds 1,2,3
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "common/random.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "nn/model.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "train/local_trainer.h"

namespace {

using edgefl::bench::SplitList;

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, separator)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct Variant {
  std::string name;
  std::vector<std::string> overrides;
};

// "name:k=v;k=v|name2:k=v" -> variants; a variant without ':' has no overrides.
std::vector<Variant> ParseVariants(const std::string& text) {
  std::vector<Variant> out;
  for (const std::string& item : Split(text, '|')) {
    const size_t colon = item.find(':');
    Variant v;
    v.name = item.substr(0, colon);
    if (colon != std::string::npos) v.overrides = Split(item.substr(colon + 1), ';');
    out.push_back(std::move(v));
  }
  if (out.empty()) throw std::runtime_error("--variants names no variant");
  return out;
}

struct Outcome {
  double final_accuracy = 0.0;
  double best_accuracy = 0.0;
  std::optional<int64_t> rounds_to_target;
  std::optional<double> virtual_to_target;
};

// The first evaluation at or above `target`, with the virtual clock of its
// round when the run has one.
Outcome ReadOutcome(const std::filesystem::path& db, const edgefl::sim::SimulationResult& result,
                    double target) {
  Outcome outcome{result.final_accuracy, result.best_accuracy, std::nullopt, std::nullopt};
  if (!(target > 0.0)) return outcome;
  edgefl::storage::ExperimentLog log(db);
  const auto rounds = log.Rounds(result.run_id);
  for (const edgefl::storage::EvaluationRecord& e : log.Evaluations(result.run_id)) {
    if (e.split != "test" || e.accuracy < target) continue;
    outcome.rounds_to_target = e.round;
    for (const auto& r : rounds) {
      if (r.round == e.round && r.virtual_time) outcome.virtual_to_target = *r.virtual_time;
    }
    break;
  }
  return outcome;
}

// Test accuracy of the run's last checkpoint on the test set with N(0, σ²)
// added to each feature and clipped to [0, 1], one value per σ.
std::vector<double> ShiftedAccuracies(const std::filesystem::path& db,
                                      const edgefl::engine::ExperimentConfig& config,
                                      int64_t run_id, const std::vector<double>& sigmas) {
  std::vector<double> out;
  if (sigmas.empty()) return out;
  edgefl::storage::ExperimentLog log(db);
  const auto checkpoint = log.LatestCheckpoint(run_id);
  if (!checkpoint) throw std::runtime_error("run has no checkpoint to evaluate");
  edgefl::nn::Model model(checkpoint->spec);
  model.SetParameters(checkpoint->parameters);
  const edgefl::datasets::Dataset clean = edgefl::engine::LoadTestSet(config);
  for (double sigma : sigmas) {
    edgefl::datasets::Dataset shifted = clean;
    edgefl::Rng rng = edgefl::Rng::Derive(static_cast<uint64_t>(config.seed), {0x7368696674});
    float* x = shifted.features.data();
    for (Eigen::Index i = 0; i < shifted.features.size(); ++i) {
      const float v = x[i] + static_cast<float>(sigma * rng.Normal());
      x[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    out.push_back(edgefl::train::LocalTrainer::Evaluate(model, shifted).accuracy);
  }
  return out;
}

struct MeanStd {
  double mean = 0.0;
  double std = 0.0;  // sample standard deviation (n − 1)
};

MeanStd Summarise(const std::vector<double>& values) {
  MeanStd s;
  if (values.empty()) return s;
  for (double v : values)
    s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double sq = 0.0;
    for (double v : values)
      sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / static_cast<double>(values.size() - 1));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string base;
  std::string variants_text;
  std::string grid;
  std::string seeds_text = "1,2,3";
  std::string target_text = "0";
  std::string shift_text;
  std::string db = "seed_sweep.db";
  const bool parsed = edgefl::bench::Flags()
                          .Add("--config", &config_path)
                          .Add("--base", &base)
                          .Add("--variants", &variants_text)
                          .Add("--grid", &grid)
                          .Add("--seeds", &seeds_text)
                          .Add("--target", &target_text)
                          .Add("--shift-noise", &shift_text)
                          .Add("--db", &db)
                          .Parse(argc, argv);
  if (!parsed || variants_text.empty()) {
    std::fprintf(stderr,
                 "usage: %s [--config FILE] --base \"k=v;...\" --variants \"name:k=v;k=v|...\" "
                 "[--grid \"key=v1,v2\"] [--seeds 1,2,3] [--target ACC] [--shift-noise S1,S2] "
                 "[--db FILE]\n",
                 argv[0]);
    return 2;
  }
  try {
    const double target = std::stod(target_text);
    const std::vector<Variant> variants = ParseVariants(variants_text);
    const std::vector<std::string> seeds = SplitList(seeds_text);
    std::vector<double> sigmas;
    for (const std::string& s : SplitList(shift_text))
      sigmas.push_back(std::stod(s));
    std::string grid_key;
    std::vector<std::string> grid_values = {""};
    if (!grid.empty()) {
      const size_t eq = grid.find('=');
      if (eq == std::string::npos) throw std::runtime_error("--grid must be key=v1,v2,...");
      grid_key = grid.substr(0, eq);
      grid_values = SplitList(grid.substr(eq + 1));
    }
    std::printf("seed_sweep: base \"%s\"%s%s, seeds %s, target %.3f; runs logged in %s\n",
                base.c_str(), config_path.empty() ? "" : " on ", config_path.c_str(),
                seeds_text.c_str(), target, db.c_str());
    std::printf("%-10s %-16s %-22s %-22s %-14s %s\n", grid_key.empty() ? "-" : grid_key.c_str(),
                "variant", "final acc % (mean±std)", "best acc % (mean±std)", "rounds→target",
                "per seed final % [rounds→target, virtual s]");
    std::fflush(stdout);
    for (const std::string& value : grid_values) {
      for (const Variant& variant : variants) {
        std::vector<double> finals, bests, to_target;
        std::vector<std::vector<double>> shifted(sigmas.size());
        std::string per_seed;
        for (const std::string& seed : seeds) {
          std::vector<std::string> overrides = Split(base, ';');
          if (!grid_key.empty()) overrides.push_back(grid_key + "=" + value);
          overrides.insert(overrides.end(), variant.overrides.begin(), variant.overrides.end());
          overrides.push_back("seed=" + seed);
          overrides.push_back("db=" + db);
          overrides.push_back("run_name=sweep-" + variant.name + "-" + grid_key + value + "-s" +
                              seed);
          const auto config = edgefl::engine::LoadExperimentConfig(config_path, overrides);
          std::fprintf(stderr, "== %s %s=%s seed %s\n", variant.name.c_str(), grid_key.c_str(),
                       value.c_str(), seed.c_str());
          const auto result = edgefl::sim::RunSimulation(config, nullptr);
          const Outcome o = ReadOutcome(db, result, target);
          const std::vector<double> accs = ShiftedAccuracies(db, config, result.run_id, sigmas);
          for (size_t k = 0; k < accs.size(); ++k)
            shifted[k].push_back(100.0 * accs[k]);
          finals.push_back(100.0 * o.final_accuracy);
          bests.push_back(100.0 * o.best_accuracy);
          char buf[96];
          std::snprintf(buf, sizeof buf, " %.2f", 100.0 * o.final_accuracy);
          per_seed += buf;
          if (target > 0.0) {
            if (o.rounds_to_target) {
              to_target.push_back(static_cast<double>(*o.rounds_to_target));
              std::snprintf(buf, sizeof buf, " [%lld", static_cast<long long>(*o.rounds_to_target));
              per_seed += buf;
              if (o.virtual_to_target) {
                std::snprintf(buf, sizeof buf, ", %.0f s", *o.virtual_to_target);
                per_seed += buf;
              }
              per_seed += "]";
            } else {
              per_seed += " [never]";
            }
          }
        }
        const MeanStd f = Summarise(finals);
        const MeanStd b = Summarise(bests);
        char reach[32] = "-";
        if (target > 0.0) {
          const MeanStd t = Summarise(to_target);
          std::snprintf(reach, sizeof reach, "%.1f (%zu/%zu)", t.mean, to_target.size(),
                        seeds.size());
        }
        std::printf("%-10s %-16s %6.2f ± %-13.2f %6.2f ± %-13.2f %-14s%s\n", value.c_str(),
                    variant.name.c_str(), f.mean, f.std, b.mean, b.std, reach, per_seed.c_str());
        for (size_t k = 0; k < sigmas.size(); ++k) {
          const MeanStd sh = Summarise(shifted[k]);
          std::string values;
          for (double v : shifted[k]) {
            char buf[32];
            std::snprintf(buf, sizeof buf, " %.2f", v);
            values += buf;
          }
          std::printf("%-10s %-16s   shifted σ=%.2f: %6.2f ± %.2f  (per seed%s)\n", value.c_str(),
                      variant.name.c_str(), sigmas[k], sh.mean, sh.std, values.c_str());
        }
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seed_sweep: %s\n", e.what());
    return 1;
  }
}
