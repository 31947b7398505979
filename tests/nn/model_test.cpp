#include "nn/model.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "nn/softmax_cross_entropy.h"
#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::MatrixXf;
using Eigen::VectorXf;
using testing::RandomMatrix;

TEST_CASE("ParseModelSpec: valid specs") {
  ModelSpec mlp = ParseModelSpec("mlp:784-200-200-10");
  CHECK(mlp.kind == ModelKind::kMlp);
  CHECK(mlp.widths == std::vector<int>{784, 200, 200, 10});
  CHECK(ParseModelSpec("logreg:60-10").kind == ModelKind::kLogReg);
  CHECK(ParseModelSpec("cnn:lenet").kind == ModelKind::kLeNet);
  CHECK(ParseModelSpec("cnn:lenet5").kind == ModelKind::kLeNet);
}

TEST_CASE("ParseModelSpec: malformed specs name the spec and the problem") {
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c :
       {Case{"mlp:784-", "empty layer width"}, Case{"mlp:", "no layer widths"},
        Case{"foo:1-2", "unknown model kind \"foo\""}, Case{"mlp:784-0-10", "layer width 0"},
        Case{"cnn:resnet", "unknown cnn"}, Case{"mlp784", "expected <kind>:<arguments>"},
        Case{"mlp:784-x-10", "not a number"}, Case{"mlp:784", "at least"},
        Case{"logreg:60-20-10", "exactly two"}, Case{"mlp:-5-10", "empty"},
        Case{"mlp:99999999999-10", "must be in"}}) {
    INFO(c.spec);
    std::string quoted(1, '"');
    quoted.append(c.spec).push_back('"');
    CHECK_THROWS_WITH_AS(ParseModelSpec(c.spec), doctest::Contains(quoted.c_str()), ConfigError);
    CHECK_THROWS_WITH_AS(Model(c.spec), doctest::Contains(c.message), ConfigError);
  }
}

TEST_CASE("Model: shapes and parameter counts") {
  Model mlp("mlp:784-200-200-10");
  CHECK(mlp.input_dim() == 784);
  CHECK(mlp.num_classes() == 10);
  CHECK(mlp.num_parameters() == 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
  CHECK(mlp.gradients().size() == mlp.num_parameters());
  Model logreg("logreg:60-10");
  CHECK(logreg.num_parameters() == 610);
  CHECK(logreg.num_layers() == 1);
  Model lenet("cnn:lenet");
  CHECK(lenet.input_dim() == 784);
  CHECK(lenet.num_classes() == 10);
  CHECK(lenet.num_parameters() == 61706);  // as PyTorch's LeNet-5 with padding 2
  CHECK(lenet.num_layers() == 5);          // conv+pool, conv+pool, fc, fc, fc
  CHECK(lenet.layer(1).output_size() == 400);
}

TEST_CASE("Model::Initialize: deterministic per seed - Kaiming and Xavier bounds - zero biases") {
  Model a("mlp:784-200-200-10"), b("mlp:784-200-200-10");
  a.Initialize(7);
  b.Initialize(7);
  CHECK(a.parameters() == b.parameters());
  b.Initialize(8);
  CHECK((a.parameters() - b.parameters()).cwiseAbs().maxCoeff() > 0.01f);

  const float kaiming = std::sqrt(6.0f / 784.0f);
  const auto w1 = a.parameters().head(784 * 200);
  CHECK(w1.cwiseAbs().maxCoeff() <= kaiming);
  CHECK(w1.cwiseAbs().maxCoeff() > 0.95f * kaiming);
  const double variance = w1.squaredNorm() / static_cast<double>(w1.size());
  CHECK(variance == doctest::Approx(kaiming * kaiming / 3.0).epsilon(0.03));
  CHECK(a.parameters().segment(784 * 200, 200).isZero());
  const float xavier = std::sqrt(6.0f / 210.0f);
  const auto w3 = a.parameters().segment(a.parameter_offset(2), 2000);
  CHECK(w3.cwiseAbs().maxCoeff() <= xavier);
  CHECK(w3.cwiseAbs().maxCoeff() > 0.9f * xavier);
  CHECK(a.parameters().tail(10).isZero());

  Model c("cnn:lenet"), d("cnn:lenet");
  c.Initialize(1);
  d.Initialize(1);
  CHECK(c.parameters() == d.parameters());
}

TEST_CASE("Model: wrong input size - bad parameters and resized vectors are ConfigErrors") {
  Model mlp("mlp:784-200-200-10");
  MatrixXf x = MatrixXf::Zero(60, 2);
  CHECK_THROWS_WITH_AS(mlp.Forward(x), "model mlp:784-200-200-10 expects 784 features, got 60",
                       ConfigError);
  CHECK_THROWS_AS(mlp.LossAndGradient(x, std::vector<int32_t>{0, 1}), ConfigError);

  Model logreg("logreg:3-2");
  logreg.Initialize(1);
  const VectorXf before = logreg.parameters();
  std::vector<float> values(8, 0.5f);
  values[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(logreg.SetParameters(values), "parameters contain NaN at index 5",
                       ConfigError);
  values[5] = -std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(logreg.SetParameters(values), "parameters contain Inf at index 5",
                       ConfigError);
  CHECK_THROWS_WITH_AS(logreg.SetParameters(std::vector<float>(7)),
                       doctest::Contains("has 8 parameters, got 7"), ConfigError);
  CHECK(logreg.parameters() == before);
  values[5] = 1.0f;
  logreg.SetParameters(values);
  CHECK(logreg.parameters()[5] == 1.0f);

  logreg.parameters().resize(3);
  CHECK_THROWS_WITH_AS(logreg.Forward(MatrixXf::Zero(3, 1)), doctest::Contains("resized"),
                       ConfigError);
}

// Whole-model check: gradients of the mean cross-entropy, and dL/dinput.
void CheckModel(const std::string& spec, Eigen::Index batch, float input_scale,
                Eigen::Index max_checks) {
  INFO(spec);
  Model model(spec);
  model.Initialize(3);
  // Small non-zero biases so every parameter is exercised.
  Rng rng(4);
  for (Eigen::Index i = 0; i < model.num_parameters(); ++i) {
    if (model.parameters()[i] == 0.0f) {
      model.parameters()[i] = static_cast<float>(0.05 * (2 * rng.Uniform() - 1));
    }
  }
  MatrixXf x = RandomMatrix(model.input_dim(), batch, 5, input_scale);
  std::vector<int32_t> labels;
  for (Eigen::Index b = 0; b < batch; ++b) {
    labels.push_back(static_cast<int32_t>(b % model.num_classes()));
  }
  const float loss = model.LossAndGradient(x, labels);
  CHECK(std::isfinite(loss));
  const VectorXf grads = model.gradients();
  MatrixXf dlogits, dinput;
  SoftmaxCrossEntropy(model.Forward(x), labels, &dlogits);
  model.ZeroGradients();
  model.Backward(x, dlogits, {.dinput = &dinput});
  CHECK(model.gradients() == grads);

  auto loss_fn = [&] { return double{SoftmaxCrossEntropy(model.Forward(x), labels, nullptr)}; };
  testing::GradCheckResult result;
  // h = 1e-3 so few ReLU/max-pool kinks are crossed; the absolute slack
  // covers the float32 rounding of the loss (~1e-7 / 2h).
  const testing::GradCheckOptions options{.h = 1e-3f, .atol = 3e-4, .max_checks = max_checks};
  testing::CheckVector(loss_fn, model.parameters().data(), model.num_parameters(), grads.data(),
                       "param", &result, options);
  testing::CheckVector(loss_fn, x.data(), x.size(), dinput.data(), "input", &result, options);
  testing::RequirePassed(result);
}

TEST_CASE("Model: whole-model gradients match finite differences") {
  CheckModel("logreg:6-3", 4, 1.0f, 1000);
  CheckModel("mlp:12-8-7-4", 5, 1.0f, 1000);
}

TEST_CASE(
    "Model: an input-only backward gives the full backward's dL/dinput and leaves the gradients") {
  for (const char* spec : {"mlp:784-20-10", "cnn:lenet", "cnn:lenet+proj"}) {
    CAPTURE(spec);
    Model model(spec);
    model.Initialize(3);
    const MatrixXf x = RandomMatrix(784, 5, 6);
    const std::vector<int32_t> labels = {1, 7, 3, 0, 9};
    MatrixXf dlogits, full, input_only;
    SoftmaxCrossEntropy(model.Forward(x), labels, &dlogits);
    model.ZeroGradients();
    model.Backward(x, dlogits, {.dinput = &full});
    CHECK(model.gradients().squaredNorm() > 0.0f);
    model.gradients().setConstant(7.0f);
    SoftmaxCrossEntropy(model.Forward(x), labels, &dlogits);
    model.Backward(
        x, dlogits,
        {.dinput = &input_only, .overwrite_gradients = true, .parameter_gradients = false});
    REQUIRE(input_only.rows() == 784);
    REQUIRE(input_only.cols() == 5);
    CHECK(input_only == full);  // bit for bit
    CHECK((model.gradients().array() == 7.0f).all());
  }
  Model lm("rnn:gru-8-e4-t4-v8");
  lm.Initialize(1);
  const MatrixXf windows = MatrixXf::Constant(5, 2, 1.0f);
  MatrixXf dlogits;
  SoftmaxCrossEntropy(lm.Forward(windows), std::vector<int32_t>{1, 1}, &dlogits);
  CHECK_THROWS_WITH_AS(lm.Backward(windows, dlogits, {.parameter_gradients = false}),
                       doctest::Contains("no dinput, dfeatures or input-only backward"),
                       ConfigError);
}

TEST_CASE("Model: lenet gradients match finite differences - per layer and for the input") {
  Model model("cnn:lenet");
  model.Initialize(3);
  Rng rng(4);
  for (Eigen::Index i = 0; i < model.num_parameters(); ++i) {
    if (model.parameters()[i] == 0.0f) {
      model.parameters()[i] = static_cast<float>(0.05 * (2 * rng.Uniform() - 1));
    }
  }
  MatrixXf x = RandomMatrix(784, 3, 5);
  const std::vector<int32_t> labels = {1, 7, 3};
  MatrixXf dlogits, dinput;
  SoftmaxCrossEntropy(model.Forward(x), labels, &dlogits);
  model.ZeroGradients();
  model.Backward(x, dlogits, {.dinput = &dinput});
  const VectorXf grads = model.gradients();
  auto loss_fn = [&] {
    const auto logits = model.Forward(x);
    double total = 0.0;  // the mean cross-entropy in double precision
    for (int b = 0; b < 3; ++b) {
      const double max = logits.col(b).maxCoeff();
      double sum = 0.0;
      for (int k = 0; k < 10; ++k)
        sum += std::exp(logits(k, b) - max);
      total += std::log(sum) + max - logits(labels[b], b);
    }
    return total / 3.0;
  };
  testing::GradCheckResult result;
  const testing::GradCheckOptions options{.h = 1e-3f};
  for (size_t i = 0; i < model.num_layers(); ++i) {
    const Eigen::Index n = model.layer(i).num_parameters();
    if (n == 0) continue;
    const Eigen::Index offset = model.parameter_offset(i);
    testing::CheckDirections(loss_fn, model.parameters().data() + offset, n, grads.data() + offset,
                             model.layer(i).Describe(), &result, options);
  }
  testing::CheckDirections(loss_fn, x.data(), x.size(), dinput.data(), "input", &result, options);
  testing::RequirePassed(result);
  // And a few single coordinates of the first convolution (large gradients).
  testing::GradCheckResult coordinates;
  testing::CheckVector(loss_fn, model.parameters().data(), 150, grads.data(), "conv1", &coordinates,
                       {.h = 1e-3f, .max_checks = 40});
  testing::RequirePassed(coordinates);
}

TEST_CASE("Model::Backward: accumulates - dfeatures enters at the last layer's input") {
  Model model("mlp:5-6-3");
  model.Initialize(11);
  MatrixXf x = RandomMatrix(5, 4, 12);
  const std::vector<int32_t> labels = {0, 1, 2, 0};
  model.LossAndGradient(x, labels);
  const VectorXf once = model.gradients();
  MatrixXf dlogits;
  SoftmaxCrossEntropy(model.Forward(x), labels, &dlogits);
  model.Backward(x, dlogits);
  CHECK(model.gradients().isApprox(2 * once));

  // Extra loss 0.5 * |features|^2 has dL/dfeatures = features.
  model.Forward(x);
  const MatrixXf features = model.features();
  CHECK(features.rows() == 6);
  MatrixXf zero = MatrixXf::Zero(3, 4);
  model.ZeroGradients();
  model.Backward(x, zero, {.dfeatures = &features});
  const VectorXf analytic = model.gradients();
  auto loss_fn = [&] {
    model.Forward(x);
    return 0.5 * model.features().cast<double>().squaredNorm();
  };
  testing::GradCheckResult result;
  testing::CheckVector(loss_fn, model.parameters().data(), model.num_parameters(), analytic.data(),
                       "param", &result);
  testing::RequirePassed(result);
  CHECK(analytic.tail(3 * 6 + 3).isZero());  // the last layer is not involved

  MatrixXf wrong = MatrixXf::Zero(5, 4);
  CHECK_THROWS_AS(model.Backward(x, wrong), ConfigError);
}

TEST_CASE("Model::Backward: overwrite_gradients equals ZeroGradients then Backward") {
  // Dense layers (wide enough for the AVX-512 product kernel, 200 rows) set
  // their slices directly; convolutions zero theirs first. Stale gradients
  // (NaN) must not leak into the result.
  for (const char* spec : {"mlp:60-200-40-10", "cnn:lenet"}) {
    CAPTURE(spec);
    Model model(spec);
    model.Initialize(31);
    const MatrixXf x = RandomMatrix(model.input_dim(), 9, 32);
    const std::vector<int32_t> labels = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    MatrixXf dlogits;
    SoftmaxCrossEntropy(model.Forward(x), labels, &dlogits);
    model.ZeroGradients();
    model.Backward(x, dlogits);
    const VectorXf accumulated = model.gradients();

    model.gradients().setConstant(std::numeric_limits<float>::quiet_NaN());
    model.Backward(x, dlogits, {.overwrite_gradients = true});
    CHECK(model.gradients() == accumulated);

    model.gradients().setConstant(std::numeric_limits<float>::quiet_NaN());
    model.LossAndGradient(x, labels);
    CHECK(model.gradients() == accumulated);
  }
}

TEST_CASE("Model::HessianVectorProduct: matches logistic regression's analytic Hessian") {
  Model model("logreg:4-3");
  model.Initialize(21);
  MatrixXf x = RandomMatrix(4, 6, 22);
  const std::vector<int32_t> labels = {0, 1, 2, 2, 1, 0};
  const VectorXf v = RandomMatrix(model.num_parameters(), 1, 23);
  model.LossAndGradient(x, labels);
  const VectorXf params = model.parameters(), grads = model.gradients();
  VectorXf hv;
  model.HessianVectorProduct(x, labels, v, &hv);
  CHECK(model.parameters() == params);
  CHECK(model.gradients() == grads);

  // Per sample, with p = softmax(W x + b) and the direction (dW, db):
  // dz = dW x + db; dp = (diag(p) - p p^T) dz; H v = mean (dp x^T, dp).
  Eigen::Map<const MatrixXf> w(params.data(), 3, 4);
  Eigen::Map<const VectorXf> bias(params.data() + 12, 3);
  Eigen::Map<const MatrixXf> dw(v.data(), 3, 4);
  Eigen::Map<const VectorXf> db(v.data() + 12, 3);
  VectorXf expected = VectorXf::Zero(15);
  Eigen::Map<MatrixXf> hw(expected.data(), 3, 4);
  for (int b = 0; b < 6; ++b) {
    VectorXf z = w * x.col(b) + bias;
    VectorXf p = (z.array() - z.maxCoeff()).exp();
    p /= p.sum();
    VectorXf dz = dw * x.col(b) + db;
    VectorXf dp = p.cwiseProduct(dz) - p * p.dot(dz);
    hw += dp * x.col(b).transpose() / 6.0f;
    expected.tail(3) += dp / 6.0f;
  }
  CHECK((hv - expected).norm() <= 2e-2f * expected.norm());
}

TEST_CASE("Model: buffers adapt to changing batch sizes - Predict") {
  Model model("cnn:lenet");
  model.Initialize(5);
  MatrixXf x = RandomMatrix(784, 7, 6);
  const MatrixXf all = model.Forward(x);
  const MatrixXf first = model.Forward(x.leftCols(2));
  CHECK(first.isApprox(all.leftCols(2)));
  const MatrixXf again = model.Forward(x);
  CHECK(again == all);
  const auto predictions = model.Predict(x);
  for (int b = 0; b < 7; ++b) {
    Eigen::Index best;
    all.col(b).maxCoeff(&best);
    CHECK(predictions[b] == best);
  }
}

}  // namespace
}  // namespace edgefl::nn
