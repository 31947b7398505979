#include "nn/input_gradient_conv.h"

#include <algorithm>
#include <type_traits>

#include "nn/block_dispatch.h"

namespace edgefl::nn {

using Eigen::Index;

namespace {

using Vec = Eigen::Array<float, InputGradientConv::kSamples, 1>;
using VecMap = Eigen::Map<Vec, Eigen::Unaligned>;
using ConstVecMap = Eigen::Map<const Vec, Eigen::Unaligned>;

// Input channels x input columns computed together: each loaded gradient
// vector serves kChannelBlock channels, each broadcast weight kPositionBlock
// columns. kChannelBlock x kPositionBlock accumulators, kPositionBlock
// gradient vectors and one weight in registers (6 x 2 + 2 + 1 of AVX's 16;
// 6 x 4 + 4 + 1 of AVX-512's or NEON's 32).
constexpr int kPositionBlock = kVectorRegisters >= 32 ? 4 : 2;
constexpr int kChannelBlock = 6;

}  // namespace

InputGradientConv::InputGradientConv(const ConvGeometry& g)
    : geometry_(g), pad_(g.kernel - 1), padded_width_(g.output.width + 2 * (g.kernel - 1)) {
  weights_.assign(static_cast<size_t>(g.patch_size() * g.filters), 0.0f);
  g_.assign(static_cast<size_t>(Index{g.filters} * g.output.height * padded_width_ * kSamples),
            0.0f);
  dx_.assign(static_cast<size_t>(g.input.size() * kSamples), 0.0f);
}

void InputGradientConv::LoadWeights(const float* weights) {
  const int k = geometry_.kernel, channels = geometry_.input.channels;
  for (int f = 0; f < geometry_.filters; ++f)
    for (int c = 0; c < channels; ++c)
      for (int t = 0; t < k * k; ++t)
        weights_[static_cast<size_t>((Index{f} * k * k + t) * channels + c)] =
            weights[(Index{f} * channels + c) * k * k + t];
}

void InputGradientConv::Clear() {
  std::fill(g_.begin(), g_.end(), 0.0f);
}

void InputGradientConv::SetSample(int sample, const float* g) {
  const Index positions = geometry_.positions();
  for (int f = 0; f < geometry_.filters; ++f)
    for (Index p = 0; p < positions; ++p)
      Set(sample, f, p, g[f * positions + p]);
}

// dx_ of channels c0.. and columns iw0.. of input row ih, all lanes.
template <int kChannels, int kPositions>
void InputGradientConv::ComputeBlock(int c0, int ih, int iw0) {
  const int k = geometry_.kernel, p = geometry_.padding, channels = geometry_.input.channels;
  const int h_out = geometry_.output.height, w_out = geometry_.output.width;
  // Taps that meet a gradient row (exactly) or a gradient column of any of
  // the block's columns (the others of the union read g's zero padding).
  const int ki_first = std::max(0, ih + p - h_out + 1), ki_last = std::min(k - 1, ih + p);
  const int kj_first = std::max(0, iw0 + p - w_out + 1);
  const int kj_last = std::min(k - 1, iw0 + kPositions - 1 + p);
  Vec acc[kChannels][kPositions];
  for (auto& row : acc)
    for (Vec& a : row)
      a.setZero();
  for (int f = 0; f < geometry_.filters; ++f) {
    for (int ki = ki_first; ki <= ki_last; ++ki) {
      // Column ow of row oh is at padded column ow + pad_.
      const float* row =
          g_.data() + ((Index{f} * h_out + ih + p - ki) * padded_width_ + pad_) * kSamples;
      const float* w = weights_.data() + (Index{f} * k + ki) * k * channels + c0;
      for (int kj = kj_first; kj <= kj_last; ++kj) {
        Vec gv[kPositions];
        for (int j = 0; j < kPositions; ++j)
          gv[j] = ConstVecMap(row + Index{iw0 + j + p - kj} * kSamples);
        const float* wt = w + kj * channels;
        for (int c = 0; c < kChannels; ++c) {
          const float weight = wt[c];
          for (int j = 0; j < kPositions; ++j)
            acc[c][j] += weight * gv[j];
        }
      }
    }
  }
  const int h = geometry_.input.height, w_in = geometry_.input.width;
  for (int c = 0; c < kChannels; ++c)
    for (int j = 0; j < kPositions; ++j)
      VecMap(dx_.data() + ((Index{c0 + c} * h + ih) * w_in + iw0 + j) * kSamples) = acc[c][j];
}

void InputGradientConv::Compute(int samples, float* dx, Index dx_stride) {
  const int channels = geometry_.input.channels;
  const int h = geometry_.input.height, w = geometry_.input.width;
  for (int c0 = 0; c0 < channels; c0 += kChannelBlock) {
    WithBlock<kChannelBlock>(std::min(kChannelBlock, channels - c0), [&](auto nc) {
      for (int ih = 0; ih < h; ++ih) {
        for (int iw0 = 0; iw0 < w; iw0 += kPositionBlock) {
          WithBlock<kPositionBlock>(std::min(kPositionBlock, w - iw0), [&](auto np) {
            ComputeBlock<decltype(nc)::value, decltype(np)::value>(c0, ih, iw0);
          });
        }
      }
    });
  }
  const Index size = geometry_.input.size();
  for (int s = 0; s < samples; ++s) {
    float* out = dx + s * dx_stride;
    for (Index i = 0; i < size; ++i)
      out[i] = dx_[static_cast<size_t>(i * kSamples + s)];
  }
}

}  // namespace edgefl::nn
