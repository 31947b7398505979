// Patch unrolling for convolution as a GEMM (im2col) and its adjoint.
//
// For one sample x (C x H x W, channel-major) the unrolled matrix `cols` is
// P x (C*k*k), column-major (P = Ho * Wo output positions): column
// (c*k + ki)*k + kj holds, for every output position (oh, ow) in row-major
// order, x[c][oh*s - p + ki][ow*s - p + kj] (0 outside the image). Then the
// sample's output, viewed as the P x F matrix it is in channel-major layout,
// is cols * Wt with Wt the (C*k*k) x F weight matrix.
#pragma once

#include "nn/conv_geometry.h"

namespace edgefl::nn {

// Unrolls sample x into cols (P x C*k*k, column-major).
void Im2Col(const ConvGeometry& g, const float* x, float* cols);

// dx += the patches of cols folded back onto the image (the adjoint of Im2Col).
void Col2ImAdd(const ConvGeometry& g, const float* cols, float* dx);

}  // namespace edgefl::nn
