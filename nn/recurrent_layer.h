// A recurrent layer of the character model (nn/char_rnn.h) over a batch of
// sequences, with backpropagation through time: the interface the GRU
// (nn/gru.h) and the LSTM (nn/lstm.h) share.
//
// A sequence batch is time-major: column t * B + b of an (features x T·B)
// matrix is step t of sequence b, so step t is a contiguous block of B
// columns. The initial state of every sequence is zero. A layer owns no
// parameters: it reads its slice of the flat parameter vector. It keeps
// what Backward needs from the last Forward (grown to the largest T·B seen
// and reused). Not thread-safe.
#pragma once

#include <cmath>
#include <type_traits>

#include "common/random.h"
#include "nn/layer.h"

namespace edgefl::nn {

class RecurrentLayer {
 public:
  virtual ~RecurrentLayer() = default;

  virtual Eigen::Index input_size() const = 0;   // I
  virtual Eigen::Index hidden_size() const = 0;  // H
  virtual Eigen::Index num_parameters() const = 0;
  virtual void Initialize(Rng& rng, float* params) const = 0;

  // h (H x T·B) = the hidden states of the T steps of B sequences x (I x T·B).
  // REQUIRES: x.cols() is a multiple of steps.
  virtual void Forward(const float* params, const ConstMatrixRef& x, Eigen::Index steps,
                       MatrixRef h) = 0;

  // Given x and h of the last Forward and dh = dL/dh (H x T·B, the loss's
  // direct gradient at each step), ADDS dL/dparams to grads and, if dx is
  // not null, writes dL/dx (I x T·B) into it.
  virtual void Backward(const float* params, const ConstMatrixRef& x, const ConstMatrixRef& h,
                        const ConstMatrixRef& dh, float* grads, MatrixRef* dx) = 0;
};

// The parameter slice of a gated layer with G gates of H units over I
// inputs, torch.nn.GRU's and torch.nn.LSTM's layout: W_i (GH x I) and W_h
// (GH x H), column-major with the gates' rows in the layer's order, then
// b_i (GH) and b_h (GH); G·H·(I + H + 2) floats. T is const float for the
// parameters, float for their gradients.
template <typename T>
struct GateSlices {
  using Matrix = std::conditional_t<std::is_const_v<T>, const Eigen::MatrixXf, Eigen::MatrixXf>;
  using Vector = std::conditional_t<std::is_const_v<T>, const Eigen::VectorXf, Eigen::VectorXf>;
  GateSlices(T* p, Eigen::Index gates, Eigen::Index in, Eigen::Index hidden)
      : wi(p, gates * hidden, in),
        wh(p + gates * hidden * in, gates * hidden, hidden),
        bi(p + gates * hidden * (in + hidden), gates * hidden),
        bh(p + gates * hidden * (in + hidden + 1), gates * hidden) {}
  Eigen::Map<Matrix> wi, wh;
  Eigen::Map<Vector> bi, bh;
};

// What the GRU and the LSTM share besides their gates: the sizes, the
// parameter layout (GateSlices), PyTorch's initialisation and the end of
// backpropagation through time, which turns the gates' pre-activation
// gradients into weight gradients.
class GatedRecurrentLayer : public RecurrentLayer {
 public:
  Eigen::Index input_size() const final { return in_; }
  Eigen::Index hidden_size() const final { return hidden_; }
  Eigen::Index num_parameters() const final { return num_gates_ * hidden_ * (in_ + hidden_ + 2); }
  // Every weight and bias U(−1/√H, 1/√H), as torch.nn.GRU and torch.nn.LSTM.
  void Initialize(Rng& rng, float* params) const final {
    FillUniform(rng, 1.0f / std::sqrt(static_cast<float>(hidden_)), params, num_parameters());
  }

 protected:
  // REQUIRES: gates > 0, input > 0, hidden > 0.
  GatedRecurrentLayer(Eigen::Index gates, Eigen::Index input, Eigen::Index hidden)
      : num_gates_(gates), in_(input), hidden_(hidden) {}

  GateSlices<const float> Weights(const float* params) const {
    return {params, num_gates_, in_, hidden_};
  }

  // Given dgi = dL/d(W_i x_t + b_i) and dgh = dL/d(W_h h_{t-1} + b_h) of
  // every step (GH x T·B, time-major, B = `batch`; the same matrix for a
  // layer whose two sums only ever appear added) and x, h of the last
  // Forward, ADDS dW_h, db_h, dW_i, db_i to grads and, if dx is not null,
  // writes dL/dx = W_iᵀ dgi into it. h_{-1} = 0: step 0 adds nothing to dW_h.
  void AddWeightGradients(const float* params, const ConstMatrixRef& x, const ConstMatrixRef& h,
                          const Eigen::MatrixXf& dgi, const Eigen::MatrixXf& dgh,
                          Eigen::Index batch, float* grads, MatrixRef* dx) const {
    const Eigen::Index cols = x.cols();
    GateSlices<float> d(grads, num_gates_, in_, hidden_);
    if (cols > batch) {
      d.wh.noalias() += dgh.rightCols(cols - batch) * h.leftCols(cols - batch).transpose();
    }
    if (&dgi == &dgh) {
      const Eigen::VectorXf db = dgi.rowwise().sum();
      d.bh += db;
      d.bi += db;
    } else {
      d.bh += dgh.rowwise().sum();
      d.bi += dgi.rowwise().sum();
    }
    d.wi.noalias() += dgi * x.transpose();
    if (dx != nullptr) dx->noalias() = Weights(params).wi.transpose() * dgi;
  }

  Eigen::Index num_gates_;
  Eigen::Index in_;
  Eigen::Index hidden_;
  Eigen::Index steps_ = 0;  // T of the last Forward
};

}  // namespace edgefl::nn
