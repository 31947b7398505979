#include "nn/input_gradient_conv.h"

#include <doctest/doctest.h>

#include "nn/conv2d.h"
#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::MatrixXf;
using Eigen::VectorXf;
using testing::RandomMatrix;

// dL/dx of sample column b of g (F x Ho x Wo) by the definition, in double.
double ReferenceInputGradient(const ConvGeometry& geometry, const float* weights, const MatrixXf& g,
                              Eigen::Index b, int c, int ih, int iw) {
  const int k = geometry.kernel, p = geometry.padding;
  const int h_out = geometry.output.height, w_out = geometry.output.width;
  double sum = 0.0;
  for (int f = 0; f < geometry.filters; ++f) {
    for (int ki = 0; ki < k; ++ki) {
      for (int kj = 0; kj < k; ++kj) {
        const int oh = ih + p - ki, ow = iw + p - kj;
        if (oh < 0 || ow < 0 || oh >= h_out || ow >= w_out) continue;
        sum += static_cast<double>(weights[((f * geometry.input.channels + c) * k + ki) * k + kj]) *
               g((f * h_out + oh) * w_out + ow, b);
      }
    }
  }
  return sum;
}

void CheckAgainstDefinition(const ConvGeometry& geometry, const MatrixXf& g, const VectorXf& w,
                            const MatrixXf& dx) {
  const ImageShape& in = geometry.input;
  for (Eigen::Index b = 0; b < g.cols(); ++b) {
    for (int c = 0; c < in.channels; ++c) {
      for (int ih = 0; ih < in.height; ++ih) {
        for (int iw = 0; iw < in.width; ++iw) {
          const double expected = ReferenceInputGradient(geometry, w.data(), g, b, c, ih, iw);
          CHECK(dx((c * in.height + ih) * in.width + iw, b) ==
                doctest::Approx(expected).epsilon(1e-5).scale(1.0));
        }
      }
    }
  }
}

TEST_CASE("InputGradientConv: a block of samples equals dL/dx by the definition") {
  constexpr int kSamples = InputGradientConv::kSamples;
  // LeNet's second layer; padding up to k - 1; 7 channels (a block of 6 and
  // one more); odd sizes; one sample, a full block and a partial one.
  const ConvGeometry shapes[] = {
      ConvGeometry::Make({6, 14, 14}, 16, 5, 1, 0), ConvGeometry::Make({3, 6, 11}, 20, 3, 1, 1),
      ConvGeometry::Make({7, 5, 9}, 4, 3, 1, 2), ConvGeometry::Make({2, 8, 3}, 3, 4, 1, 1)};
  uint64_t seed = 10;
  for (const ConvGeometry& geometry : shapes) {
    for (int samples : {1, kSamples, kSamples / 2 + 1}) {
      CAPTURE(geometry.input.channels);
      CAPTURE(samples);
      const VectorXf w = RandomMatrix(geometry.patch_size() * geometry.filters, 1, ++seed);
      const MatrixXf g = RandomMatrix(geometry.output.size(), samples, ++seed);
      InputGradientConv kernel(geometry);
      kernel.LoadWeights(w.data());
      kernel.Clear();
      for (int s = 0; s < samples; ++s)
        kernel.SetSample(s, g.col(s).data());
      MatrixXf dx = MatrixXf::Constant(geometry.input.size(), samples, -7.0f);
      kernel.Compute(samples, dx.data(), dx.rows());
      CheckAgainstDefinition(geometry, g, w, dx);

      // Set, value by value, into a block cleared after other gradients.
      kernel.SetSample(0, RandomMatrix(geometry.output.size(), 1, ++seed).data());
      kernel.Clear();
      for (int s = 0; s < samples; ++s)
        for (int f = 0; f < geometry.filters; ++f)
          for (Eigen::Index q = 0; q < geometry.positions(); ++q)
            kernel.Set(s, f, q, g(f * geometry.positions() + q, s));
      MatrixXf again(geometry.input.size(), samples);
      kernel.Compute(samples, again.data(), again.rows());
      CHECK(again == dx);
    }
  }
}

TEST_CASE("Conv2d: dL/dx over several blocks of samples equals the definition") {
  // Conv2d (implicit kernel, no ReLU, no pool: g = dL/dout) over a batch of
  // two full blocks and a partial one.
  const int batch = 2 * InputGradientConv::kSamples + 3;
  const Conv2dOptions options{.filters = 16, .kernel = 5, .stride = 1, .padding = 1};
  Conv2d conv({6, 9, 10}, options);
  const ConvGeometry geometry = ConvGeometry::Make({6, 9, 10}, 16, 5, 1, 1);
  const VectorXf params = RandomMatrix(conv.num_parameters(), 1, 3);
  const MatrixXf in = RandomMatrix(conv.input_size(), batch, 4);
  MatrixXf out(conv.output_size(), batch);
  conv.Forward(params.data(), in, out);
  const MatrixXf g = RandomMatrix(conv.output_size(), batch, 5);
  MatrixXf dout = g, din(conv.input_size(), batch);
  VectorXf grads = VectorXf::Zero(params.size());
  MatrixRef din_ref = din;
  conv.Backward(params.data(), in, out, dout, grads.data(), &din_ref);
  CheckAgainstDefinition(geometry, g, params, din);
}

}  // namespace
}  // namespace edgefl::nn
