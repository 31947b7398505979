// The shape arithmetic of a 2-D convolution (cross-correlation, as in
// PyTorch) with a square kernel, zero padding and a stride, shared by the
// Conv2d layer and its kernels (im2col.h, direct_conv.h).
#pragma once

#include <Eigen/Core>

#include "nn/layer.h"

namespace edgefl::nn {

struct ConvGeometry {
  ImageShape input;   // C x H x W
  int filters = 1;    // F, output channels
  int kernel = 1;     // k
  int stride = 1;     // s
  int padding = 0;    // p, zeros on each side
  ImageShape output;  // F x Ho x Wo, Ho = (H + 2p - k) / s + 1

  // REQUIRES: the arguments give a non-empty output.
  static ConvGeometry Make(ImageShape input, int filters, int kernel, int stride, int padding) {
    ConvGeometry g{input, filters, kernel, stride, padding, {}};
    g.output = {filters, (input.height + 2 * padding - kernel) / stride + 1,
                (input.width + 2 * padding - kernel) / stride + 1};
    return g;
  }
  // C * k * k, the length of one unrolled patch.
  Eigen::Index patch_size() const { return Eigen::Index{input.channels} * kernel * kernel; }
  // P = Ho * Wo.
  Eigen::Index positions() const { return Eigen::Index{output.height} * output.width; }
};

}  // namespace edgefl::nn
