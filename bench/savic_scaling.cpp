// SAVIC's headline claim, "scaling speeds up Local SGD" (Chezhegov et al.,
// arXiv 2406.00846): Local SGD vs SAVIC (one diagonal scaling shared by all
// clients, made by the server; algorithms/savic.h) on Fashion-MNIST, each
// over a small learning-rate sweep and several seeds, through `edgefl sim`'s
// runner. Per method and lr: mean ± std over seeds of the test accuracy at
// an early round and at the last round, and the rounds needed to reach a
// target accuracy (a run that never reaches it counts as rounds + 1).
//
// Setting: mlp:784-64-10, a 12000-image training subset over 10 clients
// (all every round), 2000 test images, `local_steps` steps of batch 32,
// plain SGD steps (momentum 0) for both methods.
//
//   build/bench/savic_scaling [--partition iid|dirichlet] [--rounds N]
//       [--local-steps H] [--seeds 1,2,3] [--sgd-lrs 0.03,0.1,0.3]
//       [--savic-lrs 0.001,0.003,0.01] [--savic "key=value,..."]
//       [--target 75] [--db FILE]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"

namespace {

using edgefl::bench::SplitList;

struct Stats {
  double mean = 0, std = 0;
};

Stats MeanStd(const std::vector<double>& v) {
  Stats s;
  for (double x : v)
    s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v)
    s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string partition = "dirichlet";
  int64_t rounds = 30;
  int64_t local_steps = 10;
  std::string seeds = "1,2,3";
  std::string sgd_lrs = "0.03,0.1,0.3";
  std::string savic_lrs = "0.001,0.003,0.01";
  std::string savic = "savic_estimator=adam";
  int64_t target = 75;
  std::string db = "savic_scaling.db";
  const bool parsed = edgefl::bench::Flags()
                          .Add("--partition", &partition)
                          .Add("--rounds", &rounds)
                          .Add("--local-steps", &local_steps)
                          .Add("--seeds", &seeds)
                          .Add("--sgd-lrs", &sgd_lrs)
                          .Add("--savic-lrs", &savic_lrs)
                          .Add("--savic", &savic)
                          .Add("--target", &target)
                          .Add("--db", &db)
                          .Parse(argc, argv);
  if (!parsed) {
    std::fprintf(stderr,
                 "usage: %s [--partition iid|dirichlet] [--rounds N] [--local-steps H] "
                 "[--seeds a,b] [--sgd-lrs a,b] [--savic-lrs a,b] [--savic k=v,...] "
                 "[--target PERCENT] [--db FILE]\n",
                 argv[0]);
    return 2;
  }
  try {
    const int64_t early = std::max<int64_t>(1, rounds / 3);
    std::printf(
        "savic_scaling: fmnist mlp:784-64-10, partition %s, 10 clients, %lld rounds x %lld local "
        "steps, batch 32; savic %s; target %lld%%\n",
        partition.c_str(), static_cast<long long>(rounds), static_cast<long long>(local_steps),
        savic.c_str(), static_cast<long long>(target));
    std::printf("%-10s %8s %16s %16s %16s\n", "method", "lr",
                ("acc@" + std::to_string(early)).c_str(), ("acc@" + std::to_string(rounds)).c_str(),
                ("rounds to " + std::to_string(target) + "%").c_str());
    std::fflush(stdout);
    struct Best {
      std::string lr;
      Stats early, final, to_target;
    };
    std::map<std::string, Best> best;
    for (const std::string method : {"local_sgd", "savic"}) {
      for (const std::string& lr : SplitList(method == "savic" ? savic_lrs : sgd_lrs)) {
        std::vector<double> early_acc, final_acc, to_target;
        for (const std::string& seed : SplitList(seeds)) {
          std::vector<std::string> overrides = {
              "dataset=fmnist",
              "model=mlp:784-64-10",
              "partition=" + partition,
              "alpha=0.5",
              "clients=10",
              "clients_per_round=10",
              "train_subset=12000",
              "test_subset=2000",
              "local_steps=" + std::to_string(local_steps),
              "batch_size=32",
              "optimizer=sgd",
              "momentum=0",
              "lr=" + lr,
              "seed=" + seed,
              "rounds=" + std::to_string(rounds),
              "db=" + db,
              "run_name=" + partition + "-" + method + "-lr" + lr + "-s" + seed + "-r" +
                  std::to_string(rounds) + "-h" + std::to_string(local_steps) +
                  (method == "savic" ? "-" + savic : ""),
          };
          if (method == "savic") {
            overrides.push_back("strategy=savic");
            for (const std::string& kv : SplitList(savic))
              overrides.push_back(kv);
          } else {
            overrides.push_back("strategy=fedavg");
          }
          const auto config = edgefl::engine::LoadExperimentConfig({}, overrides);
          const auto result = edgefl::sim::RunSimulation(config, nullptr);
          edgefl::storage::ExperimentLog log(config.db);
          double at_early = 0, reached = static_cast<double>(rounds + 1);
          for (const auto& e : log.Evaluations(result.run_id)) {
            if (e.split != "test") continue;
            if (e.round == early) at_early = e.accuracy;
            if (e.round > 0 && 100 * e.accuracy >= static_cast<double>(target) &&
                reached > static_cast<double>(rounds)) {
              reached = static_cast<double>(e.round);
            }
          }
          early_acc.push_back(100 * at_early);
          final_acc.push_back(100 * result.final_accuracy);
          to_target.push_back(reached);
          std::fprintf(stderr, "  %s lr %s seed %s: acc@%lld %.2f%%, final %.2f%%, %g rounds\n",
                       method.c_str(), lr.c_str(), seed.c_str(), static_cast<long long>(early),
                       100 * at_early, 100 * result.final_accuracy, reached);
        }
        const Stats e = MeanStd(early_acc), f = MeanStd(final_acc), t = MeanStd(to_target);
        std::printf("%-10s %8s %7.2f ± %5.2f %7.2f ± %5.2f %7.1f ± %5.1f\n", method.c_str(),
                    lr.c_str(), e.mean, e.std, f.mean, f.std, t.mean, t.std);
        std::fflush(stdout);
        auto it = best.find(method);
        if (it == best.end() || f.mean > it->second.final.mean) best[method] = {lr, e, f, t};
      }
    }
    std::printf("\nbest lr of each (by mean final accuracy):\n");
    for (const auto& [method, b] : best) {
      std::printf("%-10s %8s %7.2f ± %5.2f %7.2f ± %5.2f %7.1f ± %5.1f\n", method.c_str(),
                  b.lr.c_str(), b.early.mean, b.early.std, b.final.mean, b.final.std,
                  b.to_target.mean, b.to_target.std);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "savic_scaling: %s\n", e.what());
    return 1;
  }
}
