// Max pooling over non-overlapping size x size windows (stride == size),
// per channel. Like PyTorch's floor mode: trailing rows/columns that do not
// fill a window are dropped. The backward pass routes each output gradient
// to the arg-max of its window (the first maximum on ties), recorded by the
// last Forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/layer.h"

namespace edgefl::nn {

// Max over non-overlapping size x size windows (floor mode) of each of
// `planes` planes of x, each h x w with rows row_stride floats apart and
// planes h * row_stride apart. Writes y (planes x h/size x w/size,
// contiguous) and argmax[i] = the index into x of y[i]'s first maximum.
void MaxPoolPlanes(const float* x, int planes, int h, int w, Eigen::Index row_stride, int size,
                   float* y, int32_t* argmax);

class MaxPool2d final : public Layer {
 public:
  // REQUIRES: positive shape, 0 < size <= height and width.
  MaxPool2d(ImageShape input, int size);

  ImageShape output_shape() const { return output_; }

  std::string Describe() const override;
  Eigen::Index input_size() const override { return input_.size(); }
  Eigen::Index output_size() const override { return output_.size(); }
  void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) override;
  void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                MatrixRef dout, float* grads, MatrixRef* din) override;

 private:
  ImageShape input_;
  ImageShape output_;
  int size_;
  std::vector<int32_t> argmax_;  // per output element and sample: index into the sample's input
};

}  // namespace edgefl::nn
