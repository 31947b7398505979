#include "nn/direct_conv.h"

#include <algorithm>

namespace edgefl::nn {

using Eigen::Index;

namespace {

// kLanes floats held in SIMD registers (Eigen picks the widest packets the
// build targets: one AVX-512 register, two AVX ones, or four SSE ones).
using Lanes = Eigen::Array<float, DirectConv::kLanes, 1>;
using LanesMap = Eigen::Map<Lanes, Eigen::Unaligned>;
using ConstLanesMap = Eigen::Map<const Lanes, Eigen::Unaligned>;

// Filters computed together in Forward (each loaded input row is reused by
// all of them) and kernel taps accumulated together in the weight gradient:
// enough independent accumulators to hide FMA latency, few enough to stay in
// registers.
constexpr int kFilterBlock = 4;
constexpr int kTapBlock = 4;

}  // namespace

DirectConv::DirectConv(const ConvGeometry& g) : g_(g) {
  row_stride_ = (g.output.width + kLanes - 1) / kLanes * kLanes;
  padded_width_ = row_stride_ + g.kernel - 1;
  padded_height_ = g.input.height + 2 * g.padding;
  padded_.assign(static_cast<size_t>(g.input.channels * padded_height_ * padded_width_), 0.0f);
}

void DirectConv::LoadInput(const float* x) {
  const int h = g_.input.height, w = g_.input.width, pad = g_.padding;
  for (int c = 0; c < g_.input.channels; ++c) {
    for (int ih = 0; ih < h; ++ih) {
      const float* src = x + (Index{c} * h + ih) * w;
      float* dst = padded_.data() + (c * padded_height_ + ih + pad) * padded_width_ + pad;
      std::copy_n(src, w, dst);
    }
  }
}

template <int kFilters>
void DirectConv::ForwardFilters(const float* weights, int first_filter, float* z) const {
  const int k = g_.kernel, channels = g_.input.channels;
  const Index patch = g_.patch_size();
  const float* w0 = weights + first_filter * patch;
  for (int oh = 0; oh < g_.output.height; ++oh) {
    for (Index ow0 = 0; ow0 < row_stride_; ow0 += kLanes) {
      Lanes acc[kFilters];
      for (Lanes& a : acc)
        a.setZero();
      for (int c = 0; c < channels; ++c) {
        for (int ki = 0; ki < k; ++ki) {
          const float* src = padded_.data() + (c * padded_height_ + oh + ki) * padded_width_ + ow0;
          const float* w = w0 + (c * k + ki) * k;
          for (int kj = 0; kj < k; ++kj) {
            const ConstLanesMap x(src + kj);
            for (int f = 0; f < kFilters; ++f)
              acc[f] += w[f * patch + kj] * x;
          }
        }
      }
      for (int f = 0; f < kFilters; ++f) {
        LanesMap(z + ((first_filter + f) * Index{g_.output.height} + oh) * row_stride_ + ow0) =
            acc[f];
      }
    }
  }
}

void DirectConv::Forward(const float* weights, float* z) const {
  for (int f = 0; f < g_.filters; f += kFilterBlock) {
    switch (std::min(kFilterBlock, g_.filters - f)) {
      case 4:
        ForwardFilters<4>(weights, f, z);
        break;
      case 3:
        ForwardFilters<3>(weights, f, z);
        break;
      case 2:
        ForwardFilters<2>(weights, f, z);
        break;
      default:
        ForwardFilters<1>(weights, f, z);
        break;
    }
  }
}

// lane_sums[t][l] += sum over (oh, ow0) of g[oh][ow0 + l] * x[oh][ow0 + l + t]
// for the kTaps consecutive taps t starting at x_row.
template <int kTaps>
void DirectConv::WeightGradientTaps(const float* g_plane, const float* x_row,
                                    float* lane_sums) const {
  Lanes acc[kTaps];
  for (int t = 0; t < kTaps; ++t)
    acc[t] = ConstLanesMap(lane_sums + t * kLanes);
  for (int oh = 0; oh < g_.output.height; ++oh) {
    const float* gr = g_plane + oh * row_stride_;
    const float* xr = x_row + oh * padded_width_;
    for (Index ow0 = 0; ow0 < row_stride_; ow0 += kLanes) {
      const ConstLanesMap gv(gr + ow0);
      for (int t = 0; t < kTaps; ++t)
        acc[t] += gv * ConstLanesMap(xr + ow0 + t);
    }
  }
  for (int t = 0; t < kTaps; ++t)
    LanesMap(lane_sums + t * kLanes) = acc[t];
}

void DirectConv::AccumulateWeightGradient(const float* g, float* lane_sums) const {
  const int k = g_.kernel;
  const Index plane = Index{g_.output.height} * row_stride_;
  for (int f = 0; f < g_.filters; ++f) {
    for (int c = 0; c < g_.input.channels; ++c) {
      for (int ki = 0; ki < k; ++ki) {
        const float* x_row = padded_.data() + (c * padded_height_ + ki) * padded_width_;
        float* sums = lane_sums + (((Index{f} * g_.input.channels + c) * k + ki) * k) * kLanes;
        for (int kj = 0; kj < k; kj += kTapBlock) {
          const float* gp = g + f * plane;
          float* s = sums + kj * kLanes;
          switch (std::min(kTapBlock, k - kj)) {
            case 4:
              WeightGradientTaps<4>(gp, x_row + kj, s);
              break;
            case 3:
              WeightGradientTaps<3>(gp, x_row + kj, s);
              break;
            case 2:
              WeightGradientTaps<2>(gp, x_row + kj, s);
              break;
            default:
              WeightGradientTaps<1>(gp, x_row + kj, s);
              break;
          }
        }
      }
    }
  }
}

void DirectConv::ReduceWeightGradient(const float* lane_sums, float* dweights) const {
  const Index n = Index{g_.filters} * g_.patch_size();
  for (Index i = 0; i < n; ++i) {
    dweights[i] += ConstLanesMap(lane_sums + i * kLanes).sum();
  }
}

}  // namespace edgefl::nn
