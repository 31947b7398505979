// SAVIC (Chezhegov et al., arXiv 2406.00846): one diagonal scaling D̂,
// shared by all clients, frozen during the local steps, recomputed by the
// server at each synchronisation. The paper's properties: D̂ ≡ I is Local
// SGD bit for bit; D̂ is the same on every client and fixed between syncs;
// H = 1 is synchronous diagonally scaled SGD.
#include "algorithms/savic.h"

#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/local_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "datasets/synthetic.h"
#include "nn/batch.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kSavicSpec = "mlp:60-12-10";

struct Client {
  train::ClientId id;
  datasets::Dataset data;
  std::unique_ptr<train::LocalTrainer> trainer;
};

// SavicClients 0..n-1 of synthetic(1, 1), each with its own (non-IID) data.
std::vector<Client> SavicClients(size_t n) {
  datasets::SyntheticOptions options;
  options.num_clients = n;
  options.max_samples_per_client = 150;
  const datasets::SyntheticFederated fed = datasets::GenerateSynthetic(options);
  std::vector<Client> clients(n);
  for (size_t k = 0; k < n; ++k) {
    clients[k].id = "sim-" + std::to_string(k);
    clients[k].data = datasets::Subset(fed.train, fed.train_partition.clients[k]);
    clients[k].trainer = std::make_unique<train::LocalTrainer>(kSavicSpec, clients[k].data);
  }
  return clients;
}

std::vector<ClientInfo> SavicCohort(const std::vector<Client>& clients) {
  std::vector<ClientInfo> cohort(clients.size());
  for (size_t k = 0; k < clients.size(); ++k) {
    cohort[k].id = clients[k].id;
    cohort[k].num_samples = clients[k].data.size();
  }
  return cohort;
}

Eigen::VectorXf Initial() {
  nn::Model model(kSavicSpec);
  model.Initialize(3);
  return model.parameters();
}

FedAvgOptions Base(const std::string& name, float lr, int64_t steps, int batch) {
  FedAvgOptions base;
  base.name = name;
  base.recipe.optimizer.name = "sgd";
  base.recipe.optimizer.learning_rate = lr;
  base.recipe.local_steps = steps;
  base.recipe.batch_size = batch;
  base.recipe.measure_loss = false;
  base.seed = 9;
  return base;
}

// One round as the simulator runs it: configure, train every client from
// `global` as instructed, aggregate. Returns the new global model; the
// instructions given go to *given.
Eigen::VectorXf Round(Strategy& strategy, int64_t round, const Eigen::VectorXf& global,
                      std::vector<Client>& clients,
                      std::vector<train::FitInstructions>* given = nullptr) {
  const std::vector<train::FitInstructions> instructions =
      strategy.ConfigureFit(round, SavicCohort(clients));
  std::vector<train::FitResult> results;
  for (size_t k = 0; k < clients.size(); ++k) {
    const train::FitInstructions& in = instructions[k];
    auto objective = MakeLocalObjective(in.local, &clients[k].data);
    auto order = MakeDataOrder(in.local, &in.recipe);
    train::FitResult r;
    r.client = clients[k].id;
    r.train = clients[k].trainer->Train(
        std::span<const float>(global.data(), static_cast<size_t>(global.size())), in.recipe,
        objective.get(), order.get(), &in.preconditioning);
    results.push_back(std::move(r));
  }
  if (given != nullptr) *given = instructions;
  const AggregateOutcome out = strategy.AggregateFit(round, global, results, {});
  REQUIRE(out.parameters.has_value());
  CHECK(out.rejected.empty());
  return *out.parameters;
}

train::FitResult FakeResult(const std::string& id, Eigen::VectorXf parameters,
                            Eigen::VectorXf statistic, size_t samples) {
  train::FitResult r;
  r.client = id;
  r.train.parameters = std::move(parameters);
  r.train.scaling_statistic = std::move(statistic);
  r.train.num_samples = samples;
  return r;
}

// A dynamic vector of `values` (fixed-size Eigen vectors trip GCC's
// array-bounds warning under AVX-512).
Eigen::VectorXf V(std::initializer_list<float> values) {
  Eigen::VectorXf v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (float x : values)
    v[i++] = x;
  return v;
}

SavicOptions SavicTestOptions(SavicEstimator estimator, double beta, double eps) {
  SavicOptions o;
  o.estimator = estimator;
  o.beta = beta;
  o.epsilon = eps;
  o.alpha = eps;
  return o;
}

}  // namespace

TEST_CASE("SAVIC: the scaling of each estimator on hand values") {
  const Eigen::VectorXf d = V({4.0f, 0.25f, 0.0f});
  CHECK(SavicScaling(SavicTestOptions(SavicEstimator::kAdam, 0.9, 0.5), d) ==
        V({2.5f, 1.0f, 0.5f}));
  CHECK(SavicScaling(SavicTestOptions(SavicEstimator::kRmsProp, 0.9, 0.5), d) ==
        V({4.5f, 0.75f, 0.5f}));
  CHECK(SavicScaling(SavicTestOptions(SavicEstimator::kOasis, 0.9, 1e-3), V({-0.5f, 1e-5f, 2}))
            .isApprox(V({0.5f, 1e-3f, 2.0f})));
  const Eigen::VectorXf s = V({2.5f, -1.0f});
  CHECK(SavicCurvature(SavicEstimator::kAdam, s) == V({6.25f, 1}));
  CHECK(SavicCurvature(SavicEstimator::kRmsProp, s) == V({6.25f, 1}));
  CHECK(SavicCurvature(SavicEstimator::kOasis, s) == s);
}

TEST_CASE("SAVIC: the server's D and D̂ over two synchronisations, by hand") {
  Savic savic(Base("savic", 0.1f, 1, 8), SavicTestOptions(SavicEstimator::kAdam, 0.5, 0.5));
  const Eigen::VectorXf w = V({1.0f, 1.0f});
  const std::vector<ClientInfo> cohort = {{"a"}, {"b"}};

  // Round 1: no statistics yet, so no diagonal (the identity); the clients
  // are asked for their gradient at the model they receive.
  for (const train::FitInstructions& in : savic.ConfigureFit(1, cohort)) {
    CHECK(!in.preconditioning.has_diagonal());
    CHECK(in.preconditioning.statistic == train::ScalingStatistic::kGradient);
  }
  // s̄ = (1·[1, 2] + 3·[3, −2]) / 4 = [2.5, −1]; H = s̄² = [6.25, 1]; the
  // first H is D; D̂ = √D + 0.5 = [3, 1.5].
  std::vector<train::FitResult> results = {FakeResult("a", V({0, 4}), V({1, 2}), 1),
                                           FakeResult("b", V({4, 0}), V({3, -2}), 3)};
  AggregateOutcome out = savic.AggregateFit(1, w, results, {});
  CHECK(*out.parameters == V({3.0f, 1.0f}));  // FedAvg's mean
  CHECK(savic.curvature_average() == V({6.25f, 1.0f}));
  REQUIRE(savic.scaling() != nullptr);
  CHECK(*savic.scaling() == V({3.0f, 1.5f}));
  CHECK(out.metrics.at("num_statistics") == 2.0);
  CHECK(out.metrics.at("scaling_min") == 1.5);
  CHECK(out.metrics.at("scaling_max") == 3.0);

  // Round 2: every client gets that D̂. Zero statistics: H = 0, D = 0.5·D.
  for (const train::FitInstructions& in : savic.ConfigureFit(2, cohort)) {
    REQUIRE(in.preconditioning.has_diagonal());
    CHECK(*in.preconditioning.diagonal == V({3.0f, 1.5f}));
  }
  results[0].train.scaling_statistic.setZero();
  results[1].train.scaling_statistic.setZero();
  savic.AggregateFit(2, w, results, {});
  CHECK(savic.curvature_average() == V({3.125f, 0.5f}));
  CHECK(savic.scaling()->isApprox(V({std::sqrt(3.125f) + 0.5f, std::sqrt(0.5f) + 0.5f})));
}

TEST_CASE("SAVIC: D̂ ≡ I gives Local SGD (FedAvg) bit for bit") {
  // Round 1 has no statistics, so D̂ = I; later rounds are forced to an
  // explicit D̂ = 1 through the state, so the explicit-diagonal path runs.
  std::vector<Client> a = SavicClients(3), b = SavicClients(3);
  FedAvg local_sgd(Base("fedavg", 0.1f, 6, 16));
  Savic savic(Base("savic", 0.1f, 6, 16), SavicTestOptions(SavicEstimator::kAdam, 0.9, 1e-3));
  Eigen::VectorXf x = Initial(), y = Initial();
  for (int64_t round = 1; round <= 3; ++round) {
    std::vector<train::FitInstructions> given;
    x = Round(local_sgd, round, x, a);
    y = Round(savic, round, y, b, &given);
    CHECK(given[0].preconditioning.has_diagonal() == (round > 1));
    CHECK(y == x);
    Eigen::VectorXf state = savic.SaveState();
    const Eigen::Index n = x.size();
    state.segment(3 + n, n).setOnes();  // D̂ = 1, D kept
    savic.RestoreState(state);
  }
  CHECK(x != Initial());
}

TEST_CASE("SAVIC: D̂ is the same on every client and fixed between synchronisations") {
  std::vector<Client> clients = SavicClients(4);
  Savic savic(Base("savic", 0.02f, 5, 16), SavicTestOptions(SavicEstimator::kAdam, 0.9, 1e-2));
  Eigen::VectorXf x = Round(savic, 1, Initial(), clients);
  for (int64_t round = 2; round <= 3; ++round) {
    const std::shared_ptr<const Eigen::VectorXf> before = savic.scaling();
    REQUIRE(before != nullptr);
    const Eigen::VectorXf copy = *before;
    std::vector<train::FitInstructions> given;
    const Eigen::VectorXf next = Round(savic, round, x, clients, &given);
    for (const train::FitInstructions& in : given) {
      // One D̂ object for the whole cohort, equal to the server's.
      CHECK(in.preconditioning.diagonal == before);
    }
    // Training all clients left it as it was; only the synchronisation
    // (AggregateFit) replaced the server's D̂.
    CHECK(*before == copy);
    CHECK(savic.scaling() != before);
    CHECK(*savic.scaling() != copy);
    CHECK((copy.array() >= 1e-2f).all());  // D̂ ≥ e
    x = next;
  }
}

TEST_CASE("SAVIC: H = 1 is synchronous diagonally scaled SGD") {
  // Each client takes one full-batch step (sequential order) from x̄ with D̂;
  // the mean of x̄ − γ D̂⁻¹ g_k is x̄ − γ D̂⁻¹ ḡ. The reference computes that
  // directly, with D ← ḡ² (first), βD + (1−β)ḡ² and D̂ = √D + e from the
  // previous step's mean gradient.
  std::vector<Client> clients = SavicClients(2);
  const float lr = 0.05f, beta = 0.6f, eps = 0.05f;
  FedAvgOptions base = Base("savic", lr, 1, 100000);
  base.local.data_order = "sequential";
  Savic savic(base, SavicTestOptions(SavicEstimator::kAdam, beta, eps));

  const double n0 = static_cast<double>(clients[0].data.size());
  const double n1 = static_cast<double>(clients[1].data.size());
  const float p0 = static_cast<float>(n0 / (n0 + n1)), p1 = static_cast<float>(n1 / (n0 + n1));
  nn::Model model(kSavicSpec);
  Eigen::VectorXf x = Initial(), reference = Initial(), d, d_hat;
  for (int64_t round = 1; round <= 4; ++round) {
    Eigen::VectorXf mean_g = Eigen::VectorXf::Zero(x.size());
    for (size_t k = 0; k < 2; ++k) {
      model.SetParameters(std::span<const float>(reference.data(), reference.size()));
      const datasets::Dataset& data = clients[k].data;
      model.LossAndGradient(nn::ColumnBlock(data.features, 0, data.features.rows()), data.labels);
      mean_g += (k == 0 ? p0 : p1) * model.gradients();
    }
    reference -= d_hat.size() == 0 ? Eigen::VectorXf(lr * mean_g)
                                   : Eigen::VectorXf(lr * mean_g.cwiseQuotient(d_hat));
    d = d.size() == 0 ? Eigen::VectorXf(mean_g.cwiseAbs2())
                      : Eigen::VectorXf(beta * d + (1 - beta) * mean_g.cwiseAbs2());
    d_hat = (d.array().sqrt() + eps).matrix();

    x = Round(savic, round, x, clients);
    CAPTURE(round);
    CHECK((x - reference).cwiseAbs().maxCoeff() <= 2e-5f);
    CHECK(((*savic.scaling() - d_hat).cwiseAbs().array() / d_hat.array()).maxCoeff() <= 1e-3f);
  }
  // The scaling mattered: plain SGD would be elsewhere.
  CHECK((d_hat.array() != 1.0f).any());
}

TEST_CASE("SAVIC: a result without a usable statistic is rejected with a reason") {
  Savic savic(Base("savic", 0.1f, 1, 8), SavicTestOptions(SavicEstimator::kOasis, 0.9, 1e-3));
  const Eigen::VectorXf w = V({0, 0});
  const Eigen::VectorXf nan_stat = V({1.0f, std::nanf("")});
  const std::vector<train::FitResult> results = {
      FakeResult("good", V({2, 2}), V({-4, 1e-5f}), 1),
      FakeResult("none", V({8, 8}), Eigen::VectorXf(), 1),
      FakeResult("nan", V({8, 8}), nan_stat, 1)};
  const AggregateOutcome out = savic.AggregateFit(1, w, results, {});
  REQUIRE(out.rejected.size() == 2);
  CHECK(out.rejected[0].client == "none");
  CHECK(out.rejected[0].reason == "scaling statistic from none has 0 values, expected 2");
  CHECK(out.rejected[1].reason == "scaling statistic from nan contains NaN or Inf");
  CHECK(*out.parameters == V({2, 2}));
  // OASIS: D = s̄ (signed), D̂ = max(α, |D|).
  CHECK(*savic.scaling() == V({4.0f, 1e-3f}));
  for (const train::FitInstructions& in : savic.ConfigureFit(2, std::vector<ClientInfo>{{"x"}})) {
    CHECK(in.preconditioning.statistic == train::ScalingStatistic::kHutchinson);
  }
}

TEST_CASE("SAVIC: SaveState and RestoreState resume D, D̂ and the server optimizer exactly") {
  FedAvgOptions base = Base("savic", 0.1f, 1, 8);
  base.server.kind = ServerOptimizerKind::kMomentum;
  base.server.momentum = 0.9;
  Savic first(base, SavicTestOptions(SavicEstimator::kRmsProp, 0.7, 1e-2));
  CHECK(first.SaveState().size() == 0);  // nothing yet

  const Eigen::VectorXf w = V({1, 2, 3});
  const std::vector<train::FitResult> results = {
      FakeResult("a", V({0, 1, 2}), V({0.5f, -1, 2}), 2),
      FakeResult("b", V({1, 1, 1}), V({0.25f, 3, 0}), 5)};
  Eigen::VectorXf global = *first.AggregateFit(1, w, results, {}).parameters;
  global = *first.AggregateFit(2, global, results, {}).parameters;

  const Eigen::VectorXf state = first.SaveState();
  // [has_D, 0, n, D, D̂, t, v] (momentum keeps [t, v]).
  REQUIRE(state.size() == 3 + 2 * 3 + 1 + 3);
  CHECK(state[0] == 1.0f);
  CHECK(state[1] == 0.0f);
  CHECK(state[2] == 3.0f);
  CHECK(state.segment(3, 3) == first.curvature_average());
  CHECK(state.segment(6, 3) == *first.scaling());
  CHECK(state[9] == 2.0f);

  Savic second(base, SavicTestOptions(SavicEstimator::kRmsProp, 0.7, 1e-2));
  second.RestoreState(state);
  CHECK(second.curvature_average() == first.curvature_average());
  CHECK(*second.scaling() == *first.scaling());
  CHECK(second.SaveState() == state);
  const AggregateOutcome a = first.AggregateFit(3, global, results, {});
  const AggregateOutcome b = second.AggregateFit(3, global, results, {});
  CHECK(*a.parameters == *b.parameters);
  CHECK(*first.scaling() == *second.scaling());

  second.RestoreState(Eigen::VectorXf());
  CHECK(second.scaling() == nullptr);
  CHECK_THROWS_WITH_AS(second.RestoreState(V({1, 0, 5})),
                       doctest::Contains("savic: a state of 3 values does not fit"), ConfigError);
  CHECK_THROWS_AS(second.RestoreState(V({7, 0})), ConfigError);
}

TEST_CASE("SAVIC: the registry builds it and names each bad key") {
  StrategyConfig config;
  config.name = "savic";
  config.recipe.optimizer.name = "sgd";
  const std::unique_ptr<Strategy> built = MakeStrategy(config);
  const auto* savic = dynamic_cast<const Savic*>(built.get());
  REQUIRE(savic != nullptr);
  CHECK(savic->name() == "savic");
  CHECK(savic->options().estimator == SavicEstimator::kAdam);
  CHECK(savic->options().beta == 0.99);
  CHECK(savic->options().epsilon == 1e-3);

  config.params = {{"savic_estimator", std::string("oasis")}, {"savic_alpha", 0.01}};
  const std::unique_ptr<Strategy> oasis = MakeStrategy(config);
  CHECK(dynamic_cast<const Savic*>(oasis.get())->options().alpha == 0.01);

  const auto refused = [&](train::ParamMap params, const std::string& needle) {
    StrategyConfig c = config;
    c.params = std::move(params);
    CAPTURE(needle);
    CHECK_THROWS_WITH_AS(MakeStrategy(c), doctest::Contains(needle.c_str()), ConfigError);
  };
  refused({{"savic_eps", -1e-8}}, "savic_eps");
  refused({{"savic_eps", 0.0}}, "savic_eps must be > 0");
  refused({{"savic_estimator", std::string("adagrad")}},
          "savic_estimator: unknown estimator \"adagrad\" (accepted: adam, rmsprop, oasis)");
  refused({{"savic_beta", 1.0}}, "savic_beta must be in [0, 1)");
  refused({{"savic_beta", -0.5}}, "savic_beta");
  refused({{"savic_estimator", std::string("oasis")}, {"savic_alpha", -1.0}}, "savic_alpha");
  refused({{"savic_alpha", 0.01}}, "savic_alpha");  // adam has no α: an unknown key here

  StrategyConfig adam = config;
  adam.params = {};
  adam.recipe.optimizer.name = "adam";
  CHECK_THROWS_WITH_AS(MakeStrategy(adam), doctest::Contains("optimizer must be sgd"), ConfigError);
}

}  // namespace edgefl::algorithms
