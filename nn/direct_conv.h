// Direct (im2col-free) stride-1 convolution for layers with few input
// channels, where unrolling patches costs more than the arithmetic (LeNet's
// first layer: C = 1, 25 taps). Vectorised along output rows by the
// kLanes-float Eigen arrays (SIMD registers in any build, no intrinsics).
//
// Layouts (per sample, all float, row-major planes):
//   padded input  C x Hp x Wp: x[c][ih][iw] at [c][ih + p][iw + p], zeros
//                 elsewhere; Hp = H + 2p, Wp = row_stride() + k - 1.
//   output z / gradient g   F x Ho x row_stride(): row_stride() is Wo
//                 rounded up to kLanes; lanes past Wo are scratch in z and
//                 MUST be zero in g.
//   weights       PyTorch's (F, C, k, k) contiguous array.
//   lane sums     (F*C*k*k) x kLanes: per weight, kLanes partial sums of its
//                 gradient, reduced by ReduceWeightGradient.
//
// Split-columns mode (for a fused 2 x 2 pool: the window's columns become
// two plain vectors): each output row holds its even columns, then its odd
// ones, half_stride() floats each (ceil(Wo / 2) rounded up to kLanes);
// column ow at (ow % 2) * half_stride() + ow / 2, row_stride() = 2 *
// half_stride(). The padded input rows are likewise stored as their even
// then their odd columns (an internal layout). Lanes past the valid columns
// are scratch in z and MUST be zero in g, as above.
#pragma once

#include <utility>
#include <vector>

#include "nn/conv_geometry.h"

namespace edgefl::nn {

class DirectConv {
 public:
  static constexpr int kLanes = 16;

  // REQUIRES: g.stride == 1.
  explicit DirectConv(const ConvGeometry& g, bool split_columns = false);

  bool split_columns() const { return split_; }
  Eigen::Index row_stride() const { return row_stride_; }
  Eigen::Index half_stride() const { return row_stride_ / 2; }  // split mode only
  // The offset of output column ow within its row of z or g.
  Eigen::Index column(int ow) const {
    return split_ ? (ow % 2) * half_stride() + ow / 2 : Eigen::Index{ow};
  }
  // Floats in z or g of one sample: F * Ho * row_stride().
  Eigen::Index output_floats() const {
    return Eigen::Index{g_.filters} * g_.output.height * row_stride_;
  }
  // Floats of the lane-sum buffer: F*C*k*k * kLanes.
  Eigen::Index lane_sum_floats() const {
    return Eigen::Index{g_.filters} * g_.patch_size() * kLanes;
  }

  // Copies sample x (C x H x W, channel-major) into the padded input.
  void LoadInput(const float* x);
  // z = weights (*) padded input, without bias.
  void Forward(const float* weights, float* z) const;
  // lane_sums += the gradient of the weights for output gradient g, as
  // partial sums (see the layout above).
  void AccumulateWeightGradient(const float* g, float* lane_sums) const;
  // dweights[i] += sum of lane_sums row i, for all F*C*k*k weights.
  void ReduceWeightGradient(const float* lane_sums, float* dweights) const;

 private:
  // The kernel rows [first, second] that read non-padding input rows for
  // output row oh (the others only multiply zeros).
  std::pair<int, int> KernelRows(int oh) const;
  template <int kFilters>
  void ForwardFilters(const float* weights, int first_filter, float* z) const;
  template <int kTaps>
  void WeightGradientTaps(const float* g_plane, const float* x_row, float* lane_sums) const;
  template <int kFilters>
  void ForwardFiltersSplit(const float* weights, int first_filter, float* z) const;
  template <int kFilters, int kTaps>
  void WeightGradientSplit(const float* g, int first_filter, const float* x_row, int first_tap,
                           float* lane_sums) const;

  ConvGeometry g_;
  bool split_;
  Eigen::Index half_padded_;    // split mode: floats of each half of a padded row
  Eigen::Index row_stride_;     // Wo rounded up to kLanes
  Eigen::Index padded_width_;   // Wp
  Eigen::Index padded_height_;  // Hp
  std::vector<float> padded_;   // C x Hp x Wp
};

}  // namespace edgefl::nn
