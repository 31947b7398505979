// The convex reformulation of a two-layer ReLU network (Pilanci & Ergen,
// ICML 2020; Bai, Gautam & Sojoudi, arXiv 2201.01965) as an nn layer, so the
// engine, the simulator and edgefl-client evaluate it like any model.
//
// Inputs are augmented with a constant 1 (the hidden bias): x̃ = [x; 1],
// dimension D+1. There are P gate vectors h_i (the sampled activation
// patterns D_i = diag(1[X̃ h_i ≥ 0])) and, per class c (one-vs-all, vector
// output), 2P weight vectors v_{c,i}, w_{c,i}. The output for class c is
//   cone  ("convex_relu"): Σ_i relu(x̃·v_{c,i}) − relu(x̃·w_{c,i})
//         (the recovered ReLU network; equals the convex model on the
//         training rows when the cone constraints hold),
//   gated ("gated_relu"):  Σ_i 1[x̃·h_i ≥ 0] x̃·(v_{c,i} − w_{c,i})
//         (the unconstrained sampled convex program's model).
//
// Parameter layout (ConvexReluLayout): gates H ((D+1) x P, column-major),
// then the convex variables Z ((2P(D+1)) x C, column-major: class c's column
// holds v_{c,1..P} then w_{c,1..P}), then K client dual blocks of Z's size
// (the federated consensus ADMM's scaled duals, algorithms/convex_relu.h;
// Forward never reads them). Initialize draws H ~ N(0, I) and zeroes the
// rest. The layer is trained by ADMM (algorithms/convex_relu_admm.h), not by
// gradient steps: Backward throws.
#pragma once

#include <string>

#include "nn/layer.h"

namespace edgefl::nn {

struct ConvexReluLayout {
  Eigen::Index features = 0;  // D (without the bias column)
  Eigen::Index patterns = 0;  // P
  Eigen::Index classes = 0;   // C
  Eigen::Index duals = 0;     // K client dual blocks
  bool gated = false;         // gated (SCP) or cone predictions

  Eigen::Index augmented() const { return features + 1; }
  Eigen::Index gates_size() const { return augmented() * patterns; }
  // Rows of Z: 2P(D+1).
  Eigen::Index block_rows() const { return 2 * patterns * augmented(); }
  Eigen::Index z_size() const { return block_rows() * classes; }
  Eigen::Index z_offset() const { return gates_size(); }
  Eigen::Index dual_offset(Eigen::Index k) const { return gates_size() + (1 + k) * z_size(); }
  Eigen::Index num_parameters() const { return gates_size() + (1 + duals) * z_size(); }
};

class ConvexReluLayer final : public Layer {
 public:
  // REQUIRES: every count of `layout` > 0 except duals (>= 0).
  explicit ConvexReluLayer(ConvexReluLayout layout);

  std::string Describe() const override;
  Eigen::Index input_size() const override { return layout_.features; }
  Eigen::Index output_size() const override { return layout_.classes; }
  Eigen::Index num_parameters() const override { return layout_.num_parameters(); }
  void Initialize(Init init, Rng& rng, float* params) const override;
  void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) override;
  // Throws Error: the convex model is solved by ADMM, not trained by steps.
  void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                MatrixRef dout, float* grads, MatrixRef* din) override;

  const ConvexReluLayout& layout() const { return layout_; }

 private:
  ConvexReluLayout layout_;
  Eigen::MatrixXf scratch_;  // P x B pre-activations
};

}  // namespace edgefl::nn
