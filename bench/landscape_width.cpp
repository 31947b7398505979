// Landscape connectivity and dropout stability as the hidden layer widens
// (Shevchenko & Mondelli 2020, arXiv 1912.10095: the loss barrier along
// the dropout path and the dropout loss shrink as the number of neurons
// grows). For each width W of mlp:784-W-10 and each seed, a small FedAvg
// run on Fashion-MNIST that keeps the clients' local models of its last
// round (keep_client_models); then, on the first --samples training
// samples:
//   - dropout gap of the final global model: mean loss after keeping half
//     the neurons (rescaled), minus its loss; also at a quarter;
//   - barriers between two clients' local models of the last round
//     (straight line, dropout path);
//   - barriers between the final global models of two runs with different
//     seeds (independent initialisations): seed s vs the next seed.
// Prints one row per (width, seed) and mean ± std per width.
//
//   build/bench/landscape_width [--widths 50,100,200,400,800] [--seeds 1,2,3]
//       [--rounds 3] [--samples 1000] [--points 4] [--db FILE]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "analysis/connecting_path.h"
#include "analysis/dropout.h"
#include "analysis/hidden_layer.h"
#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "nn/model.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"

namespace {

using edgefl::bench::SplitList;

struct Row {
  double loss = 0.0;
  double gap_half = 0.0;
  double gap_quarter = 0.0;
  double clients_line = 0.0;
  double clients_path = 0.0;
  double runs_line = 0.0;
  double runs_path = 0.0;
};

std::string MeanStd(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double var = 0.0;
  for (double x : v)
    var += (x - mean) * (x - mean);
  const double sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4f ± %.4f", mean, sd);
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  std::string widths_text = "50,100,200,400,800";
  std::string seeds_text = "1,2,3";
  int rounds = 3;
  int samples = 1000;
  int points = 4;
  std::string db = "/tmp/edgefl-landscape-width.db";
  edgefl::bench::Flags flags;
  flags.Add("--widths", &widths_text)
      .Add("--seeds", &seeds_text)
      .Add("--rounds", &rounds)
      .Add("--samples", &samples)
      .Add("--points", &points)
      .Add("--db", &db);
  if (!flags.Parse(argc, argv)) {
    std::fprintf(stderr,
                 "usage: landscape_width [--widths 50,100,...] [--seeds 1,2,3] [--rounds 3] "
                 "[--samples 1000] [--points 4] [--db FILE]\n");
    return 2;
  }
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  const std::vector<std::string> seeds = SplitList(seeds_text);
  const std::vector<double> fractions = {0.25, 0.5, 1.0};

  std::printf("%6s %5s %8s %10s %10s %12s %12s %12s %12s\n", "width", "seed", "loss", "gap(1/2)",
              "gap(1/4)", "cli line", "cli path", "runs line", "runs path");
  std::map<int, std::vector<Row>> table;
  for (const std::string& w : SplitList(widths_text)) {
    const int width = std::stoi(w);
    const std::string spec = "mlp:784-" + w + "-10";
    std::vector<Eigen::VectorXf> finals;
    std::vector<Row> rows;
    edgefl::datasets::Dataset data;
    for (const std::string& seed : seeds) {
      const std::string name = "w" + w + "-s" + seed;
      const std::vector<std::string> overrides = {"run_name=" + name,
                                                  "strategy=fedavg",
                                                  "dataset=fmnist",
                                                  "partition=iid",
                                                  "clients=4",
                                                  "clients_per_round=4",
                                                  "train_subset=8000",
                                                  "test_subset=1000",
                                                  "local_epochs=1",
                                                  "batch_size=32",
                                                  "lr=0.05",
                                                  "model=" + spec,
                                                  "seed=" + seed,
                                                  "rounds=" + std::to_string(rounds),
                                                  "threads=2",
                                                  "keep_client_models=1",
                                                  "client_models_per_round=2",
                                                  "db=" + db};
      const auto config = edgefl::engine::LoadExperimentConfig("", overrides);
      const auto result = edgefl::sim::RunSimulation(config, nullptr);
      if (data.size() == 0) {
        edgefl::datasets::Dataset train = edgefl::engine::LoadExperimentData(config).train;
        std::vector<uint32_t> first(static_cast<size_t>(samples));
        std::iota(first.begin(), first.end(), 0u);
        data = edgefl::datasets::Subset(train, first);
      }
      edgefl::storage::ExperimentLog log(db);
      const auto clients = log.ReadClientModels(result.run_id, rounds);
      const Eigen::VectorXf global = log.ReadCheckpoint(result.run_id, rounds)->parameters;
      finals.push_back(global);

      edgefl::nn::Model model(spec);
      const edgefl::analysis::HiddenLayer layer(model.spec(), 0);
      const auto curve = edgefl::analysis::MeasureDropoutStability(
          model, global, data, layer, fractions, 3, static_cast<uint64_t>(std::stoll(seed)));
      Row row;
      row.loss = curve.full_loss;
      row.gap_quarter = curve.points[0].loss_mean - curve.full_loss;
      row.gap_half = curve.points[1].loss_mean - curve.full_loss;
      const auto& a = clients.at(0).parameters;
      const auto& b = clients.at(1).parameters;
      row.clients_line = edgefl::analysis::MeasurePath(model, {a, b}, data, 5 * points).barrier;
      row.clients_path = edgefl::analysis::MeasurePath(
                             model, edgefl::analysis::DropoutPathCorners(layer, a, b), data, points)
                             .barrier;
      rows.push_back(row);
    }
    // Pairs of runs: seed i against seed i+1 (cyclic).
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& a = finals[i];
      const auto& b = finals[(i + 1) % finals.size()];
      edgefl::nn::Model model(spec);
      const edgefl::analysis::HiddenLayer layer(model.spec(), 0);
      rows[i].runs_line = edgefl::analysis::MeasurePath(model, {a, b}, data, 5 * points).barrier;
      rows[i].runs_path =
          edgefl::analysis::MeasurePath(model, edgefl::analysis::DropoutPathCorners(layer, a, b),
                                        data, points)
              .barrier;
      std::printf("%6d %5s %8.4f %10.4f %10.4f %12.4f %12.4f %12.4f %12.4f\n", width,
                  seeds[i].c_str(), rows[i].loss, rows[i].gap_half, rows[i].gap_quarter,
                  rows[i].clients_line, rows[i].clients_path, rows[i].runs_line, rows[i].runs_path);
      std::fflush(stdout);
    }
    table[width] = rows;
  }
  std::printf("\nmean ± std over seeds\n");
  std::printf("%6s | %17s | %17s | %17s | %17s | %17s | %17s | %17s\n", "width", "train loss",
              "dropout gap 1/2", "dropout gap 1/4", "clients line", "clients path", "runs line",
              "runs path");
  for (const auto& [width, rows] : table) {
    auto col = [&rows](double Row::*field) {
      std::vector<double> v;
      for (const Row& r : rows)
        v.push_back(r.*field);
      return MeanStd(v);
    };
    std::printf("%6d | %17s | %17s | %17s | %17s | %17s | %17s | %17s\n", width,
                col(&Row::loss).c_str(), col(&Row::gap_half).c_str(),
                col(&Row::gap_quarter).c_str(), col(&Row::clients_line).c_str(),
                col(&Row::clients_path).c_str(), col(&Row::runs_line).c_str(),
                col(&Row::runs_path).c_str());
  }
  return 0;
}
