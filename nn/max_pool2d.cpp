#include "nn/max_pool2d.h"

#include <algorithm>

namespace edgefl::nn {

using Eigen::Index;

void MaxPoolPlanes(const float* x, int planes, int h, int w, Index row_stride, int size, float* y,
                   int32_t* argmax) {
  const int h_out = h / size, w_out = w / size;
  const auto stride = static_cast<int32_t>(row_stride);
  if (size == 2) {
    // The common 2x2 case, branch-free (selects instead of jumps).
    for (int c = 0; c < planes; ++c) {
      for (int oh = 0; oh < h_out; ++oh) {
        const int32_t row = (c * h + 2 * oh) * stride;
        for (int ow = 0; ow < w_out; ++ow) {
          const int32_t i0 = row + 2 * ow, i2 = i0 + stride;
          const float v0 = x[i0], v1 = x[i0 + 1], v2 = x[i2], v3 = x[i2 + 1];
          const bool right_top = v1 > v0, right_bottom = v3 > v2;
          const float top = right_top ? v1 : v0, bottom = right_bottom ? v3 : v2;
          const int32_t top_arg = right_top ? i0 + 1 : i0;
          const int32_t bottom_arg = right_bottom ? i2 + 1 : i2;
          const bool lower = bottom > top;
          *y++ = lower ? bottom : top;
          *argmax++ = lower ? bottom_arg : top_arg;
        }
      }
    }
    return;
  }
  for (int c = 0; c < planes; ++c) {
    const int32_t plane = c * h * stride;
    for (int oh = 0; oh < h_out; ++oh) {
      for (int ow = 0; ow < w_out; ++ow) {
        int32_t best = plane + (oh * size) * stride + ow * size;
        float best_value = x[best];
        for (int i = 0; i < size; ++i) {
          const int32_t row = plane + (oh * size + i) * stride + ow * size;
          for (int j = 0; j < size; ++j) {
            if (x[row + j] > best_value) {
              best_value = x[row + j];
              best = row + j;
            }
          }
        }
        *y++ = best_value;
        *argmax++ = best;
      }
    }
  }
}

MaxPool2d::MaxPool2d(ImageShape input, int size) : input_(input), size_(size) {
  output_ = {input.channels, input.height / size, input.width / size};
}

std::string MaxPool2d::Describe() const {
  return "maxpool " + std::to_string(size_) + " " + std::to_string(input_.channels) + "x" +
         std::to_string(input_.height) + "x" + std::to_string(input_.width) + " -> " +
         std::to_string(output_.height) + "x" + std::to_string(output_.width);
}

void MaxPool2d::Forward(const float* /*params*/, const ConstMatrixRef& in, MatrixRef out) {
  const Index batch = in.cols(), out_size = output_size();
  if (static_cast<Index>(argmax_.size()) < out_size * batch) {
    argmax_.resize(static_cast<size_t>(out_size * batch));
  }
  for (Index b = 0; b < batch; ++b) {
    MaxPoolPlanes(in.col(b).data(), input_.channels, input_.height, input_.width, input_.width,
                  size_, out.col(b).data(), argmax_.data() + b * out_size);
  }
}

void MaxPool2d::Backward(const float* /*params*/, const ConstMatrixRef& /*in*/,
                         const ConstMatrixRef& /*out*/, MatrixRef dout, float* /*grads*/,
                         MatrixRef* din) {
  if (din == nullptr) return;
  const Index batch = dout.cols(), out_size = output_size(), in_size = input_size();
  for (Index b = 0; b < batch; ++b) {
    float* dx = din->col(b).data();
    std::fill_n(dx, in_size, 0.0f);
    const float* dy = dout.col(b).data();
    const int32_t* arg = argmax_.data() + b * out_size;
    for (Index i = 0; i < out_size; ++i)
      dx[arg[i]] += dy[i];
  }
}

}  // namespace edgefl::nn
