// A GRU layer over a batch of sequences, with backpropagation through time.
//
// The gates are PyTorch's torch.nn.GRU (Cho et al. 2014, with the reset gate
// applied after the recurrent product):
//   r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//   z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//   n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
//   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1},   h_{-1} = 0
// Sequences are time-major (nn/recurrent_layer.h), so the input-side
// products of all steps are one GEMM.
//
// Parameter slice layout: W_i (3H x I), W_h (3H x H), both column-major with
// the gate rows in the order r, z, n; then b_i (3H), b_h (3H). Initialised
// as torch.nn.GRU: every weight and bias U(−1/√H, 1/√H).
//
// Keeps the gates of the last Forward for Backward (grown to the largest
// T·B seen and reused). Not thread-safe.
#pragma once

#include "nn/recurrent_layer.h"

namespace edgefl::nn {

class Gru final : public GatedRecurrentLayer {
 public:
  // REQUIRES: input > 0, hidden > 0.
  Gru(Eigen::Index input, Eigen::Index hidden) : GatedRecurrentLayer(3, input, hidden) {}

  void Forward(const float* params, const ConstMatrixRef& x, Eigen::Index steps,
               MatrixRef h) override;
  void Backward(const float* params, const ConstMatrixRef& x, const ConstMatrixRef& h,
                const ConstMatrixRef& dh, float* grads, MatrixRef* dx) override;

 private:
  Eigen::MatrixXf gates_;     // 3H x T·B: r, z, n of each step
  Eigen::MatrixXf hidden_n_;  // H x T·B: W_hn h_{t-1} + b_hn
  Eigen::MatrixXf dgi_;       // 3H x T·B: dL/d(W_i x + b_i)
  Eigen::MatrixXf dgh_;       // 3H x T·B: dL/d(W_h h_{t-1} + b_h)
  Eigen::MatrixXf gh_;        // 3H x B scratch
  Eigen::MatrixXf carry_;     // H x B: dL/dh_{t-1} through the recurrence
};

}  // namespace edgefl::nn
