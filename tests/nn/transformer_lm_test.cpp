#include "nn/transformer_lm.h"

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "nn/causal_self_attention.h"
#include "nn/language_model.h"
#include "nn/layer_norm.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::MatrixXf;
using Eigen::VectorXf;
using testing::GradCheckResult;
using testing::RandomMatrix;
using testing::RandomWindows;

TEST_CASE("LayerNorm: hand example and gradients match finite differences") {
  LayerNorm norm(4);
  std::vector<float> params(8);
  norm.Initialize(params.data());
  MatrixXf x(4, 1);
  x << 1, 2, 3, 6;  // mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
  MatrixXf y(4, 1);
  norm.Forward(params.data(), x, y);
  const double s = std::sqrt(3.5 + 1e-5);
  CHECK(y(0, 0) == doctest::Approx(-2 / s));
  CHECK(y(3, 0) == doctest::Approx(3 / s));

  MatrixXf in = RandomMatrix(4, 3, 2);
  VectorXf p = RandomMatrix(8, 1, 3);
  const MatrixXf r = RandomMatrix(4, 3, 4);
  MatrixXf out(4, 3);
  auto loss = [&]() {
    norm.Forward(p.data(), in, out);
    return (r.cast<double>().array() * out.cast<double>().array()).sum();
  };
  loss();
  VectorXf grads = VectorXf::Zero(8);
  MatrixXf din(4, 3);
  norm.Backward(p.data(), r, grads.data(), din);
  GradCheckResult result;
  testing::CheckVector(loss, p.data(), p.size(), grads.data(), "param", &result);
  testing::CheckVector(loss, in.data(), in.size(), din.data(), "input", &result);
  testing::RequirePassed(result);
}

TEST_CASE("CausalSelfAttention: a step attends only to itself and earlier steps") {
  // d = 2, one head, T = 2, B = 1; keys zero: uniform weights over the
  // visible steps, so step 0 outputs v_0 and step 1 the mean of v_0, v_1.
  CausalSelfAttention attention(2, 1);
  MatrixXf qkv = MatrixXf::Zero(6, 2);
  qkv.block(4, 0, 2, 2) << 1, 3, 2, 6;   // v_0 = (1, 2), v_1 = (3, 6)
  qkv.block(0, 0, 2, 2).setConstant(5);  // queries do not matter with zero keys
  MatrixXf out;
  attention.Forward(qkv, 2, &out);
  CHECK(out(0, 0) == doctest::Approx(1));
  CHECK(out(1, 0) == doctest::Approx(2));
  CHECK(out(0, 1) == doctest::Approx(2));
  CHECK(out(1, 1) == doctest::Approx(4));
}

TEST_CASE("CausalSelfAttention: gradients match finite differences - two heads and two sequences") {
  const Eigen::Index d = 4, steps = 3, batch = 2;
  CausalSelfAttention attention(d, 2);
  MatrixXf qkv = RandomMatrix(3 * d, steps * batch, 5);
  const MatrixXf r = RandomMatrix(d, steps * batch, 6);
  MatrixXf out;
  auto loss = [&]() {
    attention.Forward(qkv, steps, &out);
    return (r.cast<double>().array() * out.cast<double>().array()).sum();
  };
  loss();
  MatrixXf dqkv;
  attention.Backward(qkv, r, &dqkv);
  GradCheckResult result;
  testing::CheckVector(loss, qkv.data(), qkv.size(), dqkv.data(), "qkv", &result);
  testing::RequirePassed(result);
}

TEST_CASE("lm spec: sizes - options - errors") {
  const ModelSpec spec = ParseModelSpec("lm:transformer-d128-h4-l2");
  CHECK(spec.kind == ModelKind::kTransformer);
  CHECK(spec.language_model.hidden == 128);
  CHECK(spec.language_model.heads == 4);
  CHECK(spec.language_model.layers == 2);
  CHECK(InputDim(spec) == 65);
  CHECK(NumClasses(spec) == 96);
  CHECK(InputDim(ParseModelSpec("lm:transformer-d8-h2-l1-t16-v40")) == 17);
  CHECK_THROWS_AS(ParseModelSpec("lm:transformer-d10-h4-l2"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("lm:transformer-d8-h2"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("lm:gpt-d8-h2-l1"), ConfigError);
  // d = 128, V = 96, T = 64: E, P, 2 blocks of 12 d² + 13 d, LN_f, head.
  const Model model("lm:transformer-d128-h4-l2");
  CHECK(model.num_parameters() ==
        128 * 96 + 128 * 64 + 2 * (12 * 128 * 128 + 13 * 128) + 2 * 128 + 96 * 128 + 96);
}

TEST_CASE("lm model: mean next-token loss gradients match finite differences") {
  Model model("lm:transformer-d8-h2-l2-t4-v7");
  REQUIRE(model.is_language_model());
  model.Initialize(1);
  // Larger than the 0.02 initialisation, so every term matters.
  model.parameters() = RandomMatrix(model.num_parameters(), 1, 2, 0.5f);
  testing::CheckSequenceLossGradient(model, RandomWindows(4, 3, 7, 3), 800);
}

TEST_CASE("lm model: a batch in several passes has the one-pass loss - gradient and evaluation") {
  // d 16, T 8: windows_per_pass() = 2^16 / 128 = 512, so 1,030 windows are
  // passes of 512, 512 and 6, weighted by their shares.
  Model model("lm:transformer-d16-h2-l1-t8-v11");
  TransformerLm lm(11, 8, 16, 2, 1);
  REQUIRE(lm.windows_per_pass() == 512);
  model.parameters() = RandomMatrix(model.num_parameters(), 1, 7, 0.5f);
  const MatrixXf windows = RandomWindows(8, 1030, 11, 8);
  const float loss = model.LossAndGradient(windows, {});

  const MatrixXf& logits = lm.Forward(model.parameters().data(), windows);
  MatrixXf dlogits;
  const double expected = SequenceCrossEntropy(logits, windows, &dlogits, nullptr, nullptr);
  VectorXf expected_gradient = VectorXf::Zero(lm.num_parameters());
  lm.Backward(model.parameters().data(), dlogits, expected_gradient.data());
  CHECK(loss == doctest::Approx(expected).epsilon(1e-5));
  CHECK((model.gradients() - expected_gradient).norm() <= 1e-4f * expected_gradient.norm());

  // The forward-only loss (evaluation) in the same passes.
  Eigen::VectorXd per_window, expected_per_window;
  int64_t correct = -1, expected_correct = -2;
  const double eval_loss = model.SequenceLoss(windows, &per_window, &correct);
  const double expected_eval =
      SequenceCrossEntropy(lm.Forward(model.parameters().data(), windows), windows, nullptr,
                           &expected_per_window, &expected_correct);
  CHECK(eval_loss == doctest::Approx(expected_eval).epsilon(1e-6));
  REQUIRE(per_window.size() == 1030);
  CHECK((per_window - expected_per_window).cwiseAbs().maxCoeff() <= 1e-5);
  CHECK(correct == expected_correct);
}

TEST_CASE("lm model: causal - changing a token changes no logits of earlier steps") {
  TransformerLm lm(6, 5, 8, 2, 2);  // V 6, T 5, d 8, 2 heads, 2 blocks
  VectorXf params = RandomMatrix(lm.num_parameters(), 1, 5, 0.5f);
  MatrixXf windows = RandomWindows(5, 2, 6, 6);
  const MatrixXf before = lm.Forward(params.data(), windows);  // 6 x (5 steps x 2)
  windows(3, 1) = static_cast<float>((static_cast<int>(windows(3, 1)) + 1) % 6);
  const MatrixXf after = lm.Forward(params.data(), windows);
  // Steps 0..2 (columns t * 2 + b) of both windows, and all of window 0, unchanged.
  CHECK(after.leftCols(6) == before.leftCols(6));
  for (int t = 3; t < 5; ++t)
    CHECK(after.col(t * 2) == before.col(t * 2));
  CHECK((after.col(3 * 2 + 1) - before.col(3 * 2 + 1)).norm() > 1e-4f);
}

}  // namespace
}  // namespace edgefl::nn
