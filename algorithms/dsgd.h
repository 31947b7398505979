// D-SGD: decentralized SGD with no central model (Swenson, Murray, Poor &
// Kar, "Distributed Stochastic Gradient Descent: Nonconvexity,
// Nonsmoothness, and Convergence to Local Minima", JMLR 23(328), 2022;
// arXiv 2003.02818). Every node keeps its own model x_i, trains on its own
// data, and mixes with its neighbours on a graph (topology.h) through a
// doubly stochastic gossip matrix W (mixing_matrix.h). A round k (from 1):
//
//   every live node runs the recipe's local steps from x_i with learning
//   rate α_k, giving y_i (one step of plain SGD: y_i = x_i − α_k g_i(x_i));
//   update "atc" (adapt then combine; default): x_i ← Σ_j W_ij(k) y_j
//   update "dgd" (the paper's form):             x_i ← Σ_j W_ij(k) x_j + (y_i − x_i)
//                                                    = Σ_j W_ij x_j − α_k g_i(x_i) for one step
//
// with W(k) = I − β_k (I − W_MH) over the nodes live in round k (β_k = 1:
// the Metropolis–Hastings W itself). More than one local step between
// gossips is the decentralized FedAvg; on the complete graph (W = 11ᵀ/n)
// "atc" with every node live is FedAvg with full participation, bit for bit
// when the nodes hold equally many samples (the FedAvg weights n_k/N are
// then exactly W's 1/n; Mix sums in the same order with the same kernel).
//
// Step sizes: schedule "constant": α_k = lr, β_k = dsgd_beta. Schedule
// "paper": α_k = lr / k^τ_α, β_k = dsgd_beta / k^τ_β, required in the window
// 1/2 < τ_α ≤ 1, 0 ≤ τ_β < τ_α (docs/algorithms.md says what of the window
// is verified against the paper).
//
// A node that is not live in a round (dropped out) neither trains nor mixes:
// it keeps x_i, and W is re-weighted over the others, so it stays doubly
// stochastic over the live nodes and training goes on.
//
// Thread-safety: const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/client_info.h"
#include "algorithms/mixing_matrix.h"
#include "algorithms/topology.h"
#include "train/fit.h"

namespace edgefl::algorithms {

enum class DsgdUpdate { kAdaptThenCombine, kDgd };
enum class DsgdSchedule { kConstant, kPaper };

// "atc" / "dgd" and "constant" / "paper"; ConfigError naming `key` otherwise.
DsgdUpdate ParseDsgdUpdate(const std::string& name, const std::string& key = "dsgd_update");
DsgdSchedule ParseDsgdSchedule(const std::string& name, const std::string& key = "dsgd_schedule");

struct DsgdOptions {
  TopologyOptions topology;
  DsgdUpdate update = DsgdUpdate::kAdaptThenCombine;
  DsgdSchedule schedule = DsgdSchedule::kConstant;
  double beta = 1.0;        // c_β in (0, 1]
  double tau_alpha = 0.75;  // paper schedule: 1/2 < τ_α ≤ 1
  double tau_beta = 0.25;   // paper schedule: 0 ≤ τ_β < τ_α
  // Copied into every node's instructions; optimizer.learning_rate is c_α,
  // replaced by α_k; seed by ClientSeed(seed, round, id); step_offset by
  // (k − 1)·local_steps as FedAvg does.
  train::TrainRecipe recipe;
  train::LocalAlgorithm local;
  uint64_t seed = 0;  // the run seed
  // Between processes only (coordinator/rendezvous.h): whether the metrics
  // node gathers the models at evaluation rounds for the average model's
  // accuracy and the consensus distance (dsgd_global_metrics). The
  // simulator, which holds every model, ignores it.
  bool global_metrics = true;
};

class Dsgd {
 public:
  // Builds the graph of `num_nodes` nodes. Throws ConfigError naming the
  // first invalid option (a schedule outside the window included).
  Dsgd(DsgdOptions options, size_t num_nodes);

  const Graph& graph() const { return graph_; }
  const DsgdOptions& options() const { return options_; }

  double Alpha(int64_t round) const;
  double Beta(int64_t round) const;

  // What node `info` trains on in round `round` (as FedAvg::ConfigureFit
  // builds it for one client, with learning rate α_k).
  train::FitInstructions Instructions(int64_t round, const ClientInfo& info) const;

  // W(k) over the nodes with live[i].
  MixingMatrix Mixing(int64_t round, const std::vector<bool>& live) const;

  // The models after round `round`: `models` are x_i before it, `trained`
  // the y_i of the live nodes (entries of other nodes are not read and may
  // be empty). REQUIRES: models, trained and live have num_nodes entries;
  // live models and trained vectors all the same size (else ConfigError).
  std::vector<Eigen::VectorXf> Step(int64_t round, std::span<const Eigen::VectorXf> models,
                                    std::span<const Eigen::VectorXf> trained,
                                    const std::vector<bool>& live) const;

 private:
  DsgdOptions options_;
  Graph graph_;
};

// x̄ = (1/n) Σ x_i (in double).
Eigen::VectorXf AverageModel(std::span<const Eigen::VectorXf> models);
// (1/n) Σ ‖x_i − x̄‖² (in double): 0 exactly when all models are equal.
double ConsensusDistance(std::span<const Eigen::VectorXf> models);

}  // namespace edgefl::algorithms
