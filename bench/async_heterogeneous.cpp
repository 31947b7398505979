// Asynchronous federation on heterogeneous clients: sync FedAvg, FedBuff,
// naive async (fedasync) and Delayed Nesterov + DyLU (async_dn) on the same
// simulated fleet, compared by test accuracy against the number of client
// updates applied and against the virtual wall-clock (heterogeneity.h).
//
// Setting (all runs): Fashion-MNIST, Dir(0.5) over 32 clients, mlp:784-200-10,
// SGD lr 0.05, batch 32, H = 20 local steps; client speeds uniform in
// [100, 800] samples/s (speed_spread 8), unlimited bandwidth, always on, no
// dropout. Sync FedAvg and fedasync get a budget of client updates (default
// 1,600 = 50 sync rounds of all 32 clients), FedBuff and async_dn twice as
// many (they are far cheaper in virtual time, and the question is when they
// reach sync's accuracy); every run is evaluated every 64 updates.
//   fedavg    sync, all 32 clients per round (a round lasts as long as the slowest)
//   fedbuff   K = 8, polynomial staleness weight (a = 0.5), server lr 1,
//             the plain mean of the buffer (the paper's rule)
//   fedasync  each model mixed in on arrival, θ ← (1 − α_s)θ + α_s θ_k,
//             α_s = α/√(1+s), α = --fedasync-mixing (0.6; FedAsync+Poly)
//   async_dn  DN with N = 32, outer lr (--dn-lr, 0.4), β (--dn-momentum, 0.9),
//             c = 0, and DyLU (H scaled by speed / fastest speed)
//
//   build/bench/async_heterogeneous [--updates N] [--dn-lr X] [--dn-momentum B]
//       [--fedasync-mixing A] [--runs fedavg,fedbuff,fedasync,async_dn+dylu]
//       [--seeds S] [--same-budget 1] [--csv FILE] [--db FILE]
// Prints a table (final and best accuracy, updates and virtual seconds to
// reach sync FedAvg's final accuracy, when fedavg is among the runs) and
// writes the curves as CSV (run, updates, round, virtual_seconds, accuracy;
// with --seeds S > 1 a leading seed column). --same-budget 1 gives every run
// N updates. With S > 1 seeds (seed = 1..S: the partition, the fleet's speeds
// and the initial model change) it also prints mean ± std over the seeds of
// the accuracy at equal client updates (every 320) and at equal virtual time
// (the time at which the quickest run of the seed ends its budget, and half
// of it).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"

namespace {

struct Point {
  int64_t updates = 0;
  int64_t round = 0;
  double virtual_seconds = 0.0;
  double accuracy = 0.0;
};

struct Run {
  std::string name;
  std::vector<Point> curve;
  double final_accuracy = 0.0;
  double best_accuracy = 0.0;
  double host_seconds = 0.0;
};

// The evaluated rounds of `run_id` with cumulative accepted updates.
std::vector<Point> Curve(edgefl::storage::ExperimentLog& log, int64_t run_id) {
  std::map<int64_t, double> accuracy;
  for (const auto& e : log.Evaluations(run_id)) {
    if (e.split == "test") accuracy[e.round] = e.accuracy;
  }
  std::vector<Point> out;
  out.push_back({0, 0, 0.0, accuracy.count(0) ? accuracy[0] : 0.0});
  int64_t updates = 0;
  for (const auto& r : log.Rounds(run_id)) {
    updates += r.completed;
    if (!accuracy.count(r.round)) continue;
    out.push_back({updates, r.round, r.virtual_time.value_or(0.0), accuracy[r.round]});
  }
  return out;
}

std::optional<Point> FirstReaching(const std::vector<Point>& curve, double accuracy) {
  for (const Point& p : curve) {
    if (p.accuracy >= accuracy) return p;
  }
  return std::nullopt;
}

// The accuracy of the last evaluation at or before `updates` updates / `time`
// virtual seconds.
double AccuracyAtUpdates(const std::vector<Point>& curve, int64_t updates) {
  double out = 0.0;
  for (const Point& p : curve) {
    if (p.updates <= updates) out = p.accuracy;
  }
  return out;
}

double AccuracyAtTime(const std::vector<Point>& curve, double time) {
  double out = 0.0;
  for (const Point& p : curve) {
    if (p.virtual_seconds <= time + 1e-9) out = p.accuracy;
  }
  return out;
}

// "mean ± std" in percent (sample std; 0 for one value).
std::string MeanStd(const std::vector<double>& values) {
  double mean = 0.0;
  for (double v : values)
    mean += v;
  mean /= static_cast<double>(values.size());
  double var = 0.0;
  for (double v : values)
    var += (v - mean) * (v - mean);
  const double sd =
      values.size() > 1 ? std::sqrt(var / static_cast<double>(values.size() - 1)) : 0.0;
  char text[64];
  std::snprintf(text, sizeof text, "%.2f ± %.2f", 100 * mean, 100 * sd);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t updates = 1600;
  std::string dn_lr = "0.4", dn_momentum = "0.9", fedasync_mixing = "0.6";
  std::string run_list = "fedavg,fedbuff,fedasync,async_dn+dylu";
  int64_t seeds = 1, same_budget = 0;
  std::string csv = "bench/results/async_heterogeneous.csv";
  std::string db = (std::filesystem::temp_directory_path() / "edgefl-async-bench.db").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--updates") {
      updates = std::stoll(argv[i + 1]);
    } else if (flag == "--dn-lr") {
      dn_lr = argv[i + 1];
    } else if (flag == "--dn-momentum") {
      dn_momentum = argv[i + 1];
    } else if (flag == "--fedasync-mixing") {
      fedasync_mixing = argv[i + 1];
    } else if (flag == "--runs") {
      run_list = argv[i + 1];
    } else if (flag == "--seeds") {
      seeds = std::stoll(argv[i + 1]);
    } else if (flag == "--same-budget") {
      same_budget = std::stoll(argv[i + 1]);
    } else if (flag == "--csv") {
      csv = argv[i + 1];
    } else if (flag == "--db") {
      db = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::filesystem::remove(db);
  const int64_t clients = 32, eval_updates = 64, buffer = 8;
  // FedBuff and async_dn get twice the updates (they are far cheaper in
  // virtual time) unless --same-budget 1.
  const int64_t more = same_budget != 0 ? updates : 2 * updates;
  auto n = [](int64_t v) { return std::to_string(v); };
  const std::map<std::string, std::vector<std::string>> known = {
      {"fedavg",
       {"strategy=fedavg", "rounds=" + n(updates / clients),
        "eval_every=" + n(eval_updates / clients)}},
      {"fedbuff",
       {"mode=async", "strategy=fedbuff", "buffer_size=" + n(buffer), "rounds=" + n(more / buffer),
        "eval_every=" + n(eval_updates / buffer)}},
      {"fedasync",
       {"mode=async", "strategy=fedasync", "mixing=" + fedasync_mixing,
        "staleness_weight=polynomial", "staleness_exponent=0.5", "rounds=" + n(updates),
        "eval_every=" + n(eval_updates)}},
      {"async_dn+dylu",
       {"mode=async", "strategy=async_dn", "dylu=true", "outer_lr=" + dn_lr,
        "outer_momentum=" + dn_momentum, "buffer_size=" + n(clients), "rounds=" + n(more),
        "eval_every=" + n(eval_updates)}},
  };
  std::vector<std::string> run_names = edgefl::bench::SplitList(run_list);
  for (const std::string& name : run_names) {
    if (!known.count(name)) {
      std::fprintf(stderr, "unknown run %s (fedavg, fedbuff, fedasync, async_dn+dylu)\n",
                   name.c_str());
      return 2;
    }
  }

  // by_seed[s][r]: run r of seed s + 1.
  std::vector<std::vector<Run>> by_seed;
  for (int64_t seed = 1; seed <= seeds; ++seed) {
    std::vector<Run> runs;
    for (const std::string& name : run_names) {
      std::vector<std::string> overrides = {"dataset=fmnist",
                                            "partition=dirichlet",
                                            "alpha=0.5",
                                            "clients=32",
                                            "clients_per_round=32",
                                            "model=mlp:784-200-10",
                                            "local_steps=20",
                                            "batch_size=32",
                                            "lr=0.05",
                                            "speed_dist=uniform",
                                            "speed_spread=8",
                                            "base_speed=100",
                                            "seed=" + n(seed),
                                            "db=" + db};
      const std::vector<std::string>& keys = known.at(name);
      overrides.insert(overrides.end(), keys.begin(), keys.end());
      overrides.push_back("run_name=" + name + "-seed" + n(seed));
      const edgefl::engine::ExperimentConfig config =
          edgefl::engine::LoadExperimentConfig({}, overrides);
      const edgefl::sim::SimulationResult r = edgefl::sim::RunSimulation(config, nullptr);
      edgefl::storage::ExperimentLog log(db);
      Run run;
      run.name = name;
      run.curve = Curve(log, r.run_id);
      run.final_accuracy = r.final_accuracy;
      run.best_accuracy = r.best_accuracy;
      run.host_seconds = r.seconds;
      std::printf("seed %lld %-14s done: final %.2f%%  best %.2f%%  virtual %.0f s  host %.0f s\n",
                  static_cast<long long>(seed), name.c_str(), 100 * run.final_accuracy,
                  100 * run.best_accuracy, run.curve.back().virtual_seconds, run.host_seconds);
      std::fflush(stdout);
      runs.push_back(std::move(run));
    }
    by_seed.push_back(std::move(runs));
  }

  if (seeds > 1) {
    // Equal client updates: every 320 up to the smallest budget.
    int64_t budget = INT64_MAX;
    for (const Run& run : by_seed.front())
      budget = std::min(budget, run.curve.back().updates);
    std::printf("\nAccuracy (%%) at equal client updates, mean ± std over %lld seeds\n",
                static_cast<long long>(seeds));
    std::printf("%-14s", "run");
    for (int64_t u = 320; u <= budget; u += 320)
      std::printf(" %16lld", static_cast<long long>(u));
    std::printf("\n");
    for (size_t r = 0; r < run_names.size(); ++r) {
      std::printf("%-14s", run_names[r].c_str());
      for (int64_t u = 320; u <= budget; u += 320) {
        std::vector<double> values;
        for (const auto& runs : by_seed)
          values.push_back(AccuracyAtUpdates(runs[r].curve, u));
        std::printf(" %16s", MeanStd(values).c_str());
      }
      std::printf("\n");
    }
    // Equal virtual time: per seed, T = the end of the quickest run.
    std::vector<double> horizon;
    for (const auto& runs : by_seed) {
      double t = 1e300;
      for (const Run& run : runs)
        t = std::min(t, run.curve.back().virtual_seconds);
      horizon.push_back(t);
    }
    std::printf(
        "\nAccuracy (%%) at equal virtual time T (per seed, the end of the quickest run; T =");
    for (double t : horizon)
      std::printf(" %.1f", t);
    std::printf(" s), mean ± std\n%-14s %16s %16s\n", "run", "T/2", "T");
    for (size_t r = 0; r < run_names.size(); ++r) {
      std::vector<double> half, full;
      for (size_t k = 0; k < by_seed.size(); ++k) {
        half.push_back(AccuracyAtTime(by_seed[k][r].curve, horizon[k] / 2));
        full.push_back(AccuracyAtTime(by_seed[k][r].curve, horizon[k]));
      }
      std::printf("%-14s %16s %16s\n", run_names[r].c_str(), MeanStd(half).c_str(),
                  MeanStd(full).c_str());
    }
  }

  if (!csv.empty()) {
    std::filesystem::create_directories(std::filesystem::path(csv).parent_path());
    std::ofstream out(csv);
    out << (seeds > 1 ? "seed," : "") << "run,updates,round,virtual_seconds,accuracy\n";
    for (size_t k = 0; k < by_seed.size(); ++k) {
      for (const Run& run : by_seed[k]) {
        for (const Point& p : run.curve) {
          if (seeds > 1) out << k + 1 << ',';
          out << run.name << ',' << p.updates << ',' << p.round << ',' << p.virtual_seconds << ','
              << p.accuracy << '\n';
        }
      }
    }
    std::printf("curves: %s\n", csv.c_str());
  }

  const std::vector<Run>& results = by_seed.front();
  if (results.front().name != "fedavg") return 0;
  const Run& sync = results.front();
  const double target = sync.final_accuracy;
  const std::optional<Point> sync_reach = FirstReaching(sync.curve, target);
  const double sync_time = sync.curve.back().virtual_seconds;
  std::printf(
      "\nTarget: sync FedAvg's final accuracy %.2f%% (after %lld updates, %.0f virtual s)\n",
      100 * target, static_cast<long long>(sync.curve.back().updates), sync_time);
  std::printf("%-14s %8s %8s %10s %14s %12s %10s\n", "run", "final", "best", "updates",
              "updates@target", "vtime@target", "vs sync");
  for (const Run& run : results) {
    const std::optional<Point> reach = FirstReaching(run.curve, target);
    char updates_at[32] = "-", time_at[32] = "-", ratio[32] = "-";
    if (reach) {
      std::snprintf(updates_at, sizeof updates_at, "%lld", static_cast<long long>(reach->updates));
      std::snprintf(time_at, sizeof time_at, "%.0f s", reach->virtual_seconds);
      std::snprintf(ratio, sizeof ratio, "%.2fx", reach->virtual_seconds / sync_time);
    }
    std::printf("%-14s %7.2f%% %7.2f%% %10lld %14s %12s %10s\n", run.name.c_str(),
                100 * run.final_accuracy, 100 * run.best_accuracy,
                static_cast<long long>(run.curve.back().updates), updates_at, time_at, ratio);
  }
  if (sync_reach) {
    std::printf("(sync FedAvg first reaches its final accuracy at %lld updates, %.0f virtual s)\n",
                static_cast<long long>(sync_reach->updates), sync_reach->virtual_seconds);
  }

  return 0;
}
