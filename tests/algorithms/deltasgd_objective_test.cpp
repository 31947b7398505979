#include "algorithms/deltasgd_objective.h"

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kDeltasgdObjectiveSpec = "mlp:60-16-10";

// Records, for every step, η and θ before the update and η, a, d after.
struct StepRecord {
  double eta_before, theta_before, eta, a, d;
};

class Recorder final : public train::LocalObjective {
 public:
  explicit Recorder(DeltaSgdObjective& inner) : inner_(inner) {}
  void BeginRound(const nn::Model& model, Rng& rng) override {
    records.clear();
    inner_.BeginRound(model, rng);
  }
  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override {
    return inner_.LossAndGradient(model, batch, rng);
  }
  void BeforeStep(nn::Model& model, const train::Batch& batch, nn::Optimizer& optimizer) override {
    StepRecord r{inner_.learning_rate(), inner_.theta(), 0, 0, 0};
    inner_.BeforeStep(model, batch, optimizer);
    r.eta = inner_.learning_rate();
    r.a = inner_.last_a();
    r.d = inner_.last_d();
    CHECK(optimizer.learning_rate() == static_cast<float>(r.eta));
    records.push_back(r);
  }
  std::vector<StepRecord> records;

 private:
  DeltaSgdObjective& inner_;
};

// Δ-SGD on f(x) = ½·c·L‖x‖² with the full gradient g = cLx, in double.
// Returns η per step; *norms (if not null) receives a per step.
std::vector<double> QuadraticStepSizes(const DeltaSgdOptions& options, double curvature, int steps,
                                       std::vector<double>* norms = nullptr) {
  std::vector<double> x = {1.0, -2.0, 0.5};
  std::vector<double> x_prev = x;
  double eta = options.eta0;
  double theta = options.theta0;
  std::vector<double> etas;
  for (int k = 0; k < steps; ++k) {
    double a2 = 0.0;
    for (size_t i = 0; i < x.size(); ++i)
      a2 += (x[i] - x_prev[i]) * (x[i] - x_prev[i]);
    const double a = std::sqrt(a2);
    const double d = curvature * a;  // ‖∇f(x) − ∇f(x_prev)‖ = cL‖x − x_prev‖
    if (norms != nullptr) norms->push_back(a);
    const double eta_new = DeltaSgdNextStepSize(options, eta, theta, a, d);
    theta = eta_new / eta;
    eta = eta_new;
    x_prev = x;
    for (double& v : x)
      v -= eta * curvature * v;
    etas.push_back(eta);
  }
  return etas;
}

}  // namespace

TEST_CASE("Delta-SGD first step uses eta0 times the growth factor") {
  DeltaSgdOptions options;
  const auto etas = QuadraticStepSizes(options, 4.0, 1);
  CHECK(etas[0] == doctest::Approx(0.2 * std::sqrt(1.1)));

  const datasets::Dataset data = testing::Tabular();
  DeltaSgdObjective objective(options);
  Recorder recorder(objective);
  train::LocalTrainer trainer(kDeltasgdObjectiveSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(0.01f);
  recipe.local_steps = 1;
  trainer.Train(testing::Span(testing::InitialParameters(kDeltasgdObjectiveSpec)), recipe,
                &recorder);
  REQUIRE(recorder.records.size() == 1);
  CHECK(recorder.records[0].a == 0.0);
  CHECK(recorder.records[0].eta == doctest::Approx(0.2 * std::sqrt(1.1)));
}

TEST_CASE("Delta-SGD on a quadratic takes min of the growth and one over L") {
  DeltaSgdOptions options;
  options.epsilon = 0.0;
  for (const double curvature : {2.0, 4.0, 40.0}) {
    CAPTURE(curvature);
    std::vector<double> norms;
    const auto etas = QuadraticStepSizes(options, curvature, 30, &norms);
    double eta = etas[0];
    double theta = eta / options.eta0;
    int bounded = 0;
    for (size_t k = 1; k < etas.size(); ++k) {
      // a/d = 1/L while the iterate moves; once it sits exactly at the
      // minimum (a = 0) η only grows.
      const double grown = std::sqrt(1.0 + options.delta * theta) * eta;
      const double expected = norms[k] > 0.0 ? std::min(grown, 1.0 / curvature) : grown;
      if (norms[k] > 0.0 && expected < grown) ++bounded;
      CHECK(etas[k] == doctest::Approx(expected).epsilon(1e-12));
      theta = etas[k] / eta;
      eta = etas[k];
    }
    CHECK(bounded > 0);
  }
  // Scaling f by c scales the curvature bound by 1/c.
  const auto base = QuadraticStepSizes(options, 30.0, 2);
  const auto scaled = QuadraticStepSizes(options, 4.0 * 30.0, 2);
  CHECK(base[1] == doctest::Approx(1.0 / 30.0));
  CHECK(scaled[1] == doctest::Approx(base[1] / 4.0));
}

TEST_CASE("Delta-SGD step size never exceeds its bound and grows at most by the growth factor") {
  const datasets::Dataset data = testing::Tabular();
  DeltaSgdOptions options;
  DeltaSgdObjective objective(options);
  Recorder recorder(objective);
  train::LocalTrainer trainer(kDeltasgdObjectiveSpec, data);
  const auto result =
      trainer.Train(testing::Span(testing::InitialParameters(kDeltasgdObjectiveSpec)),
                    testing::SgdRecipe(0.01f, 2), &recorder);
  REQUIRE(recorder.records.size() == static_cast<size_t>(result.steps));
  int bounded = 0;
  for (const auto& r : recorder.records) {
    const double growth = std::sqrt(1.0 + options.delta * r.theta_before);
    CHECK(r.eta <= growth * r.eta_before + options.epsilon + 1e-12);
    if (r.a > 0.0 && r.d > 0.0) {
      CHECK(r.eta <= options.gamma * r.a / (2.0 * r.d) + options.epsilon + 1e-12);
      if (r.eta < growth * r.eta_before) ++bounded;
    }
  }
  CHECK(bounded > 0);  // the curvature bound was active at some step
  CHECK(result.loss_after < result.loss_before);
}

TEST_CASE("Delta-SGD resets its state every round") {
  const datasets::Dataset data = testing::Tabular();
  DeltaSgdObjective objective(DeltaSgdOptions{});
  Recorder recorder(objective);
  train::LocalTrainer trainer(kDeltasgdObjectiveSpec, data);
  const Eigen::VectorXf global = testing::InitialParameters(kDeltasgdObjectiveSpec);
  const auto first = trainer.Train(testing::Span(global), testing::SgdRecipe(0.01f), &recorder);
  const auto first_records = recorder.records;
  const auto second = trainer.Train(testing::Span(global), testing::SgdRecipe(0.01f), &recorder);
  CHECK(first.parameters == second.parameters);
  REQUIRE(recorder.records.size() == first_records.size());
  CHECK(recorder.records[0].eta_before == 0.2);
  CHECK(recorder.records.back().eta == first_records.back().eta);
}

TEST_CASE("Delta-SGD restores parameters and gradients exactly around g_prev") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kDeltasgdObjectiveSpec);
  model.Initialize(3);
  const testing::FirstRows rows(32);
  const train::Batch batch = rows.Get(data);
  auto optimizer = train::MakeOptimizer(train::OptimizerConfig{}, 1);
  DeltaSgdObjective objective(DeltaSgdOptions{});
  Rng rng(1);
  objective.BeginRound(model, rng);
  for (int step = 0; step < 3; ++step) {
    objective.LossAndGradient(model, batch, rng);
    const Eigen::VectorXf params = model.parameters();
    const Eigen::VectorXf grads = model.gradients();
    objective.BeforeStep(model, batch, *optimizer);
    CHECK(model.parameters() == params);
    CHECK(model.gradients() == grads);
    if (step > 0) {
      CHECK(objective.last_a() > 0.0);
      CHECK(objective.last_d() > 0.0);
    }
    optimizer->Step(model.parameters(), model.gradients());
  }
}

TEST_CASE("Delta-SGD rejects out-of-range options naming them") {
  DeltaSgdOptions options;
  options.eta0 = 0.0;
  CHECK_THROWS_WITH_AS(DeltaSgdObjective{options}, doctest::Contains("deltasgd: eta0"),
                       ConfigError);
  options = DeltaSgdOptions{};
  options.delta = -1.0;
  CHECK_THROWS_WITH_AS(DeltaSgdObjective{options}, doctest::Contains("delta"), ConfigError);
}

}  // namespace edgefl::algorithms
