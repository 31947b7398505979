#include "algorithms/server_optimizer.h"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/normal_vector.h"

namespace edgefl::algorithms {
namespace {

ServerOptimizerConfig Config(ServerOptimizerKind kind, double lr) {
  ServerOptimizerConfig c;
  c.kind = kind;
  c.learning_rate = lr;
  return c;
}

TEST_CASE("plain server step with lr 1 returns the aggregate bit for bit") {
  Rng rng(1);
  const Eigen::VectorXf w = testing::NormalVector(rng, 1000);
  const Eigen::VectorXf m = testing::NormalVector(rng, 1000) * 1e-3f + w * 1e4f;
  ServerOptimizer opt(Config(ServerOptimizerKind::kNone, 1.0));
  CHECK((opt.Step(w, m).array() == m.array()).all());
}

TEST_CASE("plain server step with lr 0.5 moves half way") {
  Eigen::VectorXf w(2), m(2);
  w << 1.0f, -2.0f;
  m << 3.0f, 2.0f;
  ServerOptimizer opt(Config(ServerOptimizerKind::kNone, 0.5));
  const Eigen::VectorXf next = opt.Step(w, m);
  CHECK(next[0] == 2.0f);
  CHECK(next[1] == 0.0f);
}

TEST_CASE("FedAvgM with beta 0 and lr 1 equals FedAvg bit for bit over rounds") {
  Rng rng(2);
  ServerOptimizerConfig momentum = Config(ServerOptimizerKind::kMomentum, 1.0);
  momentum.momentum = 0.0;
  ServerOptimizer fedavgm(momentum);
  ServerOptimizer fedavg(Config(ServerOptimizerKind::kNone, 1.0));
  Eigen::VectorXf a = testing::NormalVector(rng, 500);
  Eigen::VectorXf b = a;
  for (int round = 0; round < 5; ++round) {
    const Eigen::VectorXf m = a + 0.1f * testing::NormalVector(rng, 500);
    a = fedavgm.Step(a, m);
    b = fedavg.Step(b, m);
    REQUIRE((a.array() == b.array()).all());
  }
}

TEST_CASE("FedAvgM accumulates momentum") {
  Eigen::VectorXf w(1), m(1);
  w << 0.0f;
  m << -1.0f;  // Δ̄ = 1 every round
  ServerOptimizerConfig c = Config(ServerOptimizerKind::kMomentum, 1.0);
  c.momentum = 0.5;
  ServerOptimizer opt(c);
  w = opt.Step(w, m);  // v = 1, w = -1
  CHECK(w[0] == doctest::Approx(-1.0));
  m[0] = w[0] - 1.0f;
  w = opt.Step(w, m);  // v = 1.5, w = -2.5
  CHECK(w[0] == doctest::Approx(-2.5));
}

TEST_CASE("Nesterov server momentum steps with the look-ahead v") {
  // DiLoCo's outer step (PyTorch SGD nesterov): v ← βv + Δ̄, w ← w − η(Δ̄ + βv).
  Eigen::VectorXf w(1), m(1);
  w << 0.0f;
  m << -1.0f;  // Δ̄ = 1 every round
  ServerOptimizerConfig c = Config(ServerOptimizerKind::kMomentum, 1.0);
  c.momentum = 0.5;
  c.nesterov = true;
  ServerOptimizer opt(c);
  w = opt.Step(w, m);  // v = 1, w = 0 − (1 + 0.5) = −1.5
  CHECK(w[0] == -1.5f);
  m[0] = w[0] - 1.0f;
  w = opt.Step(w, m);  // v = 1.5, w = −1.5 − (1 + 0.75) = −3.25
  CHECK(w[0] == -3.25f);
  c.learning_rate = 0.5;
  ServerOptimizer half(c);
  Eigen::VectorXf x(1), a(1);
  x << 2.0f;
  a << 0.0f;  // Δ̄ = 2: v = 2, x = 2 − 0.5(2 + 1) = 0.5
  CHECK(half.Step(x, a)[0] == 0.5f);
}

TEST_CASE("if every client returns w the model is unchanged for every optimizer") {
  Rng rng(3);
  const Eigen::VectorXf w = testing::NormalVector(rng, 64);
  for (ServerOptimizerKind kind : {ServerOptimizerKind::kNone, ServerOptimizerKind::kMomentum,
                                   ServerOptimizerKind::kAdam, ServerOptimizerKind::kYogi}) {
    ServerOptimizer opt(Config(kind, 0.3));
    CHECK((opt.Step(w, w).array() == w.array()).all());
  }
}

TEST_CASE("first FedAdam step has size lr times 0.1 d over 0.1 d plus tau") {
  Eigen::VectorXf w(3), m(3);
  w << 0.0f, 1.0f, -1.0f;
  m << 0.5f, 0.99f, 2.0f;  // d = 0.5, -0.01, 3
  ServerOptimizerConfig c = Config(ServerOptimizerKind::kAdam, 0.1);
  c.tau = 1e-3;
  ServerOptimizer opt(c);
  const Eigen::VectorXf next = opt.Step(w, m);
  for (Eigen::Index i = 0; i < 3; ++i) {
    const double d = static_cast<double>(m[i]) - w[i];
    const double expected = 0.1 * 0.1 * d / (0.1 * std::fabs(d) + 1e-3);
    CHECK(next[i] - w[i] == doctest::Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE(
    "FedAdam bias correction scales the first step by sqrt of 1 minus beta2 over 1 minus beta1") {
  Eigen::VectorXf w(1), m(1);
  w << 0.0f;
  m << 1.0f;
  ServerOptimizerConfig c = Config(ServerOptimizerKind::kAdam, 0.1);
  ServerOptimizer plain(c);
  c.bias_correction = true;
  ServerOptimizer corrected(c);
  const double ratio = std::sqrt(1.0 - 0.99) / (1.0 - 0.9);
  CHECK(corrected.Step(w, m)[0] == doctest::Approx(plain.Step(w, m)[0] * ratio).epsilon(1e-5));
}

TEST_CASE("FedYogi first step equals FedAdam first step and then differs") {
  Rng rng(4);
  const Eigen::VectorXf w = testing::NormalVector(rng, 16);
  const Eigen::VectorXf m1 = w + testing::NormalVector(rng, 16);
  ServerOptimizer adam(Config(ServerOptimizerKind::kAdam, 0.1));
  ServerOptimizer yogi(Config(ServerOptimizerKind::kYogi, 0.1));
  // From v = 0: yogi v = 0 − (1−β2)d²·sign(−d²) = (1−β2)d², as Adam's.
  const Eigen::VectorXf a1 = adam.Step(w, m1);
  const Eigen::VectorXf y1 = yogi.Step(w, m1);
  CHECK((a1 - y1).cwiseAbs().maxCoeff() <= 1e-6f);
  const Eigen::VectorXf m2 = a1 + 3.0f * testing::NormalVector(rng, 16);
  CHECK((adam.Step(a1, m2) - yogi.Step(a1, m2)).cwiseAbs().maxCoeff() > 1e-6f);
}

TEST_CASE("FedYogi follows Reddi et al.'s v update over four steps as v grows and shrinks") {
  // Reddi et al. 2021, Algorithm 2: m = β1·m + (1−β1)Δ, v = v − (1−β2)Δ²·sign(v − Δ²),
  // x += η·m/(√v + τ); v starts at 0 (as in Flower's FedYogi). Step 2 has
  // v > Δ² (v shrinks by (1−β2)Δ², where Adam would give β2·v + (1−β2)Δ²),
  // step 3 has v < Δ² (v grows). Values computed by hand in double.
  ServerOptimizerConfig c = Config(ServerOptimizerKind::kYogi, 0.1);
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  c.tau = 1e-3;
  ServerOptimizer yogi(c);
  Eigen::VectorXf w(1);
  w << 0.5f;
  const float deltas[] = {1.0f, 0.05f, 2.0f, -0.1f};
  const double steps[] = {0.09900990099009895, 0.09417603337510658, 0.127142671843236,
                          0.11008477540718077};
  const double second_moments[] = {0.01, 0.009975, 0.049975, 0.049875};
  for (int t = 0; t < 4; ++t) {
    CAPTURE(t);
    Eigen::VectorXf aggregate = w;
    aggregate[0] += deltas[t];
    const Eigen::VectorXf next = yogi.Step(w, aggregate);
    CHECK(next[0] - w[0] == doctest::Approx(steps[t]).epsilon(1e-5));
    // SaveState = [t, m, v].
    CHECK(yogi.SaveState()[2] == doctest::Approx(second_moments[t]).epsilon(1e-5));
    w = next;
  }
}

TEST_CASE("save and restore reproduce the next step exactly") {
  Rng rng(5);
  for (ServerOptimizerKind kind : {ServerOptimizerKind::kNone, ServerOptimizerKind::kMomentum,
                                   ServerOptimizerKind::kAdam, ServerOptimizerKind::kYogi}) {
    ServerOptimizerConfig c = Config(kind, 0.05);
    c.bias_correction = true;
    ServerOptimizer original(c);
    Eigen::VectorXf w = testing::NormalVector(rng, 50);
    for (int i = 0; i < 3; ++i)
      w = original.Step(w, w + testing::NormalVector(rng, 50));
    ServerOptimizer restored(c);
    restored.RestoreState(original.SaveState());
    CHECK(restored.steps() == (kind == ServerOptimizerKind::kNone ? 0 : 3));
    const Eigen::VectorXf m = w + testing::NormalVector(rng, 50);
    CHECK((original.Step(w, m).array() == restored.Step(w, m).array()).all());
  }
}

TEST_CASE("restore rejects a state of the wrong layout and step rejects a new size") {
  ServerOptimizer adam(Config(ServerOptimizerKind::kAdam, 0.1));
  Eigen::VectorXf bad(4);
  bad << 1, 0, 0, 0;  // 1 + 2n needs an odd size
  CHECK_THROWS_AS(adam.RestoreState(bad), ConfigError);
  ServerOptimizer none(Config(ServerOptimizerKind::kNone, 1.0));
  CHECK_THROWS_WITH_AS(none.RestoreState(bad), doctest::Contains("stateless"), ConfigError);
  adam.Step(Eigen::VectorXf::Zero(3), Eigen::VectorXf::Ones(3));
  CHECK_THROWS_AS(adam.Step(Eigen::VectorXf::Zero(4), Eigen::VectorXf::Ones(4)), ConfigError);
}

TEST_CASE("server optimizer config errors name the parameter") {
  ServerOptimizerConfig c;
  c.learning_rate = 0.0;
  CHECK_THROWS_WITH_AS(ServerOptimizer{c}, doctest::Contains("server_lr"), ConfigError);
  c = ServerOptimizerConfig{};
  c.momentum = 1.0;
  CHECK_THROWS_WITH_AS(ServerOptimizer{c}, doctest::Contains("server_momentum"), ConfigError);
  CHECK_THROWS_WITH_AS(ParseServerOptimizer("sgd"), doctest::Contains("momentum, adam, yogi"),
                       ConfigError);
}

}  // namespace
}  // namespace edgefl::algorithms
