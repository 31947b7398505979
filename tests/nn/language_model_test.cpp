#include "nn/language_model.h"

#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "nn/char_rnn.h"
#include "nn/embedding.h"
#include "nn/gru.h"
#include "nn/lstm.h"
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

// Checks a recurrent layer's BPTT against central differences of the loss
// sum(r ⊙ h) for I = 3, H = 4, T = 5, B = 2, with its parameters 3x its own
// initialisation (away from the linear regime): the gradients of the
// weights and of the inputs, and that Backward ADDS. Returns the gradient.
template <typename Layer>
VectorXf CheckBpttGradients() {
  const Eigen::Index in = 3, hidden = 4, steps = 5, batch = 2;
  Layer layer(in, hidden);
  VectorXf params(layer.num_parameters());
  Rng rng(7);
  layer.Initialize(rng, params.data());
  params *= 3.0f;
  MatrixXf x = RandomMatrix(in, steps * batch, 8);
  const MatrixXf r = RandomMatrix(hidden, steps * batch, 9);
  MatrixXf h(hidden, steps * batch);
  auto loss = [&]() {
    layer.Forward(params.data(), x, steps, h);
    return (r.cast<double>().array() * h.cast<double>().array()).sum();
  };
  loss();
  VectorXf grads = VectorXf::Zero(params.size());
  MatrixXf dx(in, steps * batch);
  MatrixRef dx_ref = dx;
  layer.Backward(params.data(), x, h, r, grads.data(), &dx_ref);
  GradCheckResult result;
  testing::CheckVector(loss, params.data(), params.size(), grads.data(), "param", &result);
  testing::CheckVector(loss, x.data(), x.size(), dx.data(), "input", &result);
  testing::RequirePassed(result);
  loss();
  VectorXf twice = grads;
  layer.Backward(params.data(), x, h, r, twice.data(), nullptr);
  CHECK((twice - 2 * grads).norm() <= 1e-5f * grads.norm());
  return grads;
}

TEST_CASE("Gru: one step by hand equals the PyTorch gate equations") {
  // I = 1, H = 1: W_i = (wr, wz, wn), W_h = (ur, uz, un), b_i, b_h.
  Gru gru(1, 1);
  const std::vector<float> p = {0.5f, -0.25f, 1.0f,   // W_i: r, z, n
                                0.2f, 0.3f,   -0.4f,  // W_h
                                0.1f, 0.0f,   -0.1f,  // b_i
                                0.0f, 0.2f,   0.3f};  // b_h
  REQUIRE(gru.num_parameters() == 12);
  MatrixXf x(1, 2);  // T = 2, B = 1
  x << 2.0f, -1.0f;
  MatrixXf h(1, 2);
  gru.Forward(p.data(), x, 2, h);
  auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  double prev = 0.0;
  for (int t = 0; t < 2; ++t) {
    const double xt = x(0, t);
    const double r = sigmoid(0.5 * xt + 0.1 + 0.2 * prev + 0.0);
    const double z = sigmoid(-0.25 * xt + 0.0 + 0.3 * prev + 0.2);
    const double n = std::tanh(1.0 * xt - 0.1 + r * (-0.4 * prev + 0.3));
    const double next = (1 - z) * n + z * prev;
    CHECK(h(0, t) == doctest::Approx(next).epsilon(1e-6));
    prev = next;
  }
}

TEST_CASE("Gru: BPTT gradients match finite differences") {
  CheckBpttGradients<Gru>();
}

TEST_CASE("Lstm: two steps by hand equal the PyTorch gate equations") {
  // I = 1, H = 1, gate rows i, f, g, o.
  Lstm lstm(1, 1);
  const std::vector<float> p = {0.5f, -0.25f, 1.0f,  0.75f,   // W_i
                                0.2f, 0.3f,   -0.4f, 0.6f,    // W_h
                                0.1f, 0.0f,   -0.1f, 0.2f,    // b_i
                                0.0f, 0.2f,   0.3f,  -0.3f};  // b_h
  REQUIRE(lstm.num_parameters() == 16);
  MatrixXf x(1, 2);  // T = 2, B = 1
  x << 2.0f, -1.0f;
  MatrixXf h(1, 2);
  lstm.Forward(p.data(), x, 2, h);
  auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  double prev_h = 0.0, prev_c = 0.0;
  for (int t = 0; t < 2; ++t) {
    const double xt = x(0, t);
    const double i = sigmoid(0.5 * xt + 0.1 + 0.2 * prev_h + 0.0);
    const double f = sigmoid(-0.25 * xt + 0.0 + 0.3 * prev_h + 0.2);
    const double g = std::tanh(1.0 * xt - 0.1 - 0.4 * prev_h + 0.3);
    const double o = sigmoid(0.75 * xt + 0.2 + 0.6 * prev_h - 0.3);
    prev_c = f * prev_c + i * g;
    prev_h = o * std::tanh(prev_c);
    CHECK(h(0, t) == doctest::Approx(prev_h).epsilon(1e-6));
  }
}

TEST_CASE("Lstm: BPTT gradients match finite differences") {
  const VectorXf grads = CheckBpttGradients<Lstm>();
  // The two bias vectors only appear summed: equal gradients.
  const Eigen::Index in = 3, hidden = 4, g4 = 4 * hidden, bi = g4 * (in + hidden);
  CHECK(grads.segment(bi, g4) == grads.segment(bi + g4, g4));
}

TEST_CASE("Embedding: rows are looked up and gradients scatter-add to them") {
  Embedding embedding(3, 2);
  const std::vector<float> table = {1, 2, 3, 4, 5, 6};  // token v at 2v
  const std::vector<int32_t> ids = {2, 0, 2};
  MatrixXf out(2, 3);
  embedding.Forward(table.data(), ids, out);
  MatrixXf expected(2, 3);
  expected << 5, 1, 5, 6, 2, 6;
  CHECK(out == expected);
  MatrixXf dout(2, 3);
  dout << 1, 10, 100, 2, 20, 200;
  std::vector<float> grads(6, 0.0f);
  embedding.Backward(ids, dout, grads.data());
  CHECK(grads == std::vector<float>{10, 20, 0, 0, 101, 202});
}

TEST_CASE("rnn spec: defaults - options - errors name the spec") {
  ModelSpec spec = ParseModelSpec("rnn:gru-256x2");
  CHECK(spec.kind == ModelKind::kGru);
  CHECK(spec.language_model.hidden == 256);
  CHECK(spec.language_model.layers == 2);
  CHECK(spec.language_model.embedding == 32);
  CHECK(spec.language_model.seq_len == 64);
  CHECK(spec.language_model.vocab == 96);
  CHECK(InputDim(spec) == 65);
  CHECK(NumClasses(spec) == 96);
  spec = ParseModelSpec("rnn:gru-16-e8-t10-v40");
  CHECK(spec.language_model.layers == 1);
  CHECK(spec.language_model.embedding == 8);
  CHECK(InputDim(spec) == 11);
  CHECK(NumClasses(spec) == 40);
  CHECK_THROWS_AS(ParseModelSpec("rnn:elman-16"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("rnn:lstm16"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("rnn:gru-16-q3"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("rnn:gru-0"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("rnn:gru-16-v1"), ConfigError);
  CHECK_THROWS_AS(ParseModelSpec("rnn:gru-16+proj"), ConfigError);
}

TEST_CASE("rnn model: mean next-token loss gradients match finite differences") {
  // Embedding, two GRU layers and the head, through nn::Model.
  Model model("rnn:gru-5x2-e3-t4-v7");
  REQUIRE(model.is_language_model());
  CHECK(model.num_parameters() == 7 * 3 + 3 * 5 * (3 + 5 + 2) + 3 * 5 * (5 + 5 + 2) + 7 * 5 + 7);
  model.Initialize(3);
  testing::CheckSequenceLossGradient(model, RandomWindows(4, 3, 7, 11), 600);
}

TEST_CASE("rnn:lstm spec and model: sizes and mean next-token loss gradients") {
  const ModelSpec spec = ParseModelSpec("rnn:lstm-256x2-e16");
  CHECK(spec.kind == ModelKind::kLstm);
  CHECK(spec.language_model.hidden == 256);
  CHECK(spec.language_model.layers == 2);
  CHECK(spec.language_model.embedding == 16);
  CHECK(InputDim(spec) == 65);
  // Embedding, two LSTM layers and the head, through nn::Model.
  Model model("rnn:lstm-5x2-e3-t4-v7");
  REQUIRE(model.is_language_model());
  CHECK(model.num_parameters() == 7 * 3 + 4 * 5 * (3 + 5 + 2) + 4 * 5 * (5 + 5 + 2) + 7 * 5 + 7);
  model.Initialize(3);
  testing::CheckSequenceLossGradient(model, RandomWindows(4, 3, 7, 11), 600);
}

TEST_CASE("rnn model: Forward returns the last position and Backward of it matches a full pass") {
  Model model("rnn:gru-6-e4-t3-v5");
  model.Initialize(1);
  const MatrixXf windows = RandomWindows(3, 2, 5, 4);
  const auto last = model.Forward(windows);
  REQUIRE(last.rows() == 5);
  REQUIRE(last.cols() == 2);
  // Perturbing the final target changes nothing Forward returns.
  MatrixXf changed = windows;
  changed(3, 0) = static_cast<float>((static_cast<int>(windows(3, 0)) + 1) % 5);
  const MatrixXf before = last;
  CHECK(MatrixXf(model.Forward(changed)) == before);
  // Backward of the last-position logits equals finite differences of the
  // last position's cross-entropy.
  model.Forward(windows);
  MatrixXf dlogits = RandomMatrix(5, 2, 6);
  model.Backward(windows, dlogits, {.overwrite_gradients = true});
  const VectorXf grads = model.gradients();
  auto loss = [&]() {
    const auto l = model.Forward(windows);
    return (dlogits.cast<double>().array() * l.cast<double>().array()).sum();
  };
  GradCheckResult result;
  testing::CheckVector(loss, model.parameters().data(), model.num_parameters(), grads.data(),
                       "param", &result);
  testing::RequirePassed(result);
  CHECK_THROWS_AS(model.features(), ConfigError);
}

TEST_CASE(
    "SequenceCrossEntropy: hand example - uniform logits give log V and ties pick the first") {
  MatrixXf windows(3, 1);  // T = 2: targets 2 and 0
  windows << 1, 2, 0;
  MatrixXf logits = MatrixXf::Zero(4, 2);
  Eigen::VectorXd per_window;
  int64_t correct = -1;
  MatrixXf d;
  const double loss = SequenceCrossEntropy(logits, windows, &d, &per_window, &correct);
  CHECK(loss == doctest::Approx(std::log(4.0)));
  CHECK(per_window(0) == doctest::Approx(std::log(4.0)));
  CHECK(correct == 1);  // arg-max 0 on ties: right for target 0 only
  CHECK(d(2, 0) == doctest::Approx((0.25 - 1.0) / 2));
  CHECK(d(1, 0) == doctest::Approx(0.25 / 2));
  windows(2, 0) = 4;  // outside V = 4
  CHECK_THROWS_AS(SequenceCrossEntropy(logits, windows, nullptr, nullptr, nullptr), DataError);
}

TEST_CASE("rnn model: token ids outside the vocabulary are a DataError") {
  Model model("rnn:gru-4-e2-t2-v3");
  MatrixXf windows(3, 1);
  windows << 0, 3, 1;
  CHECK_THROWS_AS(model.Forward(windows), DataError);
  windows << 0, 1.5f, 1;
  CHECK_THROWS_AS(model.Forward(windows), DataError);
}

}  // namespace
}  // namespace edgefl::nn
