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

}  // namespace edgefl::nn
