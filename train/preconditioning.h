// A frozen diagonal preconditioner shared by all clients of a round (the
// client side of SAVIC, Chezhegov et al. 2024, "Local methods with
// adaptivity via scaling", arXiv 2406.00846): every local step is
//   x <- x - lr * D^-1 g
// with the same D for every client and every step of the round; the server
// recomputes D between rounds (algorithms/savic.h) from a statistic each
// client measures at the model it received. A plain value type; travels in
// FitInstructions and TrainTask.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <Eigen/Core>

#include "common/random.h"

namespace edgefl::train {

// What the client reports, at the received model x̄ and on its first
// minibatch, in LocalTrainResult::scaling_statistic.
enum class ScalingStatistic : uint8_t {
  kNone = 0,        // nothing (scaling_statistic stays empty)
  kGradient = 1,    // the stochastic gradient g(x̄) (after clipping), for Adam/RMSProp scaling
  kHutchinson = 2,  // z ⊙ (∇²f(x̄) z), z Rademacher, for OASIS scaling
};

// "none", "gradient", "hutchinson".
std::string ScalingStatisticName(ScalingStatistic statistic);

struct Preconditioning {
  // D, one positive finite entry per model parameter; null or empty = the
  // identity (plain steps, bit for bit). Shared, not copied, between the
  // instructions of one round.
  std::shared_ptr<const Eigen::VectorXf> diagonal;
  ScalingStatistic statistic = ScalingStatistic::kNone;

  bool has_diagonal() const { return diagonal != nullptr && diagonal->size() > 0; }
};

// Throws ConfigError unless the diagonal is empty or has `num_parameters`
// entries, all finite and > 0, naming the first offending entry.
void ValidatePreconditioning(const Preconditioning& preconditioning, Eigen::Index num_parameters);

// gradient <- D^-1 gradient, elementwise. REQUIRES: equal sizes, D > 0.
// With D = 1 the gradient is unchanged bit for bit (x / 1 == x).
void ApplyInverseDiagonal(const Eigen::VectorXf& diagonal, Eigen::Ref<Eigen::VectorXf> gradient);

// Fills z (resized to n) with independent ±1 draws, 64 per rng.Next().
void DrawRademacher(Rng& rng, Eigen::Index n, Eigen::VectorXf* z);

}  // namespace edgefl::train
