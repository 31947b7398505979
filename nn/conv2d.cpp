#include "nn/conv2d.h"

#include <algorithm>

#include "nn/relu.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;
using Eigen::RowVectorXf;

Conv2d::Conv2d(ImageShape input, const Conv2dOptions& options) : input_(input), options_(options) {
  output_.channels = options.filters;
  output_.height = (input.height + 2 * options.padding - options.kernel) / options.stride + 1;
  output_.width = (input.width + 2 * options.padding - options.kernel) / options.stride + 1;
  cols_.resize(num_positions(), patch_size());
}

std::string Conv2d::Describe() const {
  return "conv2d " + std::to_string(input_.channels) + "x" + std::to_string(input_.height) + "x" +
         std::to_string(input_.width) + " k" + std::to_string(options_.kernel) + " s" +
         std::to_string(options_.stride) + " p" + std::to_string(options_.padding) + " -> " +
         std::to_string(output_.channels) + "x" + std::to_string(output_.height) + "x" +
         std::to_string(output_.width) + (options_.relu ? " +relu" : "");
}

void Conv2d::Initialize(Init init, Rng& rng, float* params) const {
  const Index k2 = Index{options_.kernel} * options_.kernel;
  const Index fan_in = patch_size();
  const Index fan_out = k2 * output_.channels;
  FillUniform(rng, InitBound(init, fan_in, fan_out), params, patch_size() * output_.channels);
  std::fill_n(params + patch_size() * output_.channels, output_.channels, 0.0f);
}

void Conv2d::Im2Col(const float* x, float* cols) const {
  const int k = options_.kernel, s = options_.stride, pad = options_.padding;
  const int h_in = input_.height, w_in = input_.width;
  const int h_out = output_.height, w_out = output_.width;
  const Index positions = num_positions();
  float* col = cols;
  for (int c = 0; c < input_.channels; ++c) {
    const float* plane = x + Index{c} * h_in * w_in;
    for (int ki = 0; ki < k; ++ki) {
      for (int kj = 0; kj < k; ++kj, col += positions) {
        // Output columns whose input column kj - pad + ow * s lies inside the image.
        int lo = 0, hi = w_out;
        if (s == 1) {
          lo = std::clamp(pad - kj, 0, w_out);
          hi = std::clamp(w_in + pad - kj, lo, w_out);
        }
        for (int oh = 0; oh < h_out; ++oh) {
          float* dst = col + Index{oh} * w_out;
          const int ih = oh * s - pad + ki;
          if (ih < 0 || ih >= h_in) {
            std::fill_n(dst, w_out, 0.0f);
            continue;
          }
          const float* src = plane + Index{ih} * w_in;
          if (s == 1) {
            // Plain loops: rows are short (LeNet: 28 and 10), so library
            // memcpy/memset calls would cost more than the copy.
            const float* shifted = src - pad + kj;
            for (int ow = 0; ow < lo; ++ow)
              dst[ow] = 0.0f;
            for (int ow = lo; ow < hi; ++ow)
              dst[ow] = shifted[ow];
            for (int ow = hi; ow < w_out; ++ow)
              dst[ow] = 0.0f;
          } else {
            for (int ow = 0; ow < w_out; ++ow) {
              const int iw = ow * s - pad + kj;
              dst[ow] = (iw >= 0 && iw < w_in) ? src[iw] : 0.0f;
            }
          }
        }
      }
    }
  }
}

void Conv2d::Col2ImAdd(const float* cols, float* dx) const {
  const int k = options_.kernel, s = options_.stride, pad = options_.padding;
  const int h_in = input_.height, w_in = input_.width;
  const int h_out = output_.height, w_out = output_.width;
  const Index positions = num_positions();
  const float* col = cols;
  for (int c = 0; c < input_.channels; ++c) {
    float* plane = dx + Index{c} * h_in * w_in;
    for (int ki = 0; ki < k; ++ki) {
      for (int kj = 0; kj < k; ++kj, col += positions) {
        int lo = 0, hi = w_out;
        if (s == 1) {
          lo = std::clamp(pad - kj, 0, w_out);
          hi = std::clamp(w_in + pad - kj, lo, w_out);
        }
        for (int oh = 0; oh < h_out; ++oh) {
          const int ih = oh * s - pad + ki;
          if (ih < 0 || ih >= h_in) continue;
          const float* src = col + Index{oh} * w_out;
          float* dst = plane + Index{ih} * w_in;
          if (s == 1) {
            float* shifted = dst - pad + kj;
            for (int ow = lo; ow < hi; ++ow)
              shifted[ow] += src[ow];
          } else {
            for (int ow = 0; ow < w_out; ++ow) {
              const int iw = ow * s - pad + kj;
              if (iw >= 0 && iw < w_in) dst[iw] += src[ow];
            }
          }
        }
      }
    }
  }
}

void Conv2d::Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) {
  const Index positions = num_positions(), filters = output_.channels;
  Map<const MatrixXf> wt(params, patch_size(), filters);
  Map<const RowVectorXf> bias(params + patch_size() * filters, filters);
  for (Index b = 0; b < in.cols(); ++b) {
    Im2Col(in.col(b).data(), cols_.data());
    Map<MatrixXf> out_b(out.col(b).data(), positions, filters);
    out_b.noalias() = cols_ * wt;
    if (options_.relu) {
      out_b = (out_b.rowwise() + bias).cwiseMax(0.0f);
    } else {
      out_b.rowwise() += bias;
    }
  }
}

void Conv2d::Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                      MatrixRef dout, float* grads, MatrixRef* din) {
  const Index positions = num_positions(), filters = output_.channels;
  Map<const MatrixXf> wt(params, patch_size(), filters);
  Map<MatrixXf> dwt(grads, patch_size(), filters);
  Map<RowVectorXf> dbias(grads + patch_size() * filters, filters);
  if (din != nullptr) dcols_.resize(positions, patch_size());
  for (Index b = 0; b < in.cols(); ++b) {
    Map<MatrixXf> dout_b(dout.col(b).data(), positions, filters);
    if (options_.relu) {
      Map<const MatrixXf> out_b(out.col(b).data(), positions, filters);
      dout_b = (out_b.array() > 0.0f).select(dout_b, 0.0f);
    }
    dbias += dout_b.colwise().sum();
    Im2Col(in.col(b).data(), cols_.data());
    dwt.noalias() += cols_.transpose() * dout_b;
    if (din != nullptr) {
      dcols_.noalias() = dout_b * wt.transpose();
      float* dx = din->col(b).data();
      std::fill_n(dx, input_size(), 0.0f);
      Col2ImAdd(dcols_.data(), dx);
    }
  }
}

}  // namespace edgefl::nn
