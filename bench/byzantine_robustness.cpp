// Byzantine clients against the aggregation rules: final test accuracy of
// FedAvg (plain mean) and the robust rules (coordinate-wise median, trimmed
// mean, norm clipping) when a fraction of the clients attack, next to the
// clean FedAvg run, through `edgefl sim`'s runner.
//
// Setting: Fashion-MNIST (first --train-subset training samples, full test
// set), mlp:784-200-200-10, 20 clients, all every round, 1 local epoch,
// batch 32, lr 0.05, momentum 0.9, seed 1; 20% Byzantine (4 clients, a
// seeded choice). Attacks (train/byzantine.h): scale (update x100),
// sign_flip (update x-4), nan (rejected by the coordinator whatever the
// rule, so run with the mean only, at quorum 0.8).
// Rules: mean; median; trimmed_mean with trim_fraction 0.2 (drops 4 of 20 at
// each end per coordinate: at least the Byzantine count); norm_clip
// adaptive (each update clipped to the round's median update norm).
//
//   build/bench/byzantine_robustness [--rounds N] [--partition iid|dirichlet]
//       [--train-subset N] [--attacks scale,sign_flip,nan]
//       [--rules mean,median,trimmed_mean,norm_clip] [--threads T] [--db FILE]
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
using edgefl::engine::ExperimentConfig;

// Each aggregation rule as config overrides.
const std::map<std::string, std::vector<std::string>>& Rules() {
  static const std::map<std::string, std::vector<std::string>> rules = {
      {"mean", {"aggregator=mean"}},
      {"median", {"aggregator=median"}},
      {"trimmed_mean", {"aggregator=trimmed_mean", "trim_fraction=0.2"}},
      {"norm_clip", {"aggregator=norm_clip", "clip_bound=0", "clip_median_factor=1"}},
  };
  return rules;
}

struct Row {
  std::string attack, rule;
  double final_acc = 0, best_acc = 0, seconds = 0;
  int rejected = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t rounds = 30;
  int64_t train_subset = 20000;
  int64_t threads = 1;
  std::string partition = "iid";
  std::string attacks = "scale,sign_flip,nan";
  std::string rules = "mean,median,trimmed_mean,norm_clip";
  std::string db = "byzantine_robustness.db";
  const bool parsed = edgefl::bench::Flags()
                          .Add("--rounds", &rounds)
                          .Add("--partition", &partition)
                          .Add("--train-subset", &train_subset)
                          .Add("--attacks", &attacks)
                          .Add("--rules", &rules)
                          .Add("--threads", &threads)
                          .Add("--db", &db)
                          .Parse(argc, argv);
  if (!parsed) {
    std::fprintf(stderr,
                 "usage: %s [--rounds N] [--partition iid|dirichlet] [--train-subset N] "
                 "[--attacks scale,sign_flip,nan] [--rules mean,median,trimmed_mean,norm_clip] "
                 "[--threads T] [--db FILE]\n",
                 argv[0]);
    return 2;
  }
  try {
    // Fresh log: the run names repeat between invocations.
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
    const std::vector<std::string> setting = {
        "dataset=fmnist",
        "model=mlp:784-200-200-10",
        "partition=" + partition,
        "alpha=0.5",
        "clients=20",
        "clients_per_round=20",
        "local_epochs=1",
        "batch_size=32",
        "lr=0.05",
        "momentum=0.9",
        "seed=1",
        "eval_every=5",
        "rounds=" + std::to_string(rounds),
        "train_subset=" + std::to_string(train_subset),
        "threads=" + std::to_string(threads),
        "db=" + db,
    };
    std::printf(
        "byzantine_robustness: fmnist %s (first %lld train samples), mlp:784-200-200-10, 20 "
        "clients all per round, %lld rounds x 1 epoch, 20%% Byzantine; runs logged in %s\n",
        partition.c_str(), static_cast<long long>(train_subset), static_cast<long long>(rounds),
        db.c_str());
    std::fflush(stdout);

    std::vector<Row> rows;
    auto run = [&](const std::string& attack, const std::string& rule) {
      const auto it = Rules().find(rule);
      if (it == Rules().end()) throw std::runtime_error("unknown rule " + rule);
      std::vector<std::string> overrides = setting;
      overrides.insert(overrides.end(), it->second.begin(), it->second.end());
      if (attack != "none") {
        overrides.push_back("byzantine_fraction=0.2");
        overrides.push_back("byzantine_mode=" + attack);
        // Rejected NaN updates count against the quorum; at the default 1
        // no round would aggregate. 0.8: the 16 honest clients suffice.
        if (attack == "nan") overrides.push_back("quorum=0.8");
      }
      overrides.push_back("run_name=byz-" + attack + "-" + rule);
      const ExperimentConfig config = edgefl::engine::LoadExperimentConfig({}, overrides);
      std::fprintf(stderr, "== attack %s, rule %s\n", attack.c_str(), rule.c_str());
      const auto result = edgefl::sim::RunSimulation(config, stderr);
      Row row{attack, rule, result.final_accuracy, result.best_accuracy, result.seconds, 0};
      edgefl::storage::ExperimentLog log(db);
      for (const auto& u : log.ClientUpdates(result.run_id)) {
        if (u.status == edgefl::storage::UpdateStatus::kRejected) ++row.rejected;
      }
      std::printf("  %-10s %-13s final %.4f  best %.4f  rejected %d  %.0f s\n", attack.c_str(),
                  rule.c_str(), row.final_acc, row.best_acc, row.rejected, row.seconds);
      std::fflush(stdout);
      rows.push_back(row);
    };

    run("none", "mean");
    for (const std::string& attack : SplitList(attacks)) {
      // NaN updates never reach a rule (the coordinator rejects them): one run.
      for (const std::string& rule :
           attack == "nan" ? std::vector<std::string>{"mean"} : SplitList(rules))
        run(attack, rule);
    }

    const double clean = rows.front().final_acc;
    std::printf("\n%-10s %-13s %10s %10s %14s %9s %8s\n", "attack", "rule", "final acc", "best acc",
                "gap to clean", "rejected", "time");
    for (const Row& row : rows) {
      std::printf("%-10s %-13s %9.2f%% %9.2f%% %+11.2f pt %9d %6.0f s\n", row.attack.c_str(),
                  row.rule.c_str(), 100 * row.final_acc, 100 * row.best_acc,
                  100 * (row.final_acc - clean), row.rejected, row.seconds);
    }
    int misses = 0;
    for (const Row& row : rows) {
      if (row.rule != "mean" && 100 * (clean - row.final_acc) > 2.0) {
        std::printf("MISS: %s under %s is %.2f points below the clean run (target: within 2)\n",
                    row.rule.c_str(), row.attack.c_str(), 100 * (clean - row.final_acc));
        ++misses;
      }
    }
    std::printf("robust rules within 2 points of clean FedAvg (%.2f%%): %s\n", 100 * clean,
                misses == 0 ? "all" : (std::to_string(misses) + " miss(es)").c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "byzantine_robustness: %s\n", e.what());
    return 1;
  }
}
