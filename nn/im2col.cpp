#include "nn/im2col.h"

#include <algorithm>

namespace edgefl::nn {

using Eigen::Index;

void Im2Col(const ConvGeometry& g, const float* x, float* cols) {
  const int k = g.kernel, s = g.stride, pad = g.padding;
  const int h_in = g.input.height, w_in = g.input.width;
  const int h_out = g.output.height, w_out = g.output.width;
  const Index positions = g.positions();
  float* col = cols;
  for (int c = 0; c < g.input.channels; ++c) {
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

void Col2ImAdd(const ConvGeometry& g, const float* cols, float* dx) {
  const int k = g.kernel, s = g.stride, pad = g.padding;
  const int h_in = g.input.height, w_in = g.input.width;
  const int h_out = g.output.height, w_out = g.output.width;
  const Index positions = g.positions();
  const float* col = cols;
  for (int c = 0; c < g.input.channels; ++c) {
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

}  // namespace edgefl::nn
