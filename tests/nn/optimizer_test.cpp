#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "nn/adaptive.h"
#include "nn/sgd.h"

namespace edgefl::nn {
namespace {

using Eigen::VectorXf;

// Two steps from w = (1, -2, 0.5) with gradients g1 then g2, like tiny-dnn's
// test_optimizers. Expected values are PyTorch 1.13's torch.optim results
// for the same inputs (SGD+momentum+wd also checked by hand).
VectorXf TwoSteps(Optimizer& opt) {
  VectorXf w(3), g1(3), g2(3);
  w << 1.0f, -2.0f, 0.5f;
  g1 << 0.1f, 0.2f, -0.3f;
  g2 << -0.05f, 0.4f, 0.1f;
  opt.Step(w, g1);
  opt.Step(w, g2);
  return w;
}

void CheckNear(const VectorXf& w, std::vector<double> expected) {
  REQUIRE(w.size() == static_cast<Eigen::Index>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(w[static_cast<Eigen::Index>(i)] == doctest::Approx(expected[i]).epsilon(1e-5));
  }
}

TEST_CASE("Sgd: momentum + weight decay - pinned after two steps") {
  // By hand: d1 = g1 + 0.01 w0 = (0.11, 0.18, -0.295); v1 = d1;
  // w1 = w0 - 0.1 v1 = (0.989, -2.018, 0.5295); d2 = g2 + 0.01 w1;
  // v2 = 0.9 v1 + d2 = (0.05889, 0.54182, -0.160205); w2 = w1 - 0.1 v2.
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  CheckNear(TwoSteps(sgd), {0.983111, -2.072182, 0.5455205});
}

TEST_CASE("Sgd: Nesterov - plain SGD and Reset") {
  Sgd nesterov({.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f});
  CheckNear(TwoSteps(nesterov), {0.9778297, -2.1209149, 0.5598885});
  Sgd plain({.learning_rate = 0.1f});
  CheckNear(TwoSteps(plain), {1.0 - 0.1 * 0.05, -2.0 - 0.1 * 0.6, 0.5 + 0.1 * 0.2});

  Sgd carried({.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  TwoSteps(carried);
  const VectorXf with_state = TwoSteps(carried);  // momentum carried over
  carried.Reset();
  Sgd fresh({.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  const VectorXf from_scratch = TwoSteps(fresh);
  CHECK(TwoSteps(carried) == from_scratch);
  CHECK(!with_state.isApprox(from_scratch));
}

TEST_CASE("Sgd: bad options and size mismatches are ConfigErrors") {
  CHECK_THROWS_AS(Sgd({.learning_rate = -1.0f}), ConfigError);
  CHECK_THROWS_AS(Sgd({.momentum = 1.0f}), ConfigError);
  CHECK_THROWS_WITH_AS(Sgd({.nesterov = true}), doctest::Contains("nesterov"), ConfigError);
  Sgd sgd({.learning_rate = 0.1f, .momentum = 0.5f});
  VectorXf w = VectorXf::Zero(3), g = VectorXf::Zero(4);
  CHECK_THROWS_AS(sgd.Step(w, g), ConfigError);
  VectorXf g3 = VectorXf::Zero(3);
  sgd.Step(w, g3);
  VectorXf w4 = VectorXf::Zero(4);
  CHECK_THROWS_WITH_AS(sgd.Step(w4, g), doctest::Contains("Reset"), ConfigError);
  sgd.Reset();
  sgd.Step(w4, g);
}

TEST_CASE("Adam and AdamW: pinned after two steps") {
  AdaptiveOptimizer adam(AdamOptions(0.01f));
  CheckNear(TwoSteps(adam), {0.9873366, -2.0196519, 0.5140022});
  AdaptiveOptimizer adamw(AdamOptions(0.01f, /*weight_decay=*/0.1f));
  CheckNear(TwoSteps(adamw), {0.9853477, -2.0156441, 0.5129927});
  CHECK(adamw.steps() == 2);
  adamw.Reset();
  CHECK(adamw.steps() == 0);
  CheckNear(TwoSteps(adamw), {0.9853477, -2.0156441, 0.5129927});
}

TEST_CASE("RMSProp: pinned after two steps") {
  AdaptiveOptimizer rmsprop(RmsPropOptions(0.01f));
  CheckNear(TwoSteps(rmsprop), {0.9449013, -2.1895323, 0.5682339});
}

TEST_CASE("OASIS: diagonal from Hutchinson estimates of a diagonal quadratic") {
  // f(w) = 0.5 sum a_i w_i^2: H = diag(a), so z * (H z) = a exactly for
  // Rademacher z and D = |a| from the first step on.
  VectorXf a(3);
  a << 4.0f, 0.5f, 1e-6f;
  AdaptiveOptions options = OasisOptions(0.5f);
  options.alpha = 0.01f;
  AdaptiveOptimizer oasis(options);
  VectorXf w(3);
  w << 1.0f, -2.0f, 0.5f;
  VectorXf g = VectorXf::Zero(3);
  CHECK_THROWS_WITH_AS(oasis.Step(w, g), doctest::Contains("callback"), ConfigError);
  int calls = 0;
  oasis.set_hessian_vector_product([&](const VectorXf& z, VectorXf* hz) {
    ++calls;
    for (int i = 0; i < 3; ++i)
      CHECK(std::abs(z[i]) == 1.0f);
    *hz = a.cwiseProduct(z);
  });
  g = a.cwiseProduct(w);
  oasis.Step(w, g);
  CHECK(calls == 1);
  CHECK(oasis.second_moment().isApprox(a));
  // w_i - 0.5 * a_i w_i / max(0.01, a_i): halves w_0 and w_1; w_2 barely moves.
  CheckNear(w, {0.5, -1.0, 0.5 - 0.5 * 1e-6 * 0.5 / 0.01});
  g = a.cwiseProduct(w);
  oasis.Step(w, g);
  CheckNear(w, {0.25, -0.5, w[2]});
}

TEST_CASE("AdaptiveOptimizer: bad options are ConfigErrors") {
  AdaptiveOptions o = AdamOptions();
  o.beta1 = 1.0f;
  CHECK_THROWS_WITH_AS(AdaptiveOptimizer{o}, doctest::Contains("beta1"), ConfigError);
  o = RmsPropOptions();
  o.epsilon = 0.0f;
  CHECK_THROWS_AS(AdaptiveOptimizer{o}, ConfigError);
  AdaptiveOptimizer adam(AdamOptions());
  CHECK_THROWS_AS(adam.set_learning_rate(-0.1f), ConfigError);
}

}  // namespace
}  // namespace edgefl::nn
