#include <memory>

#include <doctest/doctest.h>

#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/max_pool2d.h"
#include "nn/relu.h"
#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::MatrixXf;
using Eigen::VectorXf;
using testing::GradCheckResult;
using testing::RandomMatrix;

// Gradient check of a layer under loss = sum(R .* out), so dout = R.
void CheckLayer(Layer& layer, Eigen::Index batch, uint64_t seed, float h = 1e-2f) {
  VectorXf params(layer.num_parameters());
  if (params.size() > 0) {
    Rng rng(seed);
    layer.Initialize(Init::kKaimingUniform, rng, params.data());
    // Non-zero biases so they matter.
    params.tail(params.size() / 8 + 1) = RandomMatrix(params.size() / 8 + 1, 1, seed + 1, 0.2f);
  }
  MatrixXf in = RandomMatrix(layer.input_size(), batch, seed + 2);
  const MatrixXf r = RandomMatrix(layer.output_size(), batch, seed + 3);
  MatrixXf out(layer.output_size(), batch);

  auto loss = [&]() {
    layer.Forward(params.data(), in, out);
    return (r.cast<double>().array() * out.cast<double>().array()).sum();
  };
  loss();
  MatrixXf dout = r;
  VectorXf grads = VectorXf::Zero(params.size());
  MatrixXf din(layer.input_size(), batch);
  MatrixRef din_ref = din;
  layer.Backward(params.data(), in, out, dout, grads.data(), &din_ref);

  GradCheckResult result;
  testing::CheckVector(loss, params.data(), params.size(), grads.data(), "param", &result,
                       {.h = h});
  testing::CheckVector(loss, in.data(), in.size(), din.data(), "input", &result, {.h = h});
  testing::RequirePassed(result);

  // Backward ADDS parameter gradients and does not need din.
  if (params.size() > 0) {
    loss();
    dout = r;
    VectorXf twice = grads;
    layer.Backward(params.data(), in, out, dout, twice.data(), nullptr);
    CHECK((twice - 2 * grads).norm() <= 1e-5f * grads.norm());
  }
}

TEST_CASE("Dense: gradients match finite differences - with and without fused ReLU") {
  Dense linear(7, 5, /*relu=*/false);
  CheckLayer(linear, 3, 10);
  Dense with_relu(7, 5, /*relu=*/true);
  CheckLayer(with_relu, 4, 20);
}

TEST_CASE("Dense: forward is W x + b") {
  Dense layer(2, 2, false);
  VectorXf params(6);
  params << 1, 2, 3, 4, 0.5f, -1;  // W = [[1, 3], [2, 4]] column-major, b = [0.5, -1]
  MatrixXf x(2, 1);
  x << 1, 1;
  MatrixXf out(2, 1);
  layer.Forward(params.data(), x, out);
  CHECK(out(0, 0) == doctest::Approx(4.5));
  CHECK(out(1, 0) == doctest::Approx(5.0));
}

TEST_CASE("Relu: gradient away from the kink and zero below it") {
  Relu relu(12);
  MatrixXf in = RandomMatrix(12, 3, 5);
  in = in.unaryExpr([](float v) { return v >= 0 ? v + 0.1f : v - 0.1f; });
  MatrixXf out(12, 3);
  relu.Forward(nullptr, in, out);
  CHECK(out.minCoeff() == 0.0f);
  CHECK((out.array() == in.array().max(0.0f)).all());
  MatrixXf dout = MatrixXf::Ones(12, 3), din(12, 3);
  MatrixRef din_ref = din;
  relu.Backward(nullptr, in, out, dout, nullptr, &din_ref);
  CHECK((din.array() == (in.array() > 0).cast<float>()).all());
}

TEST_CASE("Conv2d: gradients match finite differences (padding - no padding - stride 2)") {
  SUBCASE("padding 2, like LeNet's first layer") {
    Conv2d conv({2, 6, 6}, {.filters = 3, .kernel = 5, .stride = 1, .padding = 2, .relu = false});
    CHECK(conv.output_shape().height == 6);
    CheckLayer(conv, 2, 30);
  }
  SUBCASE("no padding, fused ReLU") {
    Conv2d conv({3, 7, 6}, {.filters = 4, .kernel = 3, .stride = 1, .padding = 0, .relu = true});
    CHECK(conv.output_shape().height == 5);
    CHECK(conv.output_shape().width == 4);
    CheckLayer(conv, 2, 40);
  }
  SUBCASE("stride 2, padding 1") {
    Conv2d conv({2, 7, 7}, {.filters = 2, .kernel = 3, .stride = 2, .padding = 1, .relu = false});
    CHECK(conv.output_shape().height == 4);
    CheckLayer(conv, 3, 50);
  }
}

TEST_CASE("Conv2d: direct kernel (one input channel) - gradients match finite differences") {
  SUBCASE("padding 2, like LeNet's first layer, rows wider than one vector") {
    Conv2d conv({1, 9, 21}, {.filters = 6, .kernel = 5, .stride = 1, .padding = 2, .relu = false});
    CHECK(conv.output_shape().width == 21);
    CheckLayer(conv, 2, 32);
  }
  SUBCASE("kernel 3, fused ReLU, five filters") {
    // A small step: with ReLU, larger ones cross kinks too often.
    Conv2d conv({1, 6, 7}, {.filters = 5, .kernel = 3, .stride = 1, .padding = 1, .relu = true});
    CheckLayer(conv, 3, 34, 1e-3f);
  }
}

TEST_CASE("Conv2d: fused ReLU and max-pool - gradients match finite differences") {
  SUBCASE("direct kernel, like LeNet's first layer") {
    // A small image: with many windows some maximum is within any step of a
    // switch, a kink both steps straddle.
    Conv2d conv({1, 4, 18},
                {.filters = 6, .kernel = 5, .stride = 1, .padding = 2, .relu = true, .pool = 2});
    CHECK(conv.output_shape().height == 2);
    CHECK(conv.output_size() == 6 * 2 * 9);
    CheckLayer(conv, 2, 36, 1e-3f);
  }
  SUBCASE("im2col kernel, odd size (floor mode)") {
    Conv2d conv({3, 7, 8},
                {.filters = 4, .kernel = 3, .stride = 1, .padding = 0, .relu = true, .pool = 2});
    CHECK(conv.output_shape().height == 2);
    CHECK(conv.output_shape().width == 3);
    CheckLayer(conv, 2, 38);
  }
}

// The fused layer against Conv2d (with ReLU) followed by MaxPool2d.
void CheckFusedPool(ImageShape shape, Conv2dOptions options, Eigen::Index batch, uint64_t seed) {
  Conv2dOptions unpooled = options;
  unpooled.pool = 1;
  Conv2d fused(shape, options), conv(shape, unpooled);
  MaxPool2d pool(conv.output_shape(), options.pool);
  REQUIRE(fused.output_size() == pool.output_size());
  VectorXf params = RandomMatrix(fused.num_parameters(), 1, seed);
  const MatrixXf in = RandomMatrix(shape.size(), batch, seed + 1);
  MatrixXf mid(conv.output_size(), batch), out(pool.output_size(), batch),
      fused_out(fused.output_size(), batch);
  conv.Forward(params.data(), in, mid);
  pool.Forward(nullptr, mid, out);
  fused.Forward(params.data(), in, fused_out);
  CHECK((fused_out - out).cwiseAbs().maxCoeff() <= 1e-5f);

  const MatrixXf r = RandomMatrix(pool.output_size(), batch, seed + 2);
  MatrixXf dout = r, dmid(conv.output_size(), batch), din(shape.size(), batch),
           fused_din(shape.size(), batch);
  VectorXf grads = VectorXf::Zero(params.size()), fused_grads = VectorXf::Zero(params.size());
  MatrixRef dmid_ref = dmid, din_ref = din, fused_din_ref = fused_din;
  pool.Backward(nullptr, mid, out, dout, nullptr, &dmid_ref);
  conv.Backward(params.data(), in, mid, dmid, grads.data(), &din_ref);
  dout = r;
  fused.Backward(params.data(), in, fused_out, dout, fused_grads.data(), &fused_din_ref);
  CHECK((fused_grads - grads).cwiseAbs().maxCoeff() <=
        1e-4f * (1.0f + grads.cwiseAbs().maxCoeff()));
  CHECK((fused_din - din).cwiseAbs().maxCoeff() <= 1e-4f * (1.0f + din.cwiseAbs().maxCoeff()));
}

TEST_CASE("Conv2d: fused max-pool equals Conv2d then MaxPool2d - both kernels") {
  CheckFusedPool({1, 28, 28},
                 {.filters = 6, .kernel = 5, .stride = 1, .padding = 2, .relu = true, .pool = 2}, 3,
                 90);
  CheckFusedPool({6, 14, 14},
                 {.filters = 16, .kernel = 5, .stride = 1, .padding = 0, .relu = true, .pool = 2},
                 3, 91);
  CheckFusedPool({2, 9, 7},
                 {.filters = 3, .kernel = 3, .stride = 2, .padding = 1, .relu = false, .pool = 2},
                 2, 92);
}

TEST_CASE("Conv2d: direct kernel split columns - odd widths and paddings and wide rows") {
  // Output width 19 (an unpooled last column), odd padding, rows past one
  // vector of even columns, a kernel wider than its padding on both sides.
  CheckFusedPool({1, 7, 21},
                 {.filters = 5, .kernel = 3, .stride = 1, .padding = 0, .relu = true, .pool = 2}, 2,
                 93);
  CheckFusedPool({1, 6, 40},
                 {.filters = 7, .kernel = 4, .stride = 1, .padding = 1, .relu = false, .pool = 2},
                 2, 94);
  CheckFusedPool({1, 5, 35},
                 {.filters = 2, .kernel = 5, .stride = 1, .padding = 3, .relu = true, .pool = 2}, 3,
                 95);
  Conv2d conv({1, 5, 11},
              {.filters = 3, .kernel = 3, .stride = 1, .padding = 1, .relu = false, .pool = 2});
  CheckLayer(conv, 2, 96, 1e-3f);
}

// Forward of `conv` (no ReLU, no pool) against plain loops.
void CheckAgainstLoops(ImageShape shape, const Conv2dOptions& options, uint64_t seed) {
  Conv2d conv(shape, options);
  const ImageShape out_shape = conv.output_shape();
  const int k = options.kernel;
  VectorXf params = RandomMatrix(conv.num_parameters(), 1, seed);
  MatrixXf in = RandomMatrix(shape.size(), 2, seed + 1);
  MatrixXf out(conv.output_size(), 2);
  conv.Forward(params.data(), in, out);
  auto x = [&](int b, int c, int i, int j) -> float {
    if (i < 0 || j < 0 || i >= shape.height || j >= shape.width) return 0.0f;
    return in((c * shape.height + i) * shape.width + j, b);
  };
  const int weights = options.filters * shape.channels * k * k;
  for (int b = 0; b < 2; ++b) {
    for (int f = 0; f < options.filters; ++f) {
      for (int i = 0; i < out_shape.height; ++i) {
        for (int j = 0; j < out_shape.width; ++j) {
          double sum = params[weights + f];
          for (int c = 0; c < shape.channels; ++c) {
            for (int ki = 0; ki < k; ++ki) {
              for (int kj = 0; kj < k; ++kj) {
                sum += params[((f * shape.channels + c) * k + ki) * k + kj] *
                       x(b, c, i * options.stride - options.padding + ki,
                         j * options.stride - options.padding + kj);
              }
            }
          }
          CHECK(out((f * out_shape.height + i) * out_shape.width + j, b) ==
                doctest::Approx(sum).epsilon(1e-5));
        }
      }
    }
  }
}

TEST_CASE("Conv2d: each kernel matches a direct-loop convolution") {
  SUBCASE("im2col + GEMM") {
    CheckAgainstLoops({2, 5, 4}, {.filters = 3, .kernel = 3, .stride = 1, .padding = 1}, 60);
    CheckAgainstLoops({2, 7, 6}, {.filters = 9, .kernel = 3, .stride = 2, .padding = 1}, 62);
  }
  SUBCASE("direct (one input channel)") {
    CheckAgainstLoops({1, 28, 28}, {.filters = 6, .kernel = 5, .stride = 1, .padding = 2}, 64);
    CheckAgainstLoops({1, 5, 19}, {.filters = 5, .kernel = 3, .stride = 1, .padding = 0}, 66);
  }
  SUBCASE("implicit GEMM (many filters)") {
    CheckAgainstLoops({6, 14, 14}, {.filters = 16, .kernel = 5, .stride = 1, .padding = 0}, 68);
    CheckAgainstLoops({3, 6, 11}, {.filters = 20, .kernel = 3, .stride = 1, .padding = 1}, 70);
  }
}

TEST_CASE("Conv2d: implicit GEMM kernel gradients match finite differences") {
  Conv2d conv({3, 6, 11}, {.filters = 20, .kernel = 3, .stride = 1, .padding = 1, .relu = false});
  CheckLayer(conv, 2, 72);
  Conv2d pooled({2, 8, 6},
                {.filters = 8, .kernel = 3, .stride = 1, .padding = 0, .relu = true, .pool = 2});
  CheckLayer(pooled, 2, 74, 1e-3f);
}

TEST_CASE("MaxPool2d: forward picks window maxima - gradients match finite differences") {
  MaxPool2d pool({2, 4, 6}, 2);
  CHECK(pool.output_size() == 2 * 2 * 3);
  MatrixXf in(48, 1);
  for (int i = 0; i < 48; ++i)
    in(i, 0) = static_cast<float>((i * 37) % 48);
  MatrixXf out(12, 1);
  pool.Forward(nullptr, in, out);
  // Channel 0, window rows 0-1, cols 0-1: inputs 0, 1, 6, 7.
  const float expected = std::max({in(0, 0), in(1, 0), in(6, 0), in(7, 0)});
  CHECK(out(0, 0) == expected);
  CheckLayer(pool, 3, 70);
  MaxPool2d odd({1, 5, 5}, 2);  // floor mode drops the last row and column
  CHECK(odd.output_size() == 4);
  CheckLayer(odd, 2, 80);
}

}  // namespace
}  // namespace edgefl::nn
