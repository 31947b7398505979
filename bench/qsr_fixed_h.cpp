// QSR's headline (Gu et al., ICLR 2024): at the same number of steps and the
// same cosine learning rate, Local SGD whose period follows the Quadratic
// Synchronization Rule, H = max(H_base, ⌊(α/η)²⌋), generalises at least as
// well as a constant H = H_base while averaging less often, and better than a
// constant H that communicates as little.
//
// Setting (data-parallel Local SGD, as in the paper; small enough for a CPU):
// Fashion-MNIST, the first `--train-subset` training images split IID over 8
// clients that all train every round, mlp:784-64-10 (--model), batch 64, Local
// SGD with momentum 0.9 kept on each client (reset_optimizer = false, as the
// authors' code keeps it on the workers), lr 0.05 (--lr) on a cosine over the step budget
// with a 30-step warm-up, the same budget of local steps for every arm. Each
// arm is `edgefl sim`'s runner with qsr = true; a constant H is qsr_alpha = 0
// (H = qsr_h_base on the same schedule and budget).
//
//   build/bench/qsr_fixed_h [--steps 1000] [--seeds 1,2,3] [--h-base 4]
//       [--alpha 0.05] [--constant 4,6,16] [--train-subset 8000] [--model SPEC]
//       [--lr 0.05] [--db FILE]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"

namespace {

using edgefl::bench::SplitList;

struct Arm {
  std::string name;                    // "qsr", "H=4"
  std::vector<std::string> overrides;  // on top of the setting
};

struct Stats {
  double mean = 0.0;
  double std = 0.0;  // sample standard deviation
};

Stats MeanStd(const std::vector<double>& values) {
  Stats s;
  if (values.empty()) return s;
  for (double v : values)
    s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    for (double v : values)
      s.std += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(s.std / static_cast<double>(values.size() - 1));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 1000;
  int64_t h_base = 4;
  int64_t train_subset = 8000;
  std::string alpha = "0.05";
  std::string seeds = "1,2,3";
  std::string constant = "4,6,16";
  std::string db = "qsr_fixed_h.db";
  std::string model = "mlp:784-64-10";
  std::string lr = "0.05";
  const bool parsed = edgefl::bench::Flags()
                          .Add("--steps", &steps)
                          .Add("--h-base", &h_base)
                          .Add("--alpha", &alpha)
                          .Add("--seeds", &seeds)
                          .Add("--constant", &constant)
                          .Add("--train-subset", &train_subset)
                          .Add("--db", &db)
                          .Add("--model", &model)
                          .Add("--lr", &lr)
                          .Parse(argc, argv);
  if (!parsed) {
    std::fprintf(stderr,
                 "usage: %s [--steps N] [--seeds 1,2,3] [--h-base H] [--alpha A] "
                 "[--constant 4,6,16] [--train-subset N] [--model SPEC] [--lr LR] [--db FILE]\n",
                 argv[0]);
    return 2;
  }
  try {
    std::vector<Arm> arms;
    arms.push_back({"qsr", {"qsr_h_base=" + std::to_string(h_base), "qsr_alpha=" + alpha}});
    for (const std::string& h : SplitList(constant))
      arms.push_back({"H=" + h, {"qsr_h_base=" + h, "qsr_alpha=0"}});

    std::printf("qsr_fixed_h: %lld local steps per client, seeds %s; runs logged in %s\n",
                static_cast<long long>(steps), seeds.c_str(), db.c_str());
    std::fflush(stdout);
    std::map<std::string, std::vector<double>> accuracy, rounds;
    for (const std::string& seed : SplitList(seeds)) {
      for (const Arm& arm : arms) {
        std::vector<std::string> overrides = {
            "dataset=fmnist",
            "partition=iid",
            "clients=8",
            "clients_per_round=8",
            "train_subset=" + std::to_string(train_subset),
            "model=" + model,
            "batch_size=64",
            "lr=" + lr,
            "momentum=0.9",
            "reset_optimizer=false",
            "lr_schedule=cosine",
            "lr_warmup_steps=30",
            "qsr=true",
            "qsr_total_steps=" + std::to_string(steps),
            "rounds=1000000",  // an upper bound: the step budget ends the run
            "eval_every=1000000",
            "keep_checkpoints=1",
            "seed=" + seed,
            "db=" + db,
            "run_name=qsr-fixed-h-" + arm.name + "-T" + std::to_string(steps) + "-" + model +
                "-lr" + lr + "-s" + seed};
        overrides.insert(overrides.end(), arm.overrides.begin(), arm.overrides.end());
        const edgefl::engine::ExperimentConfig config =
            edgefl::engine::LoadExperimentConfig({}, overrides);
        const auto result = edgefl::sim::RunSimulation(config, nullptr);
        if (!result.budget_spent) throw std::runtime_error(arm.name + ": the budget was not spent");
        accuracy[arm.name].push_back(result.final_accuracy);
        rounds[arm.name].push_back(static_cast<double>(result.last_round));
        std::printf("  seed %s  %-6s test acc %.4f  rounds %lld\n", seed.c_str(), arm.name.c_str(),
                    result.final_accuracy, static_cast<long long>(result.last_round));
        std::fflush(stdout);
      }
    }
    std::printf("\n%-6s %18s %12s\n", "arm", "test acc (%)", "averagings");
    for (const Arm& arm : arms) {
      const Stats a = MeanStd(accuracy[arm.name]);
      const Stats r = MeanStd(rounds[arm.name]);
      std::printf("%-6s %9.2f ± %5.2f %12.0f\n", arm.name.c_str(), 100 * a.mean, 100 * a.std,
                  r.mean);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qsr_fixed_h: %s\n", e.what());
    return 1;
  }
}
