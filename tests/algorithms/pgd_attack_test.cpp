// The ℓ∞ PGD attack on a two-layer ReLU network (pgd_attack.h) on hand
// networks whose worst case in the ball is known.
#include "algorithms/pgd_attack.h"

#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::algorithms {
namespace {

using Eigen::MatrixXd;

// Class 0 scores relu(x1 + x2), class 1 the constant 0.5 (its bias).
TwoLayerRelu HandNetwork() {
  TwoLayerRelu net;
  net.w1 = MatrixXd(1, 2);
  net.w1 << 1.0, 1.0;
  net.b1 = Eigen::VectorXd::Zero(1);
  net.w2 = MatrixXd(2, 1);
  net.w2 << 1.0, 0.0;
  net.b2 = Eigen::VectorXd(2);
  net.b2 << 0.0, 0.5;
  return net;
}

}  // namespace

TEST_CASE("pgd: finds the worst corner of the ball on a hand network") {
  const TwoLayerRelu net = HandNetwork();
  MatrixXd x(2, 2);
  x << 0.5, 0.5,  // class 0 with margin 0.5: the corner (0.3, 0.3) scores 0.6, still class 0
      0.4, 0.2;   // class 0 with margin 0.1: (0.2, 0.0) scores 0.2 < 0.5, flipped
  const std::vector<int32_t> labels = {0, 0};
  PgdOptions options;
  options.epsilon = 0.2;
  options.steps = 10;
  const MatrixXd adv = PgdAttack(net, x, labels, options);
  CHECK(adv(0, 0) == doctest::Approx(0.3));
  CHECK(adv(0, 1) == doctest::Approx(0.3));
  CHECK(adv(1, 0) == doctest::Approx(0.2));
  CHECK(adv(1, 1) == doctest::Approx(0.0));
  CHECK(Accuracy(TwoLayerOutputs(net, x), labels) == 1.0);
  CHECK(Accuracy(TwoLayerOutputs(net, adv), labels) == 0.5);
  // The box clamps: with inputs in [0.35, 1] the second row cannot go below it.
  options.lower = 0.35;
  options.upper = 1.0;
  const MatrixXd boxed = PgdAttack(net, x, labels, options);
  CHECK(boxed(1, 0) == doctest::Approx(0.35));
  CHECK(boxed(1, 1) == doctest::Approx(0.35));
  // ε = 0 leaves the points where they are.
  options = PgdOptions{};
  options.epsilon = 0.0;
  CHECK((PgdAttack(net, x, labels, options) - x).norm() == 0.0);
}

TEST_CASE("pgd: the mlp layout and bad arguments") {
  // mlp:2-1-2: W1 (1 x 2), b1 (1), W2 (2 x 1), b2 (2).
  const std::vector<float> params = {1, 1, 0, 1, 0, 0, 0.5f};
  const TwoLayerRelu net = TwoLayerReluFrom(params, 2, 1, 2);
  CHECK(net.w1(0, 1) == 1.0);
  CHECK(net.w2(0, 0) == 1.0);
  CHECK(net.b2(1) == 0.5);
  CHECK_THROWS_AS(TwoLayerReluFrom(params, 2, 2, 2), ConfigError);
  MatrixXd x(1, 2);
  x << 0.0, 0.0;
  const std::vector<int32_t> bad = {2};
  CHECK_THROWS_WITH_AS(PgdAttack(net, x, bad, PgdOptions{}), doctest::Contains("label"),
                       ConfigError);
  PgdOptions negative;
  negative.epsilon = -1.0;
  const std::vector<int32_t> ok = {0};
  CHECK_THROWS_WITH_AS(PgdAttack(net, x, ok, negative), doctest::Contains("epsilon"), ConfigError);
}

}  // namespace edgefl::algorithms
