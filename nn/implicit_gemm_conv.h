// Stride-1 convolution as an "implicit GEMM": z (P x F) = patches (P x C*k*k)
// times Wt (C*k*k x F) without materialising the patches (no im2col), with
// the filters as the vector dimension: each output position accumulates
// kLanes filters in SIMD registers, each input value is broadcast once per
// tap. The weight gradient is the same loop transposed. Suits layers with
// many filters and small images (LeNet's second layer: F = 16, 10 x 10).
//
// Layouts (per sample, float):
//   padded input  C x Hp x Wp planes (Hp = H + 2p, Wp = W + 2p), zero borders.
//   z, g          P x lane_filters() row-major ("channels last"): position
//                 (oh, ow) at row oh * Wo + ow; filters past F are scratch in
//                 z and ignored in g.
//   weights       PyTorch's (F, C, k, k) contiguous array.
//   weight grads  (C*k*k) x lane_filters() row-major, accumulated over a
//                 batch and added to the (F, C, k, k) gradient by
//                 AddWeightGradient.
#pragma once

#include <vector>

#include "nn/conv_geometry.h"

namespace edgefl::nn {

class ImplicitGemmConv {
 public:
  static constexpr int kLanes = 16;

  // REQUIRES: g.stride == 1.
  explicit ImplicitGemmConv(const ConvGeometry& g);

  // F rounded up to kLanes: the row length of z, g and the weight gradient.
  Eigen::Index lane_filters() const { return lane_filters_; }
  Eigen::Index output_floats() const { return geometry_.positions() * lane_filters_; }
  Eigen::Index weight_gradient_floats() const { return geometry_.patch_size() * lane_filters_; }

  // Reorders the (F, C, k, k) weights for Forward; call when they change.
  void LoadWeights(const float* weights);
  // Copies sample x (C x H x W, channel-major) into the padded input.
  void LoadInput(const float* x);
  // z = patches of the loaded input times the loaded weights, without bias.
  void Forward(float* z) const;
  // dweights += patches^T g for the loaded input.
  void AccumulateWeightGradient(const float* g, float* dweights) const;
  // grads (F, C, k, k) += dweights.
  void AddWeightGradient(const float* dweights, float* grads) const;

 private:
  template <int kPositions>
  void ForwardPositions(int oh, int ow0, Eigen::Index f0, float* z) const;
  template <int kTaps>
  void GradientTaps(const float* g, const float* x_row, Eigen::Index f0, float* dweights) const;

  ConvGeometry geometry_;
  Eigen::Index lane_filters_;
  Eigen::Index padded_width_;   // Wp
  Eigen::Index padded_height_;  // Hp
  std::vector<float> padded_;   // C x Hp x Wp
  std::vector<float> weights_;  // (C*k*k) x lane_filters_ row-major, zero past F
};

}  // namespace edgefl::nn
