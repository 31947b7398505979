// The ℓ∞ projected-gradient-descent attack (Madry et al., ICLR 2018) on a
// two-layer ReLU network f(x) = W2 relu(W1 x + b1) + b2 — the network
// RecoverReluNetwork (convex_relu_admm.h) writes as mlp:D-H-C, or any
// mlp:D-H-C trained by SGD. For each row it ascends the margin
// max_{c≠y} f_c(x') − f_y(x') by signed-gradient steps of size α, projecting
// x' back onto the ball ‖x' − x‖∞ ≤ ε (and the box [lower, upper]), and keeps
// the point with the largest margin seen. Deterministic: it starts at x.
#pragma once

#include <cstdint>
#include <span>

#include <Eigen/Core>

namespace edgefl::algorithms {

struct TwoLayerRelu {
  Eigen::MatrixXd w1;  // H x D
  Eigen::VectorXd b1;  // H
  Eigen::MatrixXd w2;  // C x H
  Eigen::VectorXd b2;  // C
};

// The network of an mlp:D-H-C parameter vector (nn/dense.h layout). Throws
// ConfigError if the size is not H·D + H + C·H + C.
TwoLayerRelu TwoLayerReluFrom(std::span<const float> parameters, Eigen::Index features,
                              Eigen::Index hidden, Eigen::Index classes);

// f(x) for every row of `x` (n x D): n x C.
Eigen::MatrixXd TwoLayerOutputs(const TwoLayerRelu& net, const Eigen::MatrixXd& x);

struct PgdOptions {
  double epsilon = 0.1;    // ℓ∞ radius ε >= 0
  int steps = 20;          // >= 1
  double step_size = 0.0;  // α; 0 means 2.5 ε / steps
  double lower = -1e300;   // the input box (e.g. pixel range); default none
  double upper = 1e300;
};

// The adversarial rows (n x D). Throws ConfigError for bad options, shapes
// or a label outside [0, C) (C >= 2).
Eigen::MatrixXd PgdAttack(const TwoLayerRelu& net, const Eigen::MatrixXd& x,
                          std::span<const int32_t> labels, const PgdOptions& options);

// The fraction of rows whose arg-max prediction equals the label (ties go
// to the lowest class).
double Accuracy(const Eigen::MatrixXd& outputs, std::span<const int32_t> labels);

}  // namespace edgefl::algorithms
