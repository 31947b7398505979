#include "nn/implicit_gemm_conv.h"

#include <algorithm>
#include <type_traits>

#include "nn/block_dispatch.h"

namespace edgefl::nn {

using Eigen::Index;

namespace {

using Lanes = Eigen::Array<float, ImplicitGemmConv::kLanes, 1>;
using LanesMap = Eigen::Map<Lanes, Eigen::Unaligned>;
using ConstLanesMap = Eigen::Map<const Lanes, Eigen::Unaligned>;

// Output positions computed together (independent accumulators sharing each
// loaded weight vector) and taps accumulated together in the weight
// gradient (sharing each loaded gradient vector).
constexpr int kPositionBlock = 8;
constexpr int kTapBlock = 8;

}  // namespace

ImplicitGemmConv::ImplicitGemmConv(const ConvGeometry& g) : geometry_(g) {
  lane_filters_ = (g.filters + kLanes - 1) / kLanes * kLanes;
  padded_width_ = g.input.width + 2 * g.padding;
  padded_height_ = g.input.height + 2 * g.padding;
  padded_.assign(static_cast<size_t>(g.input.channels * padded_height_ * padded_width_), 0.0f);
  weights_.assign(static_cast<size_t>(g.patch_size() * lane_filters_), 0.0f);
}

void ImplicitGemmConv::LoadWeights(const float* weights) {
  const Index patch = geometry_.patch_size();
  for (Index f = 0; f < geometry_.filters; ++f)
    for (Index t = 0; t < patch; ++t)
      weights_[static_cast<size_t>(t * lane_filters_ + f)] = weights[f * patch + t];
}

void ImplicitGemmConv::LoadInput(const float* x) {
  const int h = geometry_.input.height, w = geometry_.input.width, pad = geometry_.padding;
  for (int c = 0; c < geometry_.input.channels; ++c) {
    for (int ih = 0; ih < h; ++ih) {
      std::copy_n(x + (Index{c} * h + ih) * w, w,
                  padded_.data() + (c * padded_height_ + ih + pad) * padded_width_ + pad);
    }
  }
}

template <int kPositions>
void ImplicitGemmConv::ForwardPositions(int oh, int ow0, Index f0, float* z) const {
  const int k = geometry_.kernel;
  Lanes acc[kPositions];
  for (Lanes& a : acc)
    a.setZero();
  const float* w = weights_.data() + f0;
  for (int c = 0; c < geometry_.input.channels; ++c) {
    for (int ki = 0; ki < k; ++ki) {
      const float* x = padded_.data() + (c * padded_height_ + oh + ki) * padded_width_ + ow0;
      for (int kj = 0; kj < k; ++kj, w += lane_filters_) {
        const ConstLanesMap wv(w);
        for (int j = 0; j < kPositions; ++j)
          acc[j] += x[j + kj] * wv;
      }
    }
  }
  float* out = z + (Index{oh} * geometry_.output.width + ow0) * lane_filters_ + f0;
  for (int j = 0; j < kPositions; ++j)
    LanesMap(out + j * lane_filters_) = acc[j];
}

void ImplicitGemmConv::Forward(float* z) const {
  const int w_out = geometry_.output.width;
  // Blocks of equal size (a 10-wide row as 5 + 5, not 8 + 2: a 2-position
  // block has too few accumulators to hide the multiply-add latency).
  const int blocks = (w_out + kPositionBlock - 1) / kPositionBlock;
  const int block = (w_out + blocks - 1) / blocks;
  for (Index f0 = 0; f0 < lane_filters_; f0 += kLanes) {
    for (int oh = 0; oh < geometry_.output.height; ++oh) {
      for (int ow0 = 0; ow0 < w_out; ow0 += block) {
        WithBlock<kPositionBlock>(std::min(block, w_out - ow0), [&](auto n) {
          ForwardPositions<decltype(n)::value>(oh, ow0, f0, z);
        });
      }
    }
  }
}

// dweights[t] += sum over positions p of x(p, t) * g[p] for the kTaps
// consecutive taps t of one kernel row starting at x_row.
template <int kTaps>
void ImplicitGemmConv::GradientTaps(const float* g, const float* x_row, Index f0,
                                    float* dweights) const {
  Lanes acc[kTaps];
  for (int t = 0; t < kTaps; ++t)
    acc[t] = ConstLanesMap(dweights + t * lane_filters_ + f0);
  const int h_out = geometry_.output.height, w_out = geometry_.output.width;
  for (int oh = 0; oh < h_out; ++oh) {
    const float* x = x_row + oh * padded_width_;
    const float* gr = g + Index{oh} * w_out * lane_filters_ + f0;
    for (int ow = 0; ow < w_out; ++ow) {
      const ConstLanesMap gv(gr + ow * lane_filters_);
      for (int t = 0; t < kTaps; ++t)
        acc[t] += x[ow + t] * gv;
    }
  }
  for (int t = 0; t < kTaps; ++t)
    LanesMap(dweights + t * lane_filters_ + f0) = acc[t];
}

void ImplicitGemmConv::AccumulateWeightGradient(const float* g, float* dweights) const {
  const int k = geometry_.kernel;
  for (Index f0 = 0; f0 < lane_filters_; f0 += kLanes) {
    for (int c = 0; c < geometry_.input.channels; ++c) {
      for (int ki = 0; ki < k; ++ki) {
        const float* x_row = padded_.data() + (c * padded_height_ + ki) * padded_width_;
        float* dw = dweights + ((Index{c} * k + ki) * k) * lane_filters_;
        for (int kj = 0; kj < k; kj += kTapBlock) {
          float* d = dw + kj * lane_filters_;
          WithBlock<kTapBlock>(std::min(kTapBlock, k - kj), [&](auto n) {
            GradientTaps<decltype(n)::value>(g, x_row + kj, f0, d);
          });
        }
      }
    }
  }
}

void ImplicitGemmConv::AddWeightGradient(const float* dweights, float* grads) const {
  const Index patch = geometry_.patch_size();
  for (Index f = 0; f < geometry_.filters; ++f)
    for (Index t = 0; t < patch; ++t)
      grads[f * patch + t] += dweights[t * lane_filters_ + f];
}

}  // namespace edgefl::nn
