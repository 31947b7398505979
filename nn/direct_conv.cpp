#include "nn/direct_conv.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "nn/block_dispatch.h"
#include "nn/vector_registers.h"

namespace edgefl::nn {

using Eigen::Index;

namespace {

// kLanes floats held in SIMD registers (Eigen picks the widest packets the
// build targets: one AVX-512 register, two AVX ones, or four SSE ones).
using Lanes = Eigen::Array<float, DirectConv::kLanes, 1>;
using LanesMap = Eigen::Map<Lanes, Eigen::Unaligned>;
using ConstLanesMap = Eigen::Map<const Lanes, Eigen::Unaligned>;

// One SIMD register of floats (vector_registers.h). The split-columns
// kernels keep 12 to 15 accumulators live; as kLanes-float arrays they took
// two AVX registers each and spilled to the stack (16 registers), so they
// work on register-wide slices of the kLanes lanes instead, one slice after
// the other. Each lane still sees the same operations in the same order: the
// results are bit for bit the same.
static_assert(DirectConv::kLanes % kVectorFloats == 0);
using Vec = Eigen::Array<float, kVectorFloats, 1>;
using VecMap = Eigen::Map<Vec, Eigen::Unaligned>;
using ConstVecMap = Eigen::Map<const Vec, Eigen::Unaligned>;

// Filters computed together in Forward (each loaded input row is reused by
// all of them) and kernel taps accumulated together in the weight gradient:
// enough independent accumulators to hide FMA latency, few enough to stay in
// registers.
constexpr int kFilterBlock = 8;
constexpr int kTapBlock = 8;
// Filters whose weight gradients are accumulated together in split mode,
// sharing each loaded input vector: kGradientFilterBlock x kTaps
// accumulators, kTaps + 1 input vectors and two gradient vectors per filter
// (3 x 5 + 6 + 6 of 32 registers). With 16 registers one filter: GCC then
// reads the input vectors as FMA operands, 12 loads for 10 FMAs; 2 filters x
// 3 taps took 20 loads for 12 FMAs.
constexpr int kGradientFilterBlock = kVectorRegisters >= 32 ? 3 : 1;

}  // namespace

DirectConv::DirectConv(const ConvGeometry& g, bool split_columns) : g_(g), split_(split_columns) {
  if (split_) {
    const Index half = ((g.output.width + 1) / 2 + kLanes - 1) / kLanes * kLanes;
    row_stride_ = 2 * half;
    // Even output columns read padded columns 2j + kj, odd ones 2j + 1 + kj:
    // up to half + k / 2 of each parity.
    half_padded_ = half + g.kernel / 2 + 1;
    padded_width_ = 2 * half_padded_;
  } else {
    row_stride_ = (g.output.width + kLanes - 1) / kLanes * kLanes;
    half_padded_ = 0;
    padded_width_ = row_stride_ + g.kernel - 1;
  }
  padded_height_ = g.input.height + 2 * g.padding;
  padded_.assign(static_cast<size_t>(g.input.channels * padded_height_ * padded_width_), 0.0f);
}

std::pair<int, int> DirectConv::KernelRows(int oh) const {
  const int pad = g_.padding;
  return {std::max(0, pad - oh), std::min(g_.kernel - 1, pad + g_.input.height - 1 - oh)};
}

void DirectConv::LoadInput(const float* x) {
  const int h = g_.input.height, w = g_.input.width, pad = g_.padding;
  for (int c = 0; c < g_.input.channels; ++c) {
    for (int ih = 0; ih < h; ++ih) {
      const float* src = x + (Index{c} * h + ih) * w;
      float* row = padded_.data() + (c * padded_height_ + ih + pad) * padded_width_;
      if (split_) {
        // Padded column u = iw + pad goes to (u % 2) * half_padded_ + u / 2.
        const int first_even = pad % 2, first_odd = 1 - pad % 2;
        float* even = row + (pad + 1) / 2;
        float* odd = row + half_padded_ + pad / 2;
        for (int m = 0; first_even + 2 * m < w; ++m)
          even[m] = src[first_even + 2 * m];
        for (int m = 0; first_odd + 2 * m < w; ++m)
          odd[m] = src[first_odd + 2 * m];
      } else {
        std::copy_n(src, w, row + pad);
      }
    }
  }
}

template <int kFilters>
void DirectConv::ForwardFilters(const float* weights, int first_filter, float* z) const {
  const int k = g_.kernel, channels = g_.input.channels;
  const Index patch = g_.patch_size();
  const float* w0 = weights + first_filter * patch;
  for (int oh = 0; oh < g_.output.height; ++oh) {
    const std::pair<int, int> rows = KernelRows(oh);
    for (Index ow0 = 0; ow0 < row_stride_; ow0 += kLanes) {
      Lanes acc[kFilters];
      for (Lanes& a : acc)
        a.setZero();
      for (int c = 0; c < channels; ++c) {
        for (int ki = rows.first; ki <= rows.second; ++ki) {
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

// Split mode: even output column 2j reads padded column 2j + kj, odd 2j + 1
// reads 2j + 1 + kj; in the halves of a padded row, column u is at
// (u % 2) * half_padded_ + u / 2.
template <int kFilters>
void DirectConv::ForwardFiltersSplit(const float* weights, int first_filter, float* z) const {
  const int k = g_.kernel, channels = g_.input.channels;
  const Index patch = g_.patch_size(), half = half_stride();
  const float* w0 = weights + first_filter * patch;
  for (int oh = 0; oh < g_.output.height; ++oh) {
    const std::pair<int, int> rows = KernelRows(oh);
    for (Index j0 = 0; j0 < half; j0 += kVectorFloats) {
      Vec even[kFilters], odd[kFilters];
      for (int f = 0; f < kFilters; ++f) {
        even[f].setZero();
        odd[f].setZero();
      }
      for (int c = 0; c < channels; ++c) {
        for (int ki = rows.first; ki <= rows.second; ++ki) {
          const float* row = padded_.data() + (c * padded_height_ + oh + ki) * padded_width_ + j0;
          const float* w = w0 + (c * k + ki) * k;
          for (int kj = 0; kj < k; ++kj) {
            const ConstVecMap xe(row + (kj % 2) * half_padded_ + kj / 2);
            const ConstVecMap xo(row + ((kj + 1) % 2) * half_padded_ + (kj + 1) / 2);
            for (int f = 0; f < kFilters; ++f) {
              even[f] += w[f * patch + kj] * xe;
              odd[f] += w[f * patch + kj] * xo;
            }
          }
        }
      }
      for (int f = 0; f < kFilters; ++f) {
        float* out = z + ((first_filter + f) * Index{g_.output.height} + oh) * row_stride_ + j0;
        VecMap{out} = even[f];
        VecMap{out + half} = odd[f];
      }
    }
  }
}

void DirectConv::Forward(const float* weights, float* z) const {
  if (split_) {
    for (int f = 0; f < g_.filters; f += kFilterBlock) {
      WithBlock<kFilterBlock>(std::min(kFilterBlock, g_.filters - f), [&](auto n) {
        ForwardFiltersSplit<decltype(n)::value>(weights, f, z);
      });
    }
    return;
  }
  for (int f = 0; f < g_.filters; f += kFilterBlock) {
    WithBlock<kFilterBlock>(std::min(kFilterBlock, g_.filters - f),
                            [&](auto n) { ForwardFilters<decltype(n)::value>(weights, f, z); });
  }
}

// lane_sums[t][l] += sum over (oh, ow0) of g[oh][ow0 + l] * x[oh][ow0 + l + t]
// for the kTaps consecutive taps t starting at x_row.
template <int kTaps>
void DirectConv::WeightGradientTaps(const float* g_plane, const float* x_row,
                                    float* lane_sums) const {
  for (int s = 0; s < kLanes; s += kVectorFloats) {  // register-wide slices
    Vec acc[kTaps];
    for (int t = 0; t < kTaps; ++t)
      acc[t] = ConstVecMap(lane_sums + t * kLanes + s);
    for (int oh = 0; oh < g_.output.height; ++oh) {
      const float* gr = g_plane + oh * row_stride_ + s;
      const float* xr = x_row + oh * padded_width_ + s;
      for (Index ow0 = 0; ow0 < row_stride_; ow0 += kLanes) {
        const ConstVecMap gv(gr + ow0);
        for (int t = 0; t < kTaps; ++t)
          acc[t] += gv * ConstVecMap(xr + ow0 + t);
      }
    }
    for (int t = 0; t < kTaps; ++t)
      VecMap(lane_sums + t * kLanes + s) = acc[t];
  }
}

// Split mode: lane_sums[f][t][l] += sum over (oh, j0) of g_even[f][oh][j0 + l] *
// x[oh][2 (j0 + l) + kj] + g_odd[f][oh][j0 + l] * x[oh][2 (j0 + l) + 1 + kj]
// for the kFilters filters from first_filter and the kTaps taps kj =
// first_tap + t (x_row: the padded row of output row 0; lane_sums: those of
// the first filter and tap). The odd columns' tap t reads the even columns'
// tap t + 1, so kTaps + 1 input vectors serve all the filters' 2 kTaps.
template <int kFilters, int kTaps>
void DirectConv::WeightGradientSplit(const float* g, int first_filter, const float* x_row,
                                     int first_tap, float* lane_sums) const {
  const Index half = half_stride(), plane = Index{g_.output.height} * row_stride_;
  const Index filter_sums = g_.patch_size() * kLanes;
  Index offsets[kTaps + 1];
  for (int m = 0; m <= kTaps; ++m)
    offsets[m] = ((first_tap + m) % 2) * half_padded_ + (first_tap + m) / 2;
  const float* g0 = g + first_filter * plane;
  // Lanes [s, s + kVectorFloats) of every kLanes-wide chunk, one slice after
  // the other.
  for (int s = 0; s < kLanes; s += kVectorFloats) {
    Vec acc[kFilters][kTaps];
    for (int f = 0; f < kFilters; ++f)
      for (int t = 0; t < kTaps; ++t)
        acc[f][t] = ConstVecMap(lane_sums + f * filter_sums + t * kLanes + s);
    for (int oh = 0; oh < g_.output.height; ++oh) {
      const float* xr = x_row + oh * padded_width_ + s;
      const float* gr = g0 + oh * row_stride_ + s;
      for (Index j0 = 0; j0 < half; j0 += kLanes) {
        Vec x[kTaps + 1];
        for (int m = 0; m <= kTaps; ++m)
          x[m] = ConstVecMap(xr + offsets[m] + j0);
        for (int f = 0; f < kFilters; ++f) {
          const Vec ge = ConstVecMap(gr + f * plane + j0);
          const Vec go = ConstVecMap(gr + f * plane + half + j0);
          for (int t = 0; t < kTaps; ++t) {
            acc[f][t] += ge * x[t];
            acc[f][t] += go * x[t + 1];
          }
        }
      }
    }
    for (int f = 0; f < kFilters; ++f)
      for (int t = 0; t < kTaps; ++t)
        VecMap(lane_sums + f * filter_sums + t * kLanes + s) = acc[f][t];
  }
}

void DirectConv::AccumulateWeightGradient(const float* g, float* lane_sums) const {
  const int k = g_.kernel;
  const Index plane = Index{g_.output.height} * row_stride_;
  if (split_) {
    for (int c = 0; c < g_.input.channels; ++c) {
      for (int ki = 0; ki < k; ++ki) {
        const float* x_row = padded_.data() + (c * padded_height_ + ki) * padded_width_;
        for (int f = 0; f < g_.filters; f += kGradientFilterBlock) {
          float* sums = lane_sums + (((Index{f} * g_.input.channels + c) * k + ki) * k) * kLanes;
          for (int kj = 0; kj < k; kj += kTapBlock) {
            WithBlock<kGradientFilterBlock>(
                std::min(kGradientFilterBlock, g_.filters - f), [&](auto filters) {
                  WithBlock<kTapBlock>(std::min(kTapBlock, k - kj), [&](auto taps) {
                    WeightGradientSplit<decltype(filters)::value, decltype(taps)::value>(
                        g, f, x_row, kj, sums + kj * kLanes);
                  });
                });
          }
        }
      }
    }
    return;
  }
  for (int f = 0; f < g_.filters; ++f) {
    for (int c = 0; c < g_.input.channels; ++c) {
      for (int ki = 0; ki < k; ++ki) {
        const float* x_row = padded_.data() + (c * padded_height_ + ki) * padded_width_;
        float* sums = lane_sums + (((Index{f} * g_.input.channels + c) * k + ki) * k) * kLanes;
        for (int kj = 0; kj < k; kj += kTapBlock) {
          const float* gp = g + f * plane;
          float* s = sums + kj * kLanes;
          WithBlock<kTapBlock>(std::min(kTapBlock, k - kj), [&](auto n) {
            WeightGradientTaps<decltype(n)::value>(gp, x_row + kj, s);
          });
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
