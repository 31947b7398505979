#include "algorithms/fedbr_objective.h"

#include <cmath>
#include <cstring>
#include <string_view>

#include <doctest/doctest.h>

#include "algorithms/local_registry.h"
#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kSpec = "mlp:60-16-10";

FedBrOptions Off() {
  FedBrOptions options;
  options.mu = 0.0;
  options.lambda = 0.0;
  options.mixup_alpha = 0.0;
  options.decorr = 0.0;
  return options;
}

FedBrObjective Make(const FedBrOptions& options, const datasets::Dataset& data) {
  return FedBrObjective(
      options, FedBrObjective::BuildPseudoDataPool(data, options.pool_size, options.pool_images,
                                                   options.pool_seed));
}

// FNV-1a of the pool's bytes.
uint64_t Hash(const Eigen::MatrixXf& m) {
  uint64_t h = 1469598103934665603ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(m.data());
  for (size_t i = 0; i < sizeof(float) * static_cast<size_t>(m.size()); ++i) {
    h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return h;
}

}  // namespace

TEST_CASE("FedBR with both components mixup and decorr off equals plain cross-entropy training") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kSpec);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 2);
  recipe.optimizer.momentum = 0.9f;
  train::LocalTrainer plain(kSpec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);

  FedBrObjective fedbr = Make(Off(), data);
  train::LocalTrainer trainer(kSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, &fedbr);
  CHECK(result.parameters == expected.parameters);  // bit for bit
}

TEST_CASE("FedBR contrastive loss with e1 equal to e2 and orthogonal to e3") {
  const double tau1 = 2.0;
  const double tau2 = 2.0;
  Eigen::MatrixXf e1(3, 2);
  e1 << 1, 0, 0, 2, 0, 0;
  Eigen::MatrixXf e3(3, 2);
  e3 << 0, 3, 4, 0, 0, 1;
  const double expected = -std::log(std::exp(tau1) / (std::exp(tau1) + 1.0));
  CHECK(FedBrObjective::ContrastiveLoss(e1, e1, e3, tau1, tau2) ==
        doctest::Approx(expected).epsilon(1e-6));
  // Swapping the roles: e1 = e3 and e1 ⊥ e2 gives −log(1/(1 + e^{τ2})).
  CHECK(FedBrObjective::ContrastiveLoss(e1, e3, e1, tau1, tau2) ==
        doctest::Approx(std::log(1.0 + std::exp(tau2))).epsilon(1e-6));
}

TEST_CASE("FedBR pseudo-targets are distributions mixing uniform and one-hot") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kSpec);
  model.Initialize(3);
  FedBrObjective fedbr = Make(FedBrOptions{}, data);
  Rng rng(1);
  fedbr.BeginRound(model, rng);
  const testing::FirstRows rows(32);
  fedbr.LossAndGradient(model, rows.Get(data), rng);
  const Eigen::MatrixXf& q = fedbr.last_pseudo_targets();
  REQUIRE(q.cols() == 32);
  REQUIRE(q.rows() == 10);
  for (Eigen::Index i = 0; i < q.cols(); ++i) {
    CHECK(q.col(i).sum() == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(q.col(i).maxCoeff() == doctest::Approx(0.55).epsilon(1e-6));
    CHECK(q.col(i).minCoeff() == doctest::Approx(0.05).epsilon(1e-6));
  }
}

TEST_CASE("FedBR pseudo-data pool hash is identical across rounds and clients") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::MatrixXf pool = FedBrObjective::BuildPseudoDataPool(data, 32, 10, 0);
  CHECK(pool.rows() == 60);
  CHECK(pool.cols() == 32);
  // Two clients (objectives) built from the same source over two rounds.
  nn::Model model(kSpec);
  model.Initialize(3);
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  auto client_a = MakeLocalObjective(local, &data);
  auto client_b = MakeLocalObjective(local, &data);
  Rng rng(1);
  for (int round = 0; round < 2; ++round) {
    client_a->BeginRound(model, rng);
    client_b->BeginRound(model, rng);
    CHECK(Hash(dynamic_cast<FedBrObjective&>(*client_a).pool()) == Hash(pool));
    CHECK(Hash(dynamic_cast<FedBrObjective&>(*client_b).pool()) == Hash(pool));
  }
  // Each pseudo-sample is a mean of 10 images: within their range.
  CHECK(pool.maxCoeff() <= data.features.maxCoeff());
  CHECK(pool.minCoeff() >= data.features.minCoeff());
  // Another seed or another client's data gives another pool.
  CHECK(Hash(FedBrObjective::BuildPseudoDataPool(data, 32, 10, 1)) != Hash(pool));
  const datasets::Dataset other = testing::Tabular(3, 200, 2);
  CHECK(Hash(FedBrObjective::BuildPseudoDataPool(other, 32, 10, 0)) != Hash(pool));
}

TEST_CASE("FedBR adversarial head step does not decrease the contrastive loss") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kSpec);
  model.Initialize(3);
  FedBrOptions options;
  options.head_lr = 1e-3;
  FedBrObjective fedbr = Make(options, data);
  Rng rng(2);
  fedbr.BeginRound(model, rng);
  const testing::FirstRows rows(32);
  const Eigen::VectorXf head_before = fedbr.head();
  for (int step = 0; step < 5; ++step) {
    fedbr.LossAndGradient(model, rows.Get(data), rng);
    CHECK(fedbr.last_contrastive_after() >= fedbr.last_contrastive_before());
  }
  CHECK(fedbr.head() != head_before);
  // A new round re-initialises P from the shared head_seed.
  fedbr.BeginRound(model, rng);
  CHECK(fedbr.head() == head_before);
}

TEST_CASE("FedBR caches the global features for the whole round") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kSpec);
  FedBrObjective fedbr = Make(FedBrOptions{}, data);
  train::LocalTrainer trainer(kSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f);
  recipe.local_steps = 1;
  trainer.Train(testing::Span(global), recipe, &fedbr);
  const Eigen::MatrixXf after_one = fedbr.global_features();
  recipe.local_steps = 10;
  trainer.Train(testing::Span(global), recipe, &fedbr);
  // Same global model, same first draw: the same z_g after ten steps.
  CHECK(fedbr.global_features() == after_one);
  CHECK(after_one.cols() == 32);
  CHECK(after_one.rows() == 16);
}

TEST_CASE("FedBR gradients match finite differences of its loss") {
  const datasets::Dataset data = testing::Tabular();
  const testing::FirstRows rows(24);  // B != M: pairing i mod B
  const train::Batch batch = rows.Get(data);
  struct Case {
    const char* name;
    double mu, lambda, mixup, decorr;
  };
  for (const Case& c :
       {Case{"mixup", 0, 0, 0.2, 0}, Case{"classifier", 0, 1, 0, 0}, Case{"features", 2, 0, 0, 0},
        Case{"decorr", 0, 0, 0, 5}, Case{"all", 0.5, 1, 0.2, 0.1}}) {
    CAPTURE(c.name);
    nn::Model model(kSpec);
    model.Initialize(4);
    FedBrOptions options;
    options.mu = c.mu;
    options.lambda = c.lambda;
    options.mixup_alpha = c.mixup;
    options.decorr = c.decorr;
    options.head_lr = 0.0;  // keep P fixed across the evaluations
    FedBrObjective fedbr = Make(options, data);
    Rng rng(1);
    fedbr.BeginRound(model, rng);
    testing::LossWithSeed(fedbr, model, batch, 3);  // caches z_g at these weights
    for (const uint64_t seed : {1u, 2u}) {
      const Eigen::VectorXf direction = testing::RandomDirection(model.num_parameters(), seed);
      const auto [analytic, numeric] =
          testing::DirectionalCheck(fedbr, model, batch, direction, 3, 1e-3f);
      CHECK(analytic == doctest::Approx(numeric).epsilon(0.03).scale(0.01));
    }
  }
}

TEST_CASE("FedDecorr gradient matches finite differences") {
  Rng rng(3);
  Eigen::MatrixXf f(5, 8);
  for (Eigen::Index i = 0; i < f.size(); ++i)
    f.data()[i] = static_cast<float>(rng.Normal());
  f.row(1) = 0.7f * f.row(0) + 0.3f * f.row(1);  // correlated features
  Eigen::MatrixXf grad;
  const double loss = FedBrObjective::FedDecorrLoss(f, &grad);
  CHECK(loss > 1.0 / 5.0);  // above the identity matrix's 1/d
  const float h = 1e-3f;
  for (const auto& [r, c] : {std::pair{0, 0}, std::pair{1, 3}, std::pair{4, 7}}) {
    Eigen::MatrixXf plus = f;
    Eigen::MatrixXf minus = f;
    plus(r, c) += h;
    minus(r, c) -= h;
    const double numeric = (FedBrObjective::FedDecorrLoss(plus, nullptr) -
                            FedBrObjective::FedDecorrLoss(minus, nullptr)) /
                           (2.0 * h);
    CHECK(grad(r, c) == doctest::Approx(numeric).epsilon(0.02).scale(0.01));
  }
  Eigen::MatrixXf one(5, 1);
  one.setOnes();
  CHECK(FedBrObjective::FedDecorrLoss(one, &grad) == 0.0);
}

TEST_CASE("FedBR with its defaults trains in the LocalTrainer") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kSpec);
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  auto fedbr = MakeLocalObjective(local, &data);
  train::LocalTrainer trainer(kSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 3);
  recipe.optimizer.momentum = 0.9f;
  const auto result = trainer.Train(testing::Span(global), recipe, fedbr.get());
  CHECK(result.loss_after < result.loss_before - 0.1);
  // Deterministic given the seed.
  const auto again = trainer.Train(testing::Span(global), recipe, fedbr.get());
  CHECK(again.parameters == result.parameters);
}

TEST_CASE("FedBR rejects models without a feature extractor and bad options") {
  const datasets::Dataset data = testing::Tabular();
  FedBrObjective fedbr = Make(FedBrOptions{}, data);
  nn::Model logreg("logreg:60-10");
  Rng rng(1);
  CHECK_THROWS_WITH_AS(fedbr.BeginRound(logreg, rng), doctest::Contains("feature extractor"),
                       ConfigError);
  nn::Model wrong_input("mlp:30-8-10");
  CHECK_THROWS_WITH_AS(fedbr.BeginRound(wrong_input, rng), doctest::Contains("pool"), ConfigError);
  FedBrOptions options;
  options.tau1 = 0.0;
  CHECK_THROWS_WITH_AS(Make(options, data), doctest::Contains("fedbr: tau1"), ConfigError);
}

}  // namespace edgefl::algorithms
