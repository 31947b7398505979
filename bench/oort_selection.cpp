// Client selection on a heterogeneous fleet: Oort (Lai et al., OSDI 2021)
// vs uniform random vs curriculum selection (Vahidian et al., ICCV 2023),
// by time-to-accuracy on the simulator's virtual clock and final accuracy.
//
// Setting (every run): Fashion-MNIST, Dir(0.5) over 32 clients, 8 per
// round, mlp:784-200-10, SGD lr 0.05, batch 32, H = 20 local steps; client
// speeds uniform in [100, 800] samples/s (speed_spread 8), unlimited
// bandwidth, always on, no dropout, no deadline (a sync round lasts as long
// as its slowest member). Each selector runs --rounds rounds, evaluated on
// the test set after every round, for each seed (the seed draws the
// partition, the fleet, the initial model and the selection).
//   uniform     k clients uniformly at random (FedAvg's sampling)
//   curriculum  the curriculum selector, its code's defaults (order
//               curriculum, linear pacing a = 0.2, b = 0.4)
//   oort        the Oort selector, the authors' defaults (argParser.py)
//   oort-nosys  Oort with round_penalty = 0 (statistical utility only)
//
//   build/bench/oort_selection [--rounds N] [--seeds 1,2,3] [--targets 0.75,0.8]
//       [--selectors uniform,curriculum,oort,oort-nosys] [--db FILE]
// Prints, per selector and seed, the final and best accuracy, the virtual
// seconds of the whole run and of the first round reaching each target
// test accuracy, then the mean ± std over seeds (over the seeds that reached
// it; "reached" counts them).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"

namespace {

using edgefl::bench::SplitList;

const std::map<std::string, std::vector<std::string>>& Selectors() {
  static const std::map<std::string, std::vector<std::string>> selectors = {
      {"uniform", {"selector=uniform"}},
      {"curriculum", {"selector=curriculum"}},
      {"oort", {"selector=oort"}},
      {"oort-nosys", {"selector=oort", "selector_round_penalty=0"}},
  };
  return selectors;
}

struct Outcome {
  double final_accuracy = 0.0;
  double best_accuracy = 0.0;
  double virtual_seconds = 0.0;  // the whole run
  // Per target: virtual seconds at the end of the first round evaluated at
  // or over it (absent: never reached).
  std::map<double, double> time_to_target;
};

struct Stat {
  double mean = 0.0, std = 0.0;
  size_t n = 0;
};

Stat Summary(const std::vector<double>& v) {
  Stat s;
  s.n = v.size();
  if (v.empty()) return s;
  for (double x : v)
    s.mean += x / static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0.0;
    for (double x : v)
      ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));  // sample std
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rounds = 60;
  std::string seeds = "1,2,3";
  std::string targets_text = "0.75,0.8";
  std::string selectors = "uniform,curriculum,oort,oort-nosys";
  std::string db = (std::filesystem::temp_directory_path() / "edgefl-oort-bench.db").string();
  const bool parsed = edgefl::bench::Flags()
                          .Add("--rounds", &rounds)
                          .Add("--seeds", &seeds)
                          .Add("--targets", &targets_text)
                          .Add("--selectors", &selectors)
                          .Add("--db", &db)
                          .Parse(argc, argv);
  if (!parsed) {
    std::fprintf(stderr,
                 "usage: oort_selection [--rounds N] [--seeds 1,2,3] [--targets 0.75,0.8] "
                 "[--selectors uniform,curriculum,oort,oort-nosys] [--db FILE]\n");
    return 2;
  }
  std::vector<double> targets;
  for (const std::string& t : SplitList(targets_text))
    targets.push_back(std::stod(t));
  std::filesystem::remove(db);

  std::map<std::string, std::vector<Outcome>> all;
  for (const std::string& name : SplitList(selectors)) {
    if (!Selectors().contains(name)) {
      std::fprintf(stderr, "unknown selector %s\n", name.c_str());
      return 2;
    }
    for (const std::string& seed : SplitList(seeds)) {
      std::vector<std::string> overrides = {"dataset=fmnist",
                                            "partition=dirichlet",
                                            "alpha=0.5",
                                            "clients=32",
                                            "clients_per_round=8",
                                            "model=mlp:784-200-10",
                                            "local_steps=20",
                                            "batch_size=32",
                                            "lr=0.05",
                                            "speed_dist=uniform",
                                            "speed_spread=8",
                                            "base_speed=100",
                                            "eval_every=1",
                                            "rounds=" + std::to_string(rounds),
                                            "seed=" + seed,
                                            "db=" + db,
                                            "run_name=" + name + "-seed" + seed};
      const std::vector<std::string>& keys = Selectors().at(name);
      overrides.insert(overrides.end(), keys.begin(), keys.end());
      const edgefl::engine::ExperimentConfig config =
          edgefl::engine::LoadExperimentConfig({}, overrides);
      const edgefl::sim::SimulationResult r = edgefl::sim::RunSimulation(config, nullptr);

      Outcome o;
      o.final_accuracy = r.final_accuracy;
      o.best_accuracy = r.best_accuracy;
      edgefl::storage::ExperimentLog log(db);
      std::map<int64_t, double> accuracy;
      for (const auto& e : log.Evaluations(r.run_id)) {
        if (e.split == "test") accuracy[e.round] = e.accuracy;
      }
      for (const auto& round : log.Rounds(r.run_id)) {
        const double t = round.virtual_time.value_or(0.0);
        o.virtual_seconds = t;
        if (!accuracy.contains(round.round)) continue;
        for (double target : targets) {
          if (!o.time_to_target.contains(target) && accuracy[round.round] >= target) {
            o.time_to_target[target] = t;
          }
        }
      }
      std::printf("%-11s seed %-3s final %.2f%%  best %.2f%%  run %.0f virtual s", name.c_str(),
                  seed.c_str(), 100 * o.final_accuracy, 100 * o.best_accuracy, o.virtual_seconds);
      for (double target : targets) {
        if (o.time_to_target.contains(target)) {
          std::printf("  to %.0f%%: %.0f s", 100 * target, o.time_to_target.at(target));
        } else {
          std::printf("  to %.0f%%: -", 100 * target);
        }
      }
      std::printf("\n");
      std::fflush(stdout);
      all[name].push_back(o);
    }
  }

  std::printf("\n%lld rounds, seeds %s; mean ± std over seeds (sample std)\n",
              static_cast<long long>(rounds), seeds.c_str());
  std::printf("%-11s %16s %16s %16s", "selector", "final acc (%)", "best acc (%)",
              "run (virtual s)");
  for (double target : targets)
    std::printf("  %14s%3.0f%% %s", "time to", 100 * target, "reached");
  std::printf("\n");
  for (const std::string& name : SplitList(selectors)) {
    std::vector<double> final_acc, best_acc, run_time;
    for (const Outcome& o : all[name]) {
      final_acc.push_back(100 * o.final_accuracy);
      best_acc.push_back(100 * o.best_accuracy);
      run_time.push_back(o.virtual_seconds);
    }
    const Stat f = Summary(final_acc), b = Summary(best_acc), t = Summary(run_time);
    std::printf("%-11s %8.2f ± %5.2f %8.2f ± %5.2f %9.0f ± %4.0f", name.c_str(), f.mean, f.std,
                b.mean, b.std, t.mean, t.std);
    for (double target : targets) {
      std::vector<double> reach_time;
      for (const Outcome& o : all[name]) {
        if (o.time_to_target.contains(target)) reach_time.push_back(o.time_to_target.at(target));
      }
      const Stat r = Summary(reach_time);
      if (r.n > 0) {
        std::printf("  %9.0f ± %4.0f s %3zu/%zu", r.mean, r.std, r.n, f.n);
      } else {
        std::printf("  %16s %3zu/%zu", "-", r.n, f.n);
      }
    }
    std::printf("\n");
  }
  return 0;
}
