// An LSTM layer over a batch of sequences, with backpropagation through time.
//
// The gates are PyTorch's torch.nn.LSTM (Hochreiter & Schmidhuber 1997 with
// the forget gate of Gers et al. 2000, no peepholes, no projection):
//   i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
//   f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
//   g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
//   o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
//   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,   h_t = o_t ⊙ tanh(c_t),   h_{-1} = c_{-1} = 0
// Sequences are time-major (nn/recurrent_layer.h), so the input-side
// products of all steps are one GEMM.
//
// Parameter slice layout: W_i (4H x I), W_h (4H x H), both column-major with
// the gate rows in the order i, f, g, o (PyTorch's weight_ih_l0 and
// weight_hh_l0); then b_i (4H), b_h (4H). Initialised as torch.nn.LSTM:
// every weight and bias U(−1/√H, 1/√H) (no forget-gate bias of 1).
//
// Keeps the gates and cell states of the last Forward for Backward (grown to
// the largest T·B seen and reused). Not thread-safe.
#pragma once

#include "nn/recurrent_layer.h"

namespace edgefl::nn {

class Lstm final : public GatedRecurrentLayer {
 public:
  // REQUIRES: input > 0, hidden > 0.
  Lstm(Eigen::Index input, Eigen::Index hidden) : GatedRecurrentLayer(4, input, hidden) {}

  void Forward(const float* params, const ConstMatrixRef& x, Eigen::Index steps,
               MatrixRef h) override;
  void Backward(const float* params, const ConstMatrixRef& x, const ConstMatrixRef& h,
                const ConstMatrixRef& dh, float* grads, MatrixRef* dx) override;

 private:
  Eigen::MatrixXf gates_;       // 4H x T·B: i, f, g, o of each step (activated)
  Eigen::MatrixXf cells_tanh_;  // H x T·B: tanh(c_t)
  Eigen::MatrixXf cells_;       // H x T·B: c_t
  Eigen::MatrixXf dgates_;      // 4H x T·B: dL/d(pre-activations), input and hidden side alike
  Eigen::MatrixXf carry_h_;     // H x B: dL/dh_{t-1} through the recurrence
  Eigen::MatrixXf carry_c_;     // H x B: dL/dc_{t-1} through the recurrence
};

}  // namespace edgefl::nn
