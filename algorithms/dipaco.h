// DiPaCo, "Distributed Path Composition" (Douillard et al. 2024, arXiv
// 2403.10616): a grid of shared modules (module_grid.h); each client trains
// one path (one module per level) with the inner recipe, and every module
// takes one outer step from the deltas of the paths that share it.
//
// One round, as in the paper's §2-3 (DiLoCo's outer loop, arXiv 2311.08105
// Alg. 1, applied per module):
//   1. client k gets path p(k) = PathOfClient(id, K^L): its parameters θ_p
//      gathered from the grid travel as the instructions' start_parameters
//      (so a client downloads and uploads one path, not the grid);
//   2. per path, the FedAvg mean of its clients' results: m_p = Σ n_k θ_k /
//      Σ n_k (the path's replicas, as DiLoCo's workers);
//   3. per module (l, j), over the paths P_lj that took it this round: the
//      outer gradient Δ_lj = θ_lj − (1/|P_lj|) Σ_{p∈P_lj} m_p[level l]
//      (unweighted across paths), and θ_lj ← its own outer optimizer's step
//      on Δ_lj (ServerOptimizer: by default Nesterov momentum, lr 0.7,
//      β 0.9, DiLoCo's values). A module no path took keeps its value and
//      its momentum.
// With one module per level (K = 1) this is FedAvgM with the same server
// optimizer, bit for bit.
//
// Routing (§2, "coarse routing"): Prepare() learns a k-means router with
// K^L routes on a seeded sample of the training inputs
// (datasets::FitKMeansRouter(train, K^L, run seed)): the router the "kmeans"
// partition shards the clients' data by (datasets/kmeans_partition.h: client
// k holds route k mod K^L, the path it is given). EvaluateGlobal sends each
// test sample through the path its route names.
//
// Thread-safety: used by one round engine at a time (see strategy.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/fedavg.h"
#include "algorithms/module_grid.h"
#include "algorithms/server_optimizer.h"
#include "algorithms/strategy.h"
#include "datasets/kmeans_router.h"
#include "nn/model.h"

namespace edgefl::algorithms {

struct DiPaCoOptions {
  // The inner part: the client recipe, learning-rate schedule, local
  // algorithm and run seed, as for FedAvg (its aggregator and server
  // optimizer are not used).
  FedAvgOptions inner;
  // Every module's outer optimizer (one state per module).
  ServerOptimizerConfig outer;
  std::string model;  // one path's spec
  size_t levels = 2;
  size_t modules = 2;  // per level
};

class DiPaCo final : public Strategy {
 public:
  // Throws ConfigError naming the first invalid option.
  explicit DiPaCo(DiPaCoOptions options);

  std::string name() const override { return "dipaco"; }

  // FedAvg's instructions (recipe, lr, seed); without the global model no
  // path is attached (a probe of the client keys).
  std::vector<train::FitInstructions> ConfigureFit(int64_t round,
                                                   std::span<const ClientInfo> cohort) override;
  // Each client's instructions carry its path's parameters from `global`.
  std::vector<train::FitInstructions> ConfigureFitFrom(int64_t round,
                                                       std::span<const ClientInfo> cohort,
                                                       const Eigen::VectorXf& global) override;
  // Steps 2-3 above. Rejects a result whose size is not the path's (with a
  // reason). Metrics: "num_results", "paths_trained", "modules_updated",
  // "update_norm" (‖grid' − grid‖), "client_lr".
  AggregateOutcome AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                std::span<const train::FitResult> results,
                                std::span<const train::FitFailure> failures) override;

  // The grid with every module a copy of the initial path's level slice (all
  // paths start from one model, as the paper's paths start from one
  // pretrained dense model). Throws ConfigError for a vector not of the
  // path's size.
  Eigen::VectorXf InitialGlobal(const Eigen::VectorXf& model_initial) override;

  bool WantsTrainingData() const override { return true; }
  void Prepare(const datasets::Dataset& train) override;
  // Routed evaluation: sample-weighted loss and accuracy over the paths.
  // Throws Error before Prepare.
  std::optional<train::EvalResult> EvaluateGlobal(const Eigen::VectorXf& global,
                                                  const datasets::Dataset& test) override;

  // [modules·levels, then per module: its state's size, its state].
  Eigen::VectorXf SaveState() const override;
  void RestoreState(const Eigen::VectorXf& state) override;

  const ModuleGrid& grid() const { return grid_; }
  const std::optional<datasets::KMeansRouter>& router() const { return router_; }

 private:
  DiPaCoOptions options_;
  FedAvg inner_;
  ModuleGrid grid_;
  std::vector<ServerOptimizer> outer_;  // module (l, j) at l·K + j
  std::optional<datasets::KMeansRouter> router_;
  std::unique_ptr<nn::Model> eval_model_;
};

}  // namespace edgefl::algorithms
