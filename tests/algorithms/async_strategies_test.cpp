// The asynchronous server rules: Delayed Nesterov (algorithms.md §6 "What to
// test" (a)-(c)), DyLU (d), FedBuff's buffer and staleness weighting, and
// the registry's keys.
#include <cmath>
#include <cstdio>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/async_task.h"
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

std::vector<ClientInfo> AsyncStrategiesFleet(std::vector<double> speeds) {
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
  const std::vector<ClientInfo> fleet = AsyncStrategiesFleet({100.0, 50.0, 25.0, 1.0});
  CHECK(DyluLocalSteps(50, 100.0, fleet) == 50);
  CHECK(DyluLocalSteps(51, 50.0, fleet) == 25);
  CHECK(DyluLocalSteps(50, 25.0, fleet) == 12);
  CHECK(DyluLocalSteps(50, 1.0, fleet) == 1);   // never below 1
  CHECK(DyluLocalSteps(50, 0.0, fleet) == 50);  // speed unknown: H
}

TEST_CASE("dylu: a client 4x faster gets 4x the local steps through the strategy") {
  const std::vector<ClientInfo> fleet = AsyncStrategiesFleet({400.0, 100.0});
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

TEST_CASE("async tasks carry the client's earlier local steps as step_offset") {
  // Entropy-SGD's scoping and any per-step rule go on across a client's
  // tasks, as they do across rounds in sync mode.
  std::vector<ClientInfo> fleet = AsyncStrategiesFleet({400.0, 100.0});
  fleet[1].num_samples = 130;
  AsyncTaskOptions options;
  options.recipe.local_steps = 40;
  options.dylu = true;
  CHECK(MakeAsyncTask(options, 0, fleet[0], 1, fleet).recipe.step_offset == 0);
  CHECK(MakeAsyncTask(options, 3, fleet[0], 3, fleet).recipe.step_offset == 80);
  CHECK(MakeAsyncTask(options, 3, fleet[1], 3, fleet).recipe.step_offset == 20);  // DyLU: 10/task
  // Epochs: epochs·⌈n/batch⌉ steps per earlier task, from the client's size.
  options.dylu = false;
  options.recipe.local_steps = 0;
  options.recipe.epochs = 2;
  options.recipe.batch_size = 32;
  CHECK(MakeAsyncTask(options, 5, fleet[1], 4, fleet).recipe.step_offset == 3 * 2 * 5);
}

TEST_CASE("staleness weighting: constant, polynomial and hinge as FedAsync defines them") {
  StalenessWeight constant;
  CHECK(constant(0) == 1.0);
  CHECK(constant(7) == 1.0);
  StalenessWeight poly{StalenessWeight::Kind::kPolynomial, 0.5};
  CHECK(poly(0) == 1.0);
  CHECK(poly(3) == doctest::Approx(0.5));
  CHECK(poly(8) == doctest::Approx(1.0 / 3.0));
  // Hinge (a = 10, b = 4): flat up to b, then 1 / (a(s − b) + 1).
  StalenessWeight hinge;
  hinge.kind = StalenessWeight::Kind::kHinge;
  hinge.hinge_a = 10.0;
  hinge.hinge_b = 4.0;
  for (int64_t s = 0; s <= 4; ++s)
    CHECK(hinge(s) == 1.0);
  CHECK(hinge(5) == doctest::Approx(1.0 / 11.0));
  CHECK(hinge(6) == doctest::Approx(1.0 / 21.0));
  CHECK(hinge(14) == doctest::Approx(1.0 / 101.0));
  for (const StalenessWeight& w : {constant, poly, hinge}) {
    for (int64_t s = 0; s < 30; ++s)
      CHECK(w(s + 1) <= w(s));  // non-increasing
  }
  CHECK(ParseStalenessWeight("hinge", "staleness_weight") == StalenessWeight::Kind::kHinge);
  CHECK_THROWS_AS(ParseStalenessWeight("exponential", "staleness_weight"), ConfigError);
}

FedBuffOptions Buff(int64_t k, double lr, bool sample_weighting) {
  FedBuffOptions o;
  o.task.recipe.local_steps = 1;
  o.buffer_size = k;
  o.server_lr = lr;
  o.weight = {StalenessWeight::Kind::kPolynomial, 1.0};
  o.sample_weighting = sample_weighting;
  return o;
}

TEST_CASE("fedbuff: every K arrivals the model moves by the server lr times the buffer's mean") {
  FedBuff buff(Buff(3, 0.5, false));
  const Eigen::VectorXf global = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf base = Eigen::Vector2f(0.0f, 0.0f);
  // Δ_i = θ_i − base; samples 10, 20, 10 (ignored by default); staleness 0,
  // 1, 3 → weights 1/(1+s) = 1, 1/2, 1/4.
  train::FitResult a = ResultWithGradient(base, Eigen::Vector2f(-1.0f, 0.0f), 10);
  train::FitResult b = ResultWithGradient(base, Eigen::Vector2f(0.0f, -2.0f), 20);
  train::FitResult c = ResultWithGradient(base, Eigen::Vector2f(-4.0f, -4.0f), 10);
  CHECK_FALSE(buff.OnArrival(global, base, a, 0).parameters.has_value());
  CHECK_FALSE(buff.OnArrival(global, base, b, 1).parameters.has_value());
  const ArrivalOutcome out = buff.OnArrival(global, base, c, 3);
  REQUIRE(out.parameters.has_value());
  // (1·(1,0) + ½·(0,2) + ¼·(4,4)) / 3 = (2/3, 2/3); × η = 0.5 → (1/3, 1/3).
  CheckClose(*out.parameters, Eigen::Vector2f(1.0f + 1.0f / 3.0f, 1.0f + 1.0f / 3.0f));
  CHECK(out.metrics.at("weight") == doctest::Approx(0.25));
  // The buffer is empty again, and a saved half-full buffer resumes.
  CHECK_FALSE(buff.OnArrival(global, base, a, 0).parameters.has_value());
  FedBuff restored(Buff(3, 0.5, false));
  restored.RestoreState(buff.SaveState());
  CHECK_FALSE(restored.OnArrival(global, base, a, 0).parameters.has_value());
  const ArrivalOutcome third = restored.OnArrival(global, base, a, 0);
  REQUIRE(third.parameters.has_value());
  CheckClose(*third.parameters, Eigen::Vector2f(1.5f, 1.0f));  // 1 + 0.5·(1,0)
}

TEST_CASE("fedbuff: sample_weighting weighs the buffer by sample counts instead") {
  FedBuff buff(Buff(3, 1.0, true));
  const Eigen::VectorXf global = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf base = Eigen::Vector2f(0.0f, 0.0f);
  buff.OnArrival(global, base, ResultWithGradient(base, Eigen::Vector2f(-1.0f, 0.0f), 10), 0);
  buff.OnArrival(global, base, ResultWithGradient(base, Eigen::Vector2f(0.0f, -2.0f), 20), 1);
  const ArrivalOutcome out =
      buff.OnArrival(global, base, ResultWithGradient(base, Eigen::Vector2f(-4.0f, -4.0f), 10), 3);
  REQUIRE(out.parameters.has_value());
  // (10·1·(1,0) + 20·½·(0,2) + 10·¼·(4,4)) / 40 = (20/40, 30/40).
  CheckClose(*out.parameters, Eigen::Vector2f(1.5f, 1.75f));
}

FedAsyncOptions Mixing(double alpha, StalenessWeight weight) {
  FedAsyncOptions o;
  o.task.recipe.local_steps = 1;
  o.mixing = alpha;
  o.weight = weight;
  return o;
}

// θ' for global (1, 1) and a client model (3, −1) at staleness s.
Eigen::VectorXf Mixed(const FedAsyncOptions& options, int64_t s) {
  FedAsync fa(options);
  const Eigen::VectorXf global = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf base = Eigen::Vector2f(-7.0f, 9.0f);  // the rule never looks at it
  train::FitResult r;
  r.train.parameters = Eigen::Vector2f(3.0f, -1.0f);
  const ArrivalOutcome out = fa.OnArrival(global, base, r, s);
  REQUIRE(out.parameters.has_value());
  return *out.parameters;
}

TEST_CASE(
    "fedasync: theta becomes (1 - alpha_s) theta + alpha_s theta_k, alpha_s = alpha s(t-tau)") {
  // (1 − α_s)·(1, 1) + α_s·(3, −1) = (1 + 2α_s, 1 − 2α_s).
  auto expected = [](double alpha_s) {
    return Eigen::Vector2f(static_cast<float>(1.0 + 2.0 * alpha_s),
                           static_cast<float>(1.0 - 2.0 * alpha_s));
  };
  const StalenessWeight constant;
  const StalenessWeight poly{StalenessWeight::Kind::kPolynomial, 0.5};
  StalenessWeight hinge;
  hinge.kind = StalenessWeight::Kind::kHinge;  // a = 10, b = 4
  // Constant: α_s = α whatever the staleness.
  CheckClose(Mixed(Mixing(0.5, constant), 0), expected(0.5));
  CheckClose(Mixed(Mixing(0.5, constant), 9), expected(0.5));
  // Polynomial a = 0.5: α_s = α/√(1+s): s = 0 → 0.5, s = 3 → 0.25, s = 8 → 1/6.
  CheckClose(Mixed(Mixing(0.5, poly), 0), expected(0.5));
  CheckClose(Mixed(Mixing(0.5, poly), 3), expected(0.25));
  CheckClose(Mixed(Mixing(0.5, poly), 8), expected(0.5 / 3.0));
  // Hinge a = 10, b = 4: α up to s = 4, then α/11 at 5 and α/21 at 6.
  CheckClose(Mixed(Mixing(0.5, hinge), 4), expected(0.5));
  CheckClose(Mixed(Mixing(0.5, hinge), 5), expected(0.5 / 11.0));
  CheckClose(Mixed(Mixing(0.5, hinge), 6), expected(0.5 / 21.0));
  // α = 1 with a fresh update replaces the model by the client's.
  CheckClose(Mixed(Mixing(1.0, poly), 0), Eigen::Vector2f(3.0f, -1.0f));
  // α outside (0, 1] is refused.
  CHECK_THROWS_AS(FedAsync(Mixing(0.0, constant)), ConfigError);
  CHECK_THROWS_AS(FedAsync(Mixing(1.5, constant)), ConfigError);
}

TEST_CASE(
    "async registry: async_dn keeps the worker's optimizer state by default, the others reset") {
  StrategyConfig config;
  config.recipe.local_steps = 10;
  ClientInfo client;
  client.id = "c0";
  const std::vector<ClientInfo> fleet = {client};
  auto reset_of = [&](const std::string& name, train::ParamMap params) {
    config.name = name;
    config.params = std::move(params);
    return MakeAsyncStrategy(config, 4)->ConfigureFit(0, client, 2, fleet).recipe.reset_optimizer;
  };
  CHECK_FALSE(reset_of("async_dn", {}));  // Liu et al. 2024: inner state stays on the worker
  CHECK(reset_of("async_dn", {{"reset_optimizer", true}}));
  CHECK(reset_of("fedbuff", {}));
  CHECK_FALSE(reset_of("fedbuff", {{"reset_optimizer", false}}));
  CHECK(reset_of("fedasync", {}));
  CHECK_FALSE(reset_of("fedasync", {{"reset_optimizer", false}}));
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
  config.params = {{"mixing", 0.9},
                   {"staleness_weight", std::string("hinge")},
                   {"hinge_a", 4.0},
                   {"hinge_b", 2.0}};
  CHECK(MakeAsyncStrategy(config, 8)->name() == "fedasync");
  config.params = {{"server_lr", 0.5}};  // the delta rule's key: not FedAsync's
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);
  config.params = {{"mixing", 0.0}};
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);
  config.recipe.local_steps = 0;
  config.params = {{"dylu", true}};
  CHECK_THROWS_AS(MakeAsyncStrategy(config, 8), ConfigError);  // DyLU needs local_steps
  CHECK(IsAsyncStrategy("fedbuff"));
  CHECK_FALSE(IsAsyncStrategy("fedavg"));
}

}  // namespace
}  // namespace edgefl::algorithms
