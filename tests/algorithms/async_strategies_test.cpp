// The asynchronous server rules: Delayed Nesterov (algorithms.md §6 "What to
// test" (a)-(c)), DyLU (d), FedBuff's buffer and staleness weighting, and
// the registry's keys.
#include <cmath>
#include <cstdio>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/delayed_nesterov.h"
#include "algorithms/dylu.h"
#include "algorithms/fedasync.h"
#include "algorithms/fedbuff.h"
#include "algorithms/staleness_weight.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

// A result whose pseudo-gradient against `base` is `g` (θ_client = base − g).
train::FitResult ResultWithGradient(const Eigen::VectorXf& base, const Eigen::VectorXf& g,
                                    size_t samples = 10) {
  train::FitResult r;
  r.train.parameters = base - g;
  r.train.num_samples = samples;
  return r;
}

DelayedNesterovOptions Dn(double lr, double beta, int64_t n, double c) {
  DelayedNesterovOptions o;
  o.task.recipe.local_steps = 5;
  o.outer_lr = lr;
  o.outer_momentum = beta;
  o.buffer_size = n;
  o.activation = c;
  return o;
}

void CheckClose(const Eigen::VectorXf& a, const Eigen::VectorXf& b, double tol = 1e-5) {
  REQUIRE(a.size() == b.size());
  for (Eigen::Index i = 0; i < a.size(); ++i)
    CHECK(a[i] == doctest::Approx(b[i]).epsilon(tol));
}

TEST_CASE("async_dn: N = 1 and c = 0 is a Nesterov outer step per arrival") {
  DelayedNesterov dn(Dn(0.7, 0.9, 1, 0.0));
  Eigen::VectorXf theta(3);
  theta << 1.0f, -2.0f, 0.5f;
  Eigen::VectorXf expected = theta;
  Eigen::VectorXf m = Eigen::VectorXf::Zero(3);
  const std::vector<Eigen::VectorXf> grads = {Eigen::Vector3f(0.1f, 0.2f, -0.3f),
                                              Eigen::Vector3f(-0.05f, 0.4f, 0.1f),
                                              Eigen::Vector3f(0.2f, 0.0f, 0.3f)};
  for (const Eigen::VectorXf& g : grads) {
    // Nesterov (DiLoCo's outer step): m ← βm + g; θ ← θ − ε(βm + g).
    m = 0.9f * m + g;
    expected = expected - 0.7f * (0.9f * m + g);
    const ArrivalOutcome out = dn.OnArrival(theta, theta, ResultWithGradient(theta, g), 0);
    REQUIRE(out.parameters.has_value());
    theta = *out.parameters;
    CheckClose(theta, expected);
  }
}

TEST_CASE("async_dn: N equal pushes with beta 0 move theta by the outer lr times g") {
  const int64_t n = 4;
  DelayedNesterov dn(Dn(0.5, 0.0, n, 0.0));
  const Eigen::VectorXf start = Eigen::Vector3f(1.0f, 2.0f, 3.0f);
  const Eigen::VectorXf g = Eigen::Vector3f(0.4f, -0.8f, 1.2f);
  Eigen::VectorXf theta = start;
  for (int64_t t = 0; t < n; ++t) {
    // Every arrival moves the model (g/N each), pulled from an older base.
    const ArrivalOutcome out = dn.OnArrival(theta, start, ResultWithGradient(start, g), t);
    REQUIRE(out.parameters.has_value());
    CHECK(out.metrics.at("window_end") == (t == n - 1 ? 1.0 : 0.0));
    theta = *out.parameters;
  }
  CheckClose(theta, start - 0.5f * g);
}

TEST_CASE("async_dn: the coefficients in front of beta m sum to 1 over each window") {
  for (const int64_t n : {1, 3, 8}) {
    for (const double c : {0.0, 0.05, 1.0 / static_cast<double>(std::max<int64_t>(n - 1, 1))}) {
      for (int64_t window = 0; window < 3; ++window) {
        double sum = 0.0;
        for (int64_t t = window * n; t < (window + 1) * n; ++t)
          sum += DelayedNesterov::MomentumCoefficient(t, n, c);
        CHECK(sum == doctest::Approx(1.0));
      }
    }
  }
  // And the rule uses them: after a window that sets m = g, a window of zero
  // pushes moves θ by −εβ[(N−1)·c·m + (1−cN+c)·β·m].
  const int64_t n = 3;
  const double c = 0.2, lr = 0.5, beta = 0.9;
  DelayedNesterov dn(Dn(lr, beta, n, c));
  const Eigen::VectorXf g = Eigen::Vector2f(1.0f, -2.0f);
  Eigen::VectorXf theta = Eigen::Vector2f(0.0f, 0.0f);
  for (int64_t t = 0; t < n; ++t)
    theta = *dn.OnArrival(theta, theta, ResultWithGradient(theta, g), 0).parameters;
  const Eigen::VectorXf before = theta;
  const Eigen::VectorXf zero = Eigen::Vector2f(0.0f, 0.0f);
  for (int64_t t = 0; t < n; ++t)
    theta = *dn.OnArrival(theta, theta, ResultWithGradient(theta, zero), 0).parameters;
  const double factor = lr * beta * ((n - 1) * c + (1 - c * n + c) * beta);
  CheckClose(theta, before - static_cast<float>(factor) * g);
}

TEST_CASE("async_dn: SaveState and RestoreState continue the same sequence") {
  DelayedNesterov a(Dn(0.7, 0.9, 3, 0.1));
  Eigen::VectorXf theta = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf g = Eigen::Vector2f(0.3f, -0.1f);
  for (int i = 0; i < 4; ++i)
    theta = *a.OnArrival(theta, theta, ResultWithGradient(theta, g), 0).parameters;
  DelayedNesterov b(Dn(0.7, 0.9, 3, 0.1));
  b.RestoreState(a.SaveState());
  const Eigen::VectorXf next_a =
      *a.OnArrival(theta, theta, ResultWithGradient(theta, g), 0).parameters;
  const Eigen::VectorXf next_b =
      *b.OnArrival(theta, theta, ResultWithGradient(theta, g), 0).parameters;
  CHECK(next_a == next_b);
}

std::vector<ClientInfo> Fleet(std::vector<double> speeds) {
  std::vector<ClientInfo> fleet;
  for (size_t i = 0; i < speeds.size(); ++i) {
    ClientInfo c;
    char id[32];
    std::snprintf(id, sizeof(id), "c%zu", i);
    c.id = id;
    c.samples_per_second = speeds[i];
    fleet.push_back(c);
  }
  return fleet;
}

TEST_CASE("dylu: the fastest client gets H and one at half its speed floor of H over 2") {
  const std::vector<ClientInfo> fleet = Fleet({100.0, 50.0, 25.0, 1.0});
  CHECK(DyluLocalSteps(50, 100.0, fleet) == 50);
  CHECK(DyluLocalSteps(51, 50.0, fleet) == 25);
  CHECK(DyluLocalSteps(50, 25.0, fleet) == 12);
  CHECK(DyluLocalSteps(50, 1.0, fleet) == 1);   // never below 1
  CHECK(DyluLocalSteps(50, 0.0, fleet) == 50);  // speed unknown: H
}

TEST_CASE("dylu: a client 4x faster gets 4x the local steps through the strategy") {
  const std::vector<ClientInfo> fleet = Fleet({400.0, 100.0});
  DelayedNesterov dn(Dn(0.7, 0.9, 2, 0.0));
  DelayedNesterovOptions options = Dn(0.7, 0.9, 2, 0.0);
  options.task.recipe.local_steps = 40;
  options.task.dylu = true;
  DelayedNesterov with_dylu(options);
  const train::FitInstructions fast = with_dylu.ConfigureFit(0, fleet[0], 1, fleet);
  const train::FitInstructions slow = with_dylu.ConfigureFit(0, fleet[1], 1, fleet);
  CHECK(fast.recipe.local_steps == 40);
  CHECK(slow.recipe.local_steps == 10);
  // The task seeds differ per client and per task.
  CHECK(fast.recipe.seed != slow.recipe.seed);
  CHECK(with_dylu.ConfigureFit(0, fleet[0], 2, fleet).recipe.seed != fast.recipe.seed);
}

TEST_CASE("staleness weighting: constant is 1 and polynomial is 1 over (1 + s) to the a") {
  StalenessWeight constant;
  CHECK(constant(0) == 1.0);
  CHECK(constant(7) == 1.0);
  StalenessWeight poly{StalenessWeight::Kind::kPolynomial, 0.5};
  CHECK(poly(0) == 1.0);
  CHECK(poly(3) == doctest::Approx(0.5));
  CHECK(poly(8) == doctest::Approx(1.0 / 3.0));
  CHECK_THROWS_AS(ParseStalenessWeight("hinge", "staleness_weight"), ConfigError);
}

TEST_CASE("fedbuff: the model changes every K arrivals by the weighted mean of the buffer") {
  FedBuffOptions o;
  o.task.recipe.local_steps = 1;
  o.buffer_size = 3;
  o.server_lr = 1.0;
  o.weight = {StalenessWeight::Kind::kPolynomial, 1.0};
  FedBuff buff(o);
  const Eigen::VectorXf global = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf base = Eigen::Vector2f(0.0f, 0.0f);
  // Δ_i = θ_i − base; samples 10, 20, 10; staleness 0, 1, 3 → weights 1, 1/2, 1/4.
  train::FitResult a = ResultWithGradient(base, Eigen::Vector2f(-1.0f, 0.0f), 10);
  train::FitResult b = ResultWithGradient(base, Eigen::Vector2f(0.0f, -2.0f), 20);
  train::FitResult c = ResultWithGradient(base, Eigen::Vector2f(-4.0f, -4.0f), 10);
  CHECK_FALSE(buff.OnArrival(global, base, a, 0).parameters.has_value());
  CHECK_FALSE(buff.OnArrival(global, base, b, 1).parameters.has_value());
  const ArrivalOutcome out = buff.OnArrival(global, base, c, 3);
  REQUIRE(out.parameters.has_value());
  // (10·1·(1,0) + 20·½·(0,2) + 10·¼·(4,4)) / 40 = (20/40, 30/40).
  CheckClose(*out.parameters, Eigen::Vector2f(1.5f, 1.75f));
  // The buffer is empty again.
  CHECK_FALSE(buff.OnArrival(global, base, a, 0).parameters.has_value());
  FedBuff restored(o);
  restored.RestoreState(buff.SaveState());
  CHECK_FALSE(restored.OnArrival(global, base, a, 0).parameters.has_value());
  CHECK(restored.OnArrival(global, base, a, 0).parameters.has_value());
}

TEST_CASE("fedasync: each arrival applies its staleness-weighted update at once") {
  FedAsyncOptions o;
  o.task.recipe.local_steps = 1;
  o.server_lr = 0.5;
  o.weight = {StalenessWeight::Kind::kPolynomial, 1.0};
  FedAsync fa(o);
  const Eigen::VectorXf global = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf base = Eigen::Vector2f(0.0f, 0.0f);
  const ArrivalOutcome out =
      fa.OnArrival(global, base, ResultWithGradient(base, Eigen::Vector2f(-4.0f, 2.0f)), 1);
  REQUIRE(out.parameters.has_value());
  CheckClose(*out.parameters, Eigen::Vector2f(2.0f, 0.5f));  // 1 + 0.5·½·(4, −2)
}

TEST_CASE("async registry: names and keys are checked") {
  StrategyConfig config;
  config.recipe.local_steps = 10;
  config.name = "async_dn";
  config.params = {{"outer_lr", 0.5}, {"dylu", true}};
  CHECK(MakeAsyncStrategy(config, 8)->name() == "async_dn");
  config.params = {{"outer_lrr", 0.5}};
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);
  config.name = "fedavg";
  config.params.clear();
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);
  config.name = "fedbuff";
  config.params = {{"buffer_size", int64_t{0}}};
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);
  config.name = "fedasync";
  config.recipe.local_steps = 0;
  config.params = {{"dylu", true}};
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);  // DyLU needs local_steps
  CHECK(IsAsyncStrategy("fedbuff"));
  CHECK_FALSE(IsAsyncStrategy("fedavg"));
}

}  // namespace
}  // namespace edgefl::algorithms
