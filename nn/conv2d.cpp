#include "nn/conv2d.h"

#include <algorithm>
#include <limits>

#include "nn/direct_conv.h"
#include "nn/im2col.h"
#include "nn/implicit_gemm_conv.h"
#include "nn/input_gradient_conv.h"
#include "nn/max_pool2d.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;
using Eigen::VectorXf;
using RowMajorMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

// Kernel choice for stride 1 (measured on LeNet): the direct kernel while
// patches are short (conv1, C = 1: it reads each input row k times from L1
// instead of unrolling C*k*k copies of it), the implicit GEMM when the
// filters fill its vectors (conv2, F = 16), im2col + GEMM otherwise.
constexpr int kDirectMaxChannels = 1;
constexpr int kImplicitMinFilters = ImplicitGemmConv::kLanes / 2;

// One pooled row of a 2 x 2 max-pool over the split-columns rows z0, z1 (the
// even columns, then the odd ones from z + half): y[j] = max of the window's
// four values + bias (then ReLU), arg[j] = the index of the first maximum,
// the offset of z0 being row0 (of z1 row1).
void PoolSplitRow(const float* z0, const float* z1, Index half, int w_pool, int32_t row0,
                  int32_t row1, float bias, bool relu, float* y, int32_t* arg) {
  constexpr int kChunk = DirectConv::kLanes;  // half is a multiple of it
  const auto odd = static_cast<int32_t>(half);
  // Written without branches so that it vectorises where selects cost
  // branches otherwise (AVX2: GCC left the ?: form scalar, ~20 % of a LeNet
  // step there). std::max(a, b) is a < b ? b : a, the same choice as
  // before; ReLU is a max with 0, and without it a max with -inf (x itself).
  const float lowest = relu ? 0.0f : -std::numeric_limits<float>::infinity();
  for (int j0 = 0; j0 < w_pool; j0 += kChunk) {
    float values[kChunk];
    int32_t args[kChunk];
    for (int l = 0; l < kChunk; ++l) {
      const int j = j0 + l;
      const float v0 = z0[j], v1 = z0[half + j], v2 = z1[j], v3 = z1[half + j];
      const auto right_top = static_cast<int32_t>(v0 < v1);
      const auto right_bottom = static_cast<int32_t>(v2 < v3);
      const float top = std::max(v0, v1), bottom = std::max(v2, v3);
      const int32_t top_arg = row0 + j + right_top * odd;
      const int32_t bottom_arg = row1 + j + right_bottom * odd;
      const auto lower = static_cast<int32_t>(top < bottom);
      values[l] = std::max(std::max(top, bottom) + bias, lowest);
      args[l] = top_arg + lower * (bottom_arg - top_arg);
    }
    const int n = std::min(kChunk, w_pool - j0);
    std::copy_n(values, n, y + j0);
    std::copy_n(args, n, arg + j0);
  }
}

// The gradient of PoolSplitRow for kLanes columns from j0: writes those
// columns of the four split-columns half rows under one pooled row (g0:
// the upper row's even columns from j0, g0 + odd its odd ones; g1 the lower
// row's) from the pooled gradients dy (ReLU by y) and arg-maxes of columns
// j0.. (lanes past n are zero), the arg-max of column j0 in the upper row's
// even half being at0 (at1 in the lower one); lane_sums += the gradients.
// Reads all kLanes of dy, y and arg.
void UnpoolSplitChunk(const float* __restrict dy, const float* __restrict y,
                      const int32_t* __restrict arg, int n, int32_t at0, int32_t at1, int32_t odd,
                      bool relu, float* __restrict g0, float* __restrict g1,
                      float* __restrict lane_sums) {
  for (int l = 0; l < DirectConv::kLanes; ++l) {
    const float d = (l >= n || (relu && y[l] <= 0.0f)) ? 0.0f : dy[l];
    const int32_t a = arg[l];
    g0[l] = a == at0 + l ? d : 0.0f;
    g0[odd + l] = a == at0 + odd + l ? d : 0.0f;
    g1[l] = a == at1 + l ? d : 0.0f;
    g1[odd + l] = a == at1 + odd + l ? d : 0.0f;
    lane_sums[l] += d;
  }
}

}  // namespace

Conv2d::Conv2d(ImageShape input, const Conv2dOptions& options)
    : geometry_(ConvGeometry::Make(input, options.filters, options.kernel, options.stride,
                                   options.padding)),
      options_(options) {
  const ImageShape conv = geometry_.output;
  output_ = {conv.channels, conv.height / options.pool, conv.width / options.pool};
  if (options.stride == 1 && input.channels <= kDirectMaxChannels) {
    // A 2 x 2 pool reads the kernel's even and odd columns as plain vectors.
    direct_ = std::make_unique<DirectConv>(geometry_, options.pool == 2);
    z_stride_ = direct_->row_stride();
  } else if (options.stride == 1 && options.filters >= kImplicitMinFilters) {
    implicit_ = std::make_unique<ImplicitGemmConv>(geometry_);
    z_stride_ = conv.width;
    z_lanes_ = VectorXf::Zero(implicit_->output_floats());
    g_lanes_ = VectorXf::Zero(implicit_->output_floats());
    if (options.pool > 1) {
      lanes_pool_ = true;
      pooled_lanes_ =
          VectorXf::Zero(Index{output_.height} * output_.width * implicit_->lane_filters());
      pooled_args_.assign(static_cast<size_t>(pooled_lanes_.size()), 0);
    }
    if (options.padding <= options.kernel - 1) {
      input_gradient_ = std::make_unique<InputGradientConv>(geometry_);
    }
  } else {
    z_stride_ = conv.width;
    cols_.resize(geometry_.positions(), geometry_.patch_size());
  }
  z_ = VectorXf::Zero(Index{conv.channels} * conv.height * z_stride_);
  g_ = VectorXf::Zero(z_.size());
}

Conv2d::~Conv2d() = default;

std::string Conv2d::Describe() const {
  const ImageShape& in = geometry_.input;
  const ImageShape& conv = geometry_.output;
  std::string text = "conv2d " + std::to_string(in.channels) + "x" + std::to_string(in.height) +
                     "x" + std::to_string(in.width) + " k" + std::to_string(options_.kernel) +
                     " s" + std::to_string(options_.stride) + " p" +
                     std::to_string(options_.padding) + " -> " + std::to_string(conv.channels) +
                     "x" + std::to_string(conv.height) + "x" + std::to_string(conv.width) +
                     (options_.relu ? " +relu" : "");
  if (options_.pool > 1) {
    text += " +maxpool " + std::to_string(options_.pool) + " -> " + std::to_string(output_.height) +
            "x" + std::to_string(output_.width);
  }
  return text;
}

void Conv2d::Initialize(Init init, Rng& rng, float* params) const {
  const Index k2 = Index{options_.kernel} * options_.kernel;
  const Index weights = geometry_.patch_size() * geometry_.filters;
  FillUniform(rng, InitBound(init, geometry_.patch_size(), k2 * geometry_.filters), params,
              weights);
  std::fill_n(params + weights, geometry_.filters, 0.0f);
}

void Conv2d::Convolve(const float* weights, const float* x) {
  if (direct_) {
    direct_->LoadInput(x);
    direct_->Forward(weights, z_.data());
    return;
  }
  const Index positions = geometry_.positions(), filters = geometry_.filters;
  if (implicit_) {
    implicit_->LoadInput(x);
    implicit_->Forward(z_lanes_.data());
    if (lanes_pool_) return;  // EpilogueLanes reads z_lanes_
    Map<MatrixXf>(z_.data(), positions, filters) =
        Map<const RowMajorMatrixXf>(z_lanes_.data(), positions, implicit_->lane_filters())
            .leftCols(filters);
    return;
  }
  Im2Col(geometry_, x, cols_.data());
  Map<const MatrixXf> wt(weights, geometry_.patch_size(), geometry_.filters);
  Map<MatrixXf>(z_.data(), positions, filters).noalias() = cols_ * wt;
}

void Conv2d::Epilogue(const float* bias, float* y, int32_t* argmax) const {
  const ImageShape& conv = geometry_.output;
  const bool relu = options_.relu;
  if (direct_ && direct_->split_columns()) {
    const int h_pool = output_.height, w_pool = output_.width;
    for (int f = 0; f < conv.channels; ++f) {
      for (int i = 0; i < h_pool; ++i) {
        const Index row0 = (Index{f} * conv.height + 2 * i) * z_stride_, row1 = row0 + z_stride_;
        const Index out = (Index{f} * h_pool + i) * w_pool;
        PoolSplitRow(z_.data() + row0, z_.data() + row1, direct_->half_stride(), w_pool,
                     static_cast<int32_t>(row0), static_cast<int32_t>(row1), bias[f], relu, y + out,
                     argmax + out);
      }
    }
    return;
  }
  if (options_.pool > 1) {
    MaxPoolPlanes(z_.data(), conv.channels, conv.height, conv.width, z_stride_, options_.pool, y,
                  argmax);
    const Index plane = Index{output_.height} * output_.width;
    for (int f = 0; f < conv.channels; ++f) {
      auto values = Map<VectorXf>(y + f * plane, plane).array();
      if (relu) {
        values = (values + bias[f]).max(0.0f);
      } else {
        values += bias[f];
      }
    }
    return;
  }
  for (int f = 0; f < conv.channels; ++f) {
    for (int oh = 0; oh < conv.height; ++oh) {
      const float* z = z_.data() + (Index{f} * conv.height + oh) * z_stride_;
      float* dst = y + (Index{f} * conv.height + oh) * conv.width;
      for (int ow = 0; ow < conv.width; ++ow)
        dst[ow] = relu ? std::max(z[ow] + bias[f], 0.0f) : z[ow] + bias[f];
    }
  }
}

void Conv2d::EpilogueLanes(const float* bias, float* y, int32_t* argmax) {
  const int q = options_.pool, w = geometry_.output.width;
  const int h_pool = output_.height, w_pool = output_.width;
  const Index lanes = implicit_->lane_filters(), plane = Index{h_pool} * w_pool;
  const float* z = z_lanes_.data();
  // Per pooled position, the window's maxima of all filters at once (the
  // first maximum in row-major window order, as MaxPoolPlanes).
  for (int i = 0; i < h_pool; ++i) {
    for (int j = 0; j < w_pool; ++j) {
      float* best = pooled_lanes_.data() + (Index{i} * w_pool + j) * lanes;
      int32_t* arg = pooled_args_.data() + (Index{i} * w_pool + j) * lanes;
      const int32_t first = i * q * w + j * q;
      std::copy_n(z + first * lanes, lanes, best);
      std::fill_n(arg, lanes, first);
      for (int di = 0; di < q; ++di) {
        for (int dj = di == 0 ? 1 : 0; dj < q; ++dj) {
          const int32_t p = first + di * w + dj;
          const float* zp = z + p * lanes;
          for (Index l = 0; l < lanes; ++l) {
            const bool more = zp[l] > best[l];
            best[l] = more ? zp[l] : best[l];
            arg[l] = more ? p : arg[l];
          }
        }
      }
    }
  }
  const bool relu = options_.relu;
  for (int f = 0; f < geometry_.filters; ++f) {
    for (Index p = 0; p < plane; ++p) {
      const float v = pooled_lanes_[p * lanes + f] + bias[f];
      y[f * plane + p] = relu ? std::max(v, 0.0f) : v;
      argmax[f * plane + p] = pooled_args_[static_cast<size_t>(p * lanes + f)];
    }
  }
}

void Conv2d::GradientOfZLanes(const float* dy, const float* y, const int32_t* argmax, float* dbias,
                              bool with_g, int lane) {
  const bool relu = options_.relu;
  const Index lanes = implicit_->lane_filters(), positions = geometry_.positions();
  const Index plane = Index{output_.height} * output_.width;
  g_lanes_.setZero();
  if (with_g) g_.setZero();
  for (int f = 0; f < geometry_.filters; ++f) {
    float sum = 0.0f;
    for (Index i = f * plane; i < (f + 1) * plane; ++i) {
      const float d = (relu && y[i] <= 0.0f) ? 0.0f : dy[i];
      g_lanes_[argmax[i] * lanes + f] = d;
      if (with_g) g_[f * positions + argmax[i]] = d;
      if (lane >= 0) input_gradient_->Set(lane, f, argmax[i], d);
      sum += d;
    }
    dbias[f] += sum;
  }
}

void Conv2d::GradientOfZ(const float* dy, const float* y, const int32_t* argmax, float* dbias) {
  const ImageShape& conv = geometry_.output;
  const bool relu = options_.relu;
  if (direct_ && direct_->split_columns()) {
    // Every column of the pooled rows' z rows is written (zeros where no
    // maximum was); rows past them (odd heights) never are: they stay zero.
    constexpr int kLanes = DirectConv::kLanes;
    const int h_pool = output_.height, w_pool = output_.width;
    const Index half = direct_->half_stride(), out_size = output_size();
    for (int f = 0; f < conv.channels; ++f) {
      float lane_sums[kLanes] = {};
      for (int i = 0; i < h_pool; ++i) {
        const Index row0 = (Index{f} * conv.height + 2 * i) * z_stride_, row1 = row0 + z_stride_;
        const Index out = (Index{f} * h_pool + i) * w_pool;
        for (int j0 = 0; j0 < half; j0 += kLanes) {
          const int n = std::clamp(w_pool - j0, 0, kLanes);
          const auto at0 = static_cast<int32_t>(row0 + j0), at1 = static_cast<int32_t>(row1 + j0);
          float* g0 = g_.data() + row0 + j0;
          float* g1 = g_.data() + row1 + j0;
          if (out + j0 + kLanes <= out_size) {  // kLanes readable (masked past n)
            UnpoolSplitChunk(dy + out + j0, y + out + j0, argmax + out + j0, n, at0, at1,
                             static_cast<int32_t>(half), relu, g0, g1, lane_sums);
          } else {  // the end of the sample's column: copy the n valid ones
            float dy_copy[kLanes] = {}, y_copy[kLanes] = {};
            int32_t arg_copy[kLanes] = {};
            std::copy_n(dy + out + j0, n, dy_copy);
            std::copy_n(y + out + j0, n, y_copy);
            std::copy_n(argmax + out + j0, n, arg_copy);
            UnpoolSplitChunk(dy_copy, y_copy, arg_copy, n, at0, at1, static_cast<int32_t>(half),
                             relu, g0, g1, lane_sums);
          }
        }
      }
      float sum = 0.0f;
      for (float partial : lane_sums)
        sum += partial;
      dbias[f] += sum;
    }
    return;
  }
  if (options_.pool > 1) {
    // Windows do not overlap: each pooled gradient lands on its own arg-max.
    g_.setZero();
    const Index plane = Index{output_.height} * output_.width;
    for (int f = 0; f < conv.channels; ++f) {
      float sum = 0.0f;
      for (Index i = f * plane; i < (f + 1) * plane; ++i) {
        const float d = (relu && y[i] <= 0.0f) ? 0.0f : dy[i];
        g_[argmax[i]] = d;
        sum += d;
      }
      dbias[f] += sum;
    }
    return;
  }
  for (int f = 0; f < conv.channels; ++f) {
    float sum = 0.0f;
    for (int oh = 0; oh < conv.height; ++oh) {
      const Index row = (Index{f} * conv.height + oh) * conv.width;
      float* g = g_.data() + (Index{f} * conv.height + oh) * z_stride_;
      for (int ow = 0; ow < conv.width; ++ow) {
        const float d = (relu && y[row + ow] <= 0.0f) ? 0.0f : dy[row + ow];
        g[ow] = d;
        sum += d;
      }
    }
    dbias[f] += sum;
  }
}

void Conv2d::Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) {
  const Index batch = in.cols(), out_size = output_size();
  const float* bias = params + geometry_.patch_size() * geometry_.filters;
  if (options_.pool > 1 && static_cast<Index>(argmax_.size()) < out_size * batch) {
    argmax_.resize(static_cast<size_t>(out_size * batch));
  }
  if (implicit_) implicit_->LoadWeights(params);
  for (Index b = 0; b < batch; ++b) {
    Convolve(params, in.col(b).data());
    if (lanes_pool_) {
      EpilogueLanes(bias, out.col(b).data(), argmax_.data() + b * out_size);
      continue;
    }
    Epilogue(bias, out.col(b).data(), options_.pool > 1 ? argmax_.data() + b * out_size : nullptr);
  }
}

void Conv2d::Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                      MatrixRef dout, float* grads, MatrixRef* din) {
  const Index positions = geometry_.positions(), filters = geometry_.filters;
  const Index patch = geometry_.patch_size(), out_size = output_size();
  Map<const MatrixXf> wt(params, patch, filters);
  // Without grads only dL/din is wanted: the bias gradient goes to scratch
  // and no weight gradient is made.
  const bool weights = grads != nullptr;
  if (!weights) dbias_scratch_.resize(filters);
  float* dbias = weights ? grads + patch * filters : dbias_scratch_.data();
  if (direct_) {
    if (weights) lane_sums_.setZero(direct_->lane_sum_floats());
    if (din != nullptr) g_compact_.resize(positions, filters);
  } else if (implicit_) {
    if (weights) dweights_.setZero(implicit_->weight_gradient_floats());
  }
  // dL/din by input_gradient_ in blocks of kSamples samples (the lanes),
  // else per sample by a GEMM and col2im.
  const bool din_by_lanes = din != nullptr && input_gradient_;
  const bool din_by_gemm = din != nullptr && !input_gradient_;
  constexpr int kSamples = InputGradientConv::kSamples;
  if (din_by_gemm) dcols_.resize(positions, patch);
  if (din_by_lanes) input_gradient_->LoadWeights(params);
  for (Index b = 0; b < in.cols(); ++b) {
    const int lane = static_cast<int>(b % kSamples);
    if (din_by_lanes && lane == 0) input_gradient_->Clear();
    if (lanes_pool_) {
      GradientOfZLanes(dout.col(b).data(), out.col(b).data(), argmax_.data() + b * out_size, dbias,
                       din_by_gemm, din_by_lanes ? lane : -1);
    } else {
      GradientOfZ(dout.col(b).data(), out.col(b).data(),
                  options_.pool > 1 ? argmax_.data() + b * out_size : nullptr, dbias);
      if (din_by_lanes) input_gradient_->SetSample(lane, g_.data());
    }
    if (!weights) {
      // Only dL/din below.
    } else if (direct_) {
      direct_->LoadInput(in.col(b).data());
      direct_->AccumulateWeightGradient(g_.data(), lane_sums_.data());
    } else if (implicit_) {
      if (!lanes_pool_) {
        Map<RowMajorMatrixXf>(g_lanes_.data(), positions, implicit_->lane_filters())
            .leftCols(filters) = Map<const MatrixXf>(g_.data(), positions, filters);
      }
      implicit_->LoadInput(in.col(b).data());
      implicit_->AccumulateWeightGradient(g_lanes_.data(), dweights_.data());
    } else {
      Im2Col(geometry_, in.col(b).data(), cols_.data());
      Map<MatrixXf>(grads, patch, filters).noalias() +=
          cols_.transpose() * Map<const MatrixXf>(g_.data(), positions, filters);
    }
    if (din_by_lanes) {
      if (lane == kSamples - 1 || b == in.cols() - 1) {
        input_gradient_->Compute(lane + 1, din->col(b - lane).data(), din->outerStride());
      }
    } else if (din != nullptr) {
      if (direct_) {
        // dL/dx is not on the training path of a first layer (an adversarial
        // ascent asks for it), so it reuses the GEMM formulation. A direct
        // transposed kernel, as for the implicit branch, measured no faster
        // (BENCHMARKS.md, "Simulation speed").
        const int h_out = geometry_.output.height, w_out = geometry_.output.width;
        for (Index f = 0; f < filters; ++f)
          for (int oh = 0; oh < h_out; ++oh)
            for (int ow = 0; ow < w_out; ++ow)
              g_compact_(Index{oh} * w_out + ow, f) =
                  g_[(f * h_out + oh) * z_stride_ + direct_->column(ow)];
        dcols_.noalias() = g_compact_ * wt.transpose();
      } else {
        dcols_.noalias() = Map<const MatrixXf>(g_.data(), positions, filters) * wt.transpose();
      }
      float* dx = din->col(b).data();
      std::fill_n(dx, input_size(), 0.0f);
      Col2ImAdd(geometry_, dcols_.data(), dx);
    }
  }
  if (weights && direct_) direct_->ReduceWeightGradient(lane_sums_.data(), grads);
  if (weights && implicit_) implicit_->AddWeightGradient(dweights_.data(), grads);
}

}  // namespace edgefl::nn
