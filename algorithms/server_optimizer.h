// Server optimizers of the FedOpt family (Reddi et al. 2021, "Adaptive
// Federated Optimization", arXiv 2003.00295): the step the server takes from
// the current global model w and the round's aggregate m (Σ p_k w_k, or a
// robust aggregate). The mean pseudo-gradient is Δ̄ = w − m.
//
//   kNone      w ← w − η_s Δ̄                 (η_s = 1: FedAvg, w ← m)
//   kMomentum  v ← βv + Δ̄;  w ← w − η_s v    (FedAvgM, Hsu et al. 2019)
//              nesterov: w ← w − η_s (Δ̄ + βv)   (with the new v; PyTorch's
//              SGD(nesterov=True), DiLoCo's outer step, arXiv 2311.08105 Alg. 1)
//   kAdam      d = −Δ̄; m ← β1 m + (1−β1) d; v ← β2 v + (1−β2) d²;
//              w ← w + η_s m / (√v + τ)      (FedAdam; no bias correction
//              unless bias_correction, which scales η_s by √(1−β2^t)/(1−β1^t)
//              as Flower's FedAdam does)
//   kYogi      as kAdam but v ← v − (1−β2) d² sign(v − d²)   (FedYogi)
//
// kNone and kMomentum compute w_new as m − (η_s β v_old + (η_s − 1) Δ̄) (Nesterov:
// m − (η_s β v_new + (η_s − 1) Δ̄)), the same value as above in exact arithmetic, so that η_s = 1
// (and β = 0) gives exactly m, bit for bit: FedAvgM(β=0, η_s=1) is FedAvg.
//
// State (v; or m and v; and the step count) is sized on the first Step and
// kept across rounds. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include <Eigen/Core>

namespace edgefl::algorithms {

enum class ServerOptimizerKind { kNone, kMomentum, kAdam, kYogi };

// Parses "none", "momentum", "adam", "yogi"; ConfigError naming the accepted
// values otherwise. `key` names the parameter in the message.
ServerOptimizerKind ParseServerOptimizer(const std::string& name,
                                         const std::string& key = "server_optimizer");
std::string ServerOptimizerName(ServerOptimizerKind kind);

struct ServerOptimizerConfig {
  ServerOptimizerKind kind = ServerOptimizerKind::kNone;
  double learning_rate = 1.0;    // η_s > 0
  double momentum = 0.9;         // β in [0, 1) (kMomentum)
  bool nesterov = false;         // kMomentum: Nesterov's look-ahead step
  double beta1 = 0.9;            // [0, 1) (kAdam, kYogi)
  double beta2 = 0.99;           // [0, 1) (kAdam, kYogi)
  double tau = 1e-3;             // > 0 (kAdam, kYogi): adaptivity / ε
  bool bias_correction = false;  // (kAdam, kYogi)
};

// Throws ConfigError naming the first out-of-range field.
void ValidateServerOptimizer(const ServerOptimizerConfig& config);

class ServerOptimizer {
 public:
  // Throws ConfigError for an invalid config.
  explicit ServerOptimizer(const ServerOptimizerConfig& config);

  // The next global model from `global` (w) and `aggregate` (m). Throws
  // ConfigError if the sizes differ from each other or from the state.
  Eigen::VectorXf Step(const Eigen::VectorXf& global, const Eigen::VectorXf& aggregate);

  // Forgets the state (as before the first Step).
  void Reset();

  // The state as one flat vector: empty before the first Step or for kNone;
  // otherwise [t, v] (kMomentum) or [t, m, v] (kAdam, kYogi), t the number
  // of steps taken. RestoreState(SaveState()) makes the next Step identical.
  // RestoreState throws ConfigError if the layout does not fit the kind.
  Eigen::VectorXf SaveState() const;
  void RestoreState(const Eigen::VectorXf& state);
  // Size of SaveState() once a step over P parameters was taken: 0 (kNone),
  // 1 + P (kMomentum) or 1 + 2P (kAdam, kYogi).
  Eigen::Index StateSizeFor(Eigen::Index num_parameters) const;

  const ServerOptimizerConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }

 private:
  ServerOptimizerConfig config_;
  int64_t steps_ = 0;
  Eigen::VectorXf first_;   // v (momentum) or m (adam/yogi)
  Eigen::VectorXf second_;  // v (adam/yogi)
};

}  // namespace edgefl::algorithms
