// Rectified linear unit, max(x, 0), as a layer and as in-place kernels that
// Dense and Conv2d use to fuse the activation into their output pass.
#pragma once

#include <string>

#include "nn/layer.h"

namespace edgefl::nn {

// x <- max(x, 0), elementwise.
void ReluInPlace(MatrixRef x);
// d <- d where out > 0, else 0 (the ReLU derivative, given the ReLU's output).
// REQUIRES: same shape.
void ReluMaskInPlace(const ConstMatrixRef& out, MatrixRef d);

class Relu final : public Layer {
 public:
  explicit Relu(Eigen::Index size) : size_(size) {}

  std::string Describe() const override;
  Eigen::Index input_size() const override { return size_; }
  Eigen::Index output_size() const override { return size_; }
  void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) override;
  void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                MatrixRef dout, float* grads, MatrixRef* din) override;

 private:
  Eigen::Index size_;
};

}  // namespace edgefl::nn
