// dL/dx of a stride-1 convolution for a block of samples at once, the
// samples as the SIMD lanes (kSamples = one register of floats: 16 with
// AVX-512, 8 with AVX, 4 with SSE or NEON), so every lane does useful work.
// Each output value accumulates only the kernel rows that meet a row of the
// gradient g = dL/dz, and the taps that meet a column of g for either
// column of its pair: 259k multiply-adds a sample for LeNet's second layer,
// whose dL/dx needs 240k. A transposed direct convolution of one sample
// made 384k (its 16-float rows hold 14 columns and read 4 padded ones per
// side).
//
//   dx[c][ih][iw] = sum over f, ki, kj of W[f][c][ki][kj] * g[f][oh][ow],
//                   oh = ih + p - ki in [0, Ho), ow = iw + p - kj in [0, Wo).
//
// Use: LoadWeights when they change; per block of up to kSamples samples,
// Clear, then Set (or SetSample) every nonzero gradient of lane s = the
// sample's place in the block, then Compute.
#pragma once

#include <vector>

#include "nn/conv_geometry.h"
#include "nn/vector_registers.h"

namespace edgefl::nn {

class InputGradientConv {
 public:
  static constexpr int kSamples = kVectorFloats;

  // REQUIRES: g.stride == 1 and g.padding <= g.kernel - 1.
  explicit InputGradientConv(const ConvGeometry& g);

  // Reorders the (F, C, k, k) weights; call when they change.
  void LoadWeights(const float* weights);
  // Zeroes the gradients of all lanes.
  void Clear();
  // g[filter][position] of lane `sample` (position = oh * Wo + ow).
  void Set(int sample, int filter, Eigen::Index position, float value) {
    const Eigen::Index oh = position / geometry_.output.width;
    const Eigen::Index ow = position - oh * geometry_.output.width;
    g_[static_cast<size_t>(
        (((filter * Eigen::Index{geometry_.output.height} + oh) * padded_width_) + ow + pad_) *
            kSamples +
        sample)] = value;
  }
  // All of lane `sample`'s gradient from g (F x Ho x Wo, channel-major).
  void SetSample(int sample, const float* g);
  // dx of lanes 0..samples-1 into dx + s * dx_stride (C x H x W each).
  // REQUIRES: 1 <= samples <= kSamples.
  void Compute(int samples, float* dx, Eigen::Index dx_stride);

 private:
  template <int kChannels, int kPositions>
  void ComputeBlock(int c0, int ih, int iw0);

  ConvGeometry geometry_;
  int pad_;                     // k - 1 zero columns on each side of g's rows
  Eigen::Index padded_width_;   // Wo + 2 (k - 1)
  std::vector<float> weights_;  // F x k x k x C: the channels of one tap together
  std::vector<float> g_;        // F x Ho x padded_width_ x kSamples
  std::vector<float> dx_;       // C x H x W x kSamples
};

}  // namespace edgefl::nn
