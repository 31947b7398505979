// Fully connected layer: out = W * in + b, optionally followed by a fused
// ReLU. One GEMM per batch.
//
// Parameter slice layout: W (out x in, column-major, i.e. W(o, i) at
// o + out * i), then b (out).
#pragma once

#include <string>

#include "nn/gemm.h"
#include "nn/layer.h"

namespace edgefl::nn {

class Dense final : public Layer {
 public:
  // REQUIRES: in > 0, out > 0.
  Dense(Eigen::Index in, Eigen::Index out, bool relu);

  std::string Describe() const override;
  Eigen::Index input_size() const override { return in_; }
  Eigen::Index output_size() const override { return out_; }
  Eigen::Index num_parameters() const override { return out_ * in_ + out_; }
  void Initialize(Init init, Rng& rng, float* params) const override;
  void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) override;
  void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                MatrixRef dout, float* grads, MatrixRef* din) override;
  void BackwardOverwrite(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                         MatrixRef dout, float* grads, MatrixRef* din) override;

 private:
  void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                MatrixRef dout, float* grads, MatrixRef* din, Accumulate accumulate);

  Eigen::Index in_;
  Eigen::Index out_;
  bool relu_;
  Eigen::MatrixXf transposed_weights_;  // Backward scratch: W^T for din = W^T dout
};

}  // namespace edgefl::nn
