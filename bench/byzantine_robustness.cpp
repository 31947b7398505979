// Byzantine clients against the aggregation rules: final test accuracy of
// FedAvg (plain mean) and the robust rules when a fraction of the clients
// attack, next to the clean FedAvg run, through `edgefl sim`'s runner, over
// one or more seeds (mean ± std across seeds; the gap to clean is paired per
// seed).
//
// Setting: Fashion-MNIST (first --train-subset training samples, full test
// set), mlp:784-200-200-10, 20 clients, all every round, 1 local epoch,
// batch 32, lr 0.05, momentum 0.9; 20% Byzantine (4 clients, a seeded
// choice). Attacks (train/byzantine.h): scale (update x100), sign_flip
// (update x-4), nan (rejected by the coordinator whatever the rule, run at
// quorum 0.8: the rule sees the 16 honest updates only).
// Rules: mean; median; trimmed_mean with trim_fraction 0.2 (drops 4 of 20 at
// each end per coordinate: at least the Byzantine count); norm_clip
// adaptive (each update clipped to the round's median update norm);
// centered_clip (τ = --cc-tau, L = 3); and with buckets of 2 (Karimireddy et
// al. 2022): bucket_median, bucket_trimmed_mean (trim_fraction 0.4: b = f = 4
// of the 10 bucket means per side, as the authors' code), bucket_cc;
// multi_krum (Blanchard et al. 2017) with f = 4 (the attackers' count), m =
// n − f = 16, and multi_krum_f2, f underestimated as 2 (m = 18); and after
// nearest-neighbour mixing with f = 4 (Allouah et al. 2023): nnm_median,
// nnm_trimmed_mean (trim_fraction 0.2), nnm_norm_clip, nnm_cc.
// --nan-rules all runs every rule under nan; the default runs the mean only.
//
//   build/bench/byzantine_robustness [--rounds N] [--partition iid|dirichlet]
//       [--train-subset N] [--attacks scale,sign_flip,nan] [--rules mean,median,...]
//       [--seeds 1,2,3] [--cc-tau T] [--nan-rules mean|all] [--threads T] [--db FILE]
//       [--extra key=value,...]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"

namespace {

using edgefl::bench::SplitList;
using edgefl::engine::ExperimentConfig;

// Each aggregation rule as config overrides.
std::map<std::string, std::vector<std::string>> Rules(const std::string& cc_tau) {
  const std::string tau = "cc_tau=" + cc_tau;
  return {
      {"mean", {"aggregator=mean"}},
      {"median", {"aggregator=median"}},
      {"trimmed_mean", {"aggregator=trimmed_mean", "trim_fraction=0.2"}},
      {"norm_clip", {"aggregator=norm_clip", "clip_bound=0", "clip_median_factor=1"}},
      {"cc", {"aggregator=centered_clip", tau, "cc_iterations=3"}},
      {"bucket_median", {"aggregator=median", "bucket_size=2"}},
      {"bucket_trimmed_mean", {"aggregator=trimmed_mean", "trim_fraction=0.4", "bucket_size=2"}},
      {"bucket_cc", {"aggregator=centered_clip", tau, "cc_iterations=3", "bucket_size=2"}},
      {"multi_krum", {"aggregator=multi_krum", "krum_byzantine=4"}},
      {"multi_krum_f2", {"aggregator=multi_krum", "krum_byzantine=2"}},
      {"nnm_median", {"aggregator=median", "nnm_byzantine=4"}},
      {"nnm_trimmed_mean", {"aggregator=trimmed_mean", "trim_fraction=0.2", "nnm_byzantine=4"}},
      {"nnm_norm_clip",
       {"aggregator=norm_clip", "clip_bound=0", "clip_median_factor=1", "nnm_byzantine=4"}},
      {"nnm_cc", {"aggregator=centered_clip", tau, "cc_iterations=3", "nnm_byzantine=4"}},
  };
}

struct Row {
  std::string attack, rule;
  std::vector<double> final_acc, gap;  // per seed; gap = final − clean of that seed
  int rejected = 0;
  double seconds = 0;
};

// Mean and sample standard deviation (0 for one value).
std::pair<double, double> MeanStd(const std::vector<double>& x) {
  double mean = 0.0;
  for (double v : x)
    mean += v / static_cast<double>(x.size());
  double ss = 0.0;
  for (double v : x)
    ss += (v - mean) * (v - mean);
  return {mean, x.size() > 1 ? std::sqrt(ss / static_cast<double>(x.size() - 1)) : 0.0};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rounds = 30;
  int64_t train_subset = 20000;
  int64_t threads = 1;
  std::string partition = "iid";
  std::string attacks = "scale,sign_flip,nan";
  std::string rules =
      "mean,median,trimmed_mean,norm_clip,cc,bucket_median,bucket_trimmed_mean,bucket_cc";
  std::string seeds = "1";
  std::string cc_tau = "1";
  std::string nan_rules = "mean";
  std::string db = "byzantine_robustness.db";
  // key=value,... appended to every run's config (the clean run's too).
  std::string extra;
  const bool parsed = edgefl::bench::Flags()
                          .Add("--rounds", &rounds)
                          .Add("--partition", &partition)
                          .Add("--train-subset", &train_subset)
                          .Add("--attacks", &attacks)
                          .Add("--rules", &rules)
                          .Add("--seeds", &seeds)
                          .Add("--cc-tau", &cc_tau)
                          .Add("--nan-rules", &nan_rules)
                          .Add("--threads", &threads)
                          .Add("--db", &db)
                          .Add("--extra", &extra)
                          .Parse(argc, argv);
  if (!parsed || (nan_rules != "mean" && nan_rules != "all")) {
    std::fprintf(stderr,
                 "usage: %s [--rounds N] [--partition iid|dirichlet] [--train-subset N] "
                 "[--attacks scale,sign_flip,nan] [--rules mean,median,trimmed_mean,norm_clip,cc,"
                 "bucket_median,bucket_trimmed_mean,bucket_cc,multi_krum,multi_krum_f2,nnm_median,"
                 "nnm_trimmed_mean,nnm_norm_clip,nnm_cc] [--seeds 1,2,3] [--cc-tau T] "
                 "[--nan-rules mean|all] [--threads T] [--db FILE] [--extra key=value,...]\n",
                 argv[0]);
    return 2;
  }
  try {
    // Fresh log: the run names repeat between invocations.
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
    const std::map<std::string, std::vector<std::string>> rule_table = Rules(cc_tau);
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
        "eval_every=5",
        "rounds=" + std::to_string(rounds),
        "train_subset=" + std::to_string(train_subset),
        "threads=" + std::to_string(threads),
        "db=" + db,
    };
    std::printf(
        "byzantine_robustness: fmnist %s (first %lld train samples), mlp:784-200-200-10, 20 "
        "clients all per round, %lld rounds x 1 epoch, 20%% Byzantine, seeds %s, cc_tau %s; runs "
        "logged in %s\n",
        partition.c_str(), static_cast<long long>(train_subset), static_cast<long long>(rounds),
        seeds.c_str(), cc_tau.c_str(), db.c_str());
    std::fflush(stdout);

    std::vector<Row> rows;
    auto row_of = [&](const std::string& attack, const std::string& rule) -> Row& {
      for (Row& r : rows) {
        if (r.attack == attack && r.rule == rule) return r;
      }
      rows.push_back(Row{attack, rule, {}, {}, 0, 0});
      return rows.back();
    };
    auto run = [&](const std::string& seed, const std::string& attack, const std::string& rule,
                   double clean) {
      const auto it = rule_table.find(rule);
      if (it == rule_table.end()) throw std::runtime_error("unknown rule " + rule);
      std::vector<std::string> overrides = setting;
      overrides.push_back("seed=" + seed);
      overrides.insert(overrides.end(), it->second.begin(), it->second.end());
      if (attack != "none") {
        overrides.push_back("byzantine_fraction=0.2");
        overrides.push_back("byzantine_mode=" + attack);
        // Rejected NaN updates count against the quorum; at the default 1
        // no round would aggregate. 0.8: the 16 honest clients suffice.
        if (attack == "nan") overrides.push_back("quorum=0.8");
      }
      for (const std::string& kv : SplitList(extra))
        overrides.push_back(kv);
      overrides.push_back("run_name=byz-s" + seed + "-" + attack + "-" + rule);
      const ExperimentConfig config = edgefl::engine::LoadExperimentConfig({}, overrides);
      std::fprintf(stderr, "== seed %s, attack %s, rule %s\n", seed.c_str(), attack.c_str(),
                   rule.c_str());
      const auto result = edgefl::sim::RunSimulation(config, stderr);
      Row& row = row_of(attack, rule);
      row.final_acc.push_back(result.final_accuracy);
      row.gap.push_back(result.final_accuracy - (attack == "none" ? result.final_accuracy : clean));
      row.seconds += result.seconds;
      edgefl::storage::ExperimentLog log(db);
      int rejected = 0;
      for (const auto& u : log.ClientUpdates(result.run_id)) {
        if (u.status == edgefl::storage::UpdateStatus::kRejected) ++rejected;
      }
      row.rejected += rejected;
      std::printf("  seed %-3s %-10s %-20s final %.4f  gap %+.2f pt  rejected %d  %.0f s\n",
                  seed.c_str(), attack.c_str(), rule.c_str(), result.final_accuracy,
                  100 * row.gap.back(), rejected, result.seconds);
      std::fflush(stdout);
      return result.final_accuracy;
    };

    for (const std::string& seed : SplitList(seeds)) {
      const double clean = run(seed, "none", "mean", 0.0);
      for (const std::string& attack : SplitList(attacks)) {
        // NaN updates never reach a rule (the coordinator rejects them); with
        // --nan-rules mean one run, with all the rules' cost on 16 honest clients.
        for (const std::string& rule : attack == "nan" && nan_rules == "mean"
                                           ? std::vector<std::string>{"mean"}
                                           : SplitList(rules))
          run(seed, attack, rule, clean);
      }
    }

    const double clean = 100 * MeanStd(rows.front().final_acc).first;
    std::printf("\n%-10s %-20s %17s %17s %9s %8s\n", "attack", "rule", "final acc", "gap to clean",
                "rejected", "time");
    for (const Row& row : rows) {
      const auto [acc, acc_sd] = MeanStd(row.final_acc);
      const auto [gap, gap_sd] = MeanStd(row.gap);
      std::printf("%-10s %-20s %7.2f ± %4.2f %% %+7.2f ± %4.2f pt %9d %6.0f s\n",
                  row.attack.c_str(), row.rule.c_str(), 100 * acc, 100 * acc_sd, 100 * gap,
                  100 * gap_sd, row.rejected, row.seconds);
    }
    int misses = 0;
    for (const Row& row : rows) {
      const double gap = 100 * MeanStd(row.gap).first;
      if (row.rule != "mean" && gap < -2.0) {
        std::printf("MISS: %s under %s is %.2f points below the clean run (target: within 2)\n",
                    row.rule.c_str(), row.attack.c_str(), -gap);
        ++misses;
      }
    }
    std::printf("robust rules within 2 points of clean FedAvg (%.2f%%, mean over seeds): %s\n",
                clean, misses == 0 ? "all" : (std::to_string(misses) + " miss(es)").c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "byzantine_robustness: %s\n", e.what());
    return 1;
  }
}
