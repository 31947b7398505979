#include "algorithms/noisy_softmax_objective.h"

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {

TEST_CASE("Noisy Softmax with alpha zero equals plain cross-entropy training bit for bit") {
  const datasets::Dataset data = testing::Tabular();
  const char* spec = "mlp:60-16-10";
  const Eigen::VectorXf global = testing::InitialParameters(spec);
  const train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 2);
  train::LocalTrainer plain(spec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);
  NoisySoftmaxObjective objective(NoisySoftmaxOptions{0.0});
  train::LocalTrainer trainer(spec, data);
  CHECK(trainer.Train(testing::Span(global), recipe, &objective).parameters == expected.parameters);
}

TEST_CASE("Noisy Softmax loss is at least the clean loss") {
  const datasets::Dataset data = testing::Tabular();
  for (const char* spec : {"mlp:60-16-10", "logreg:60-10"}) {
    CAPTURE(spec);
    nn::Model model(spec);
    model.Initialize(4);
    const testing::FirstRows rows(32);
    const train::Batch batch = rows.Get(data);
    NoisySoftmaxObjective objective(NoisySoftmaxOptions{0.5});
    Rng rng(3);
    for (int i = 0; i < 5; ++i) {
      const float loss = objective.LossAndGradient(model, batch, rng);
      CHECK(loss >= objective.last_clean_loss());
      CHECK(loss > objective.last_clean_loss() + 1e-4f);  // the noise is not trivially zero
    }
  }
}

TEST_CASE("Noisy Softmax noise vanishes when the features align with the target weights") {
  // logreg:3-2: logits = W x + b with W 2x3 column-major.
  nn::Model model("logreg:3-2");
  Eigen::VectorXf params(8);
  // W row 0 = (1, 2, 2), row 1 = (0, 1, -1); b = 0.
  params << 1, 0, 2, 1, 2, -1, 0, 0;
  model.SetParameters(params);
  Eigen::MatrixXf x(3, 1);
  x << 0.5f, 1.0f, 1.0f;  // parallel to W row 0
  const std::vector<int32_t> labels = {0};
  const std::vector<uint32_t> indices = {0};
  const train::Batch batch{Eigen::Map<const Eigen::MatrixXf>(x.data(), 3, 1), labels, indices};
  NoisySoftmaxObjective objective(NoisySoftmaxOptions{1.0});
  Rng rng(1);
  const float loss = objective.LossAndGradient(model, batch, rng);
  CHECK(loss == doctest::Approx(objective.last_clean_loss()).epsilon(1e-6));
}

TEST_CASE("Noisy Softmax gradients match finite differences of its loss") {
  const datasets::Dataset data = testing::Tabular();
  for (const char* spec : {"mlp:60-16-10", "logreg:60-10"}) {
    CAPTURE(spec);
    nn::Model model(spec);
    model.Initialize(4);
    const testing::FirstRows rows(32);
    const train::Batch batch = rows.Get(data);
    NoisySoftmaxObjective objective(NoisySoftmaxOptions{0.5});
    for (const uint64_t seed : {1u, 2u}) {
      const Eigen::VectorXf direction = testing::RandomDirection(model.num_parameters(), seed);
      const auto [analytic, numeric] =
          testing::DirectionalCheck(objective, model, batch, direction, 7, 1e-3f);
      CHECK(analytic == doctest::Approx(numeric).epsilon(0.03).scale(0.01));
    }
  }
}

TEST_CASE("Noisy Softmax in the LocalTrainer is seeded and changes the training") {
  const datasets::Dataset data = testing::Tabular();
  const char* spec = "mlp:60-16-10";
  const Eigen::VectorXf global = testing::InitialParameters(spec);
  const train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 3);
  auto train = [&](uint64_t seed) {
    NoisySoftmaxObjective objective(NoisySoftmaxOptions{});
    train::LocalTrainer trainer(spec, data);
    train::TrainRecipe r = recipe;
    r.seed = seed;
    return trainer.Train(testing::Span(global), r, &objective);
  };
  const auto a = train(3);
  const auto again = train(3);
  const auto other_seed = train(4);
  train::LocalTrainer plain_trainer(spec, data);
  const auto plain = plain_trainer.Train(testing::Span(global), recipe);
  // The noise is drawn from the recipe's seed: the same seed repeats the
  // run bit for bit, another seed draws other noise.
  CHECK(a.parameters == again.parameters);
  CHECK(a.parameters != other_seed.parameters);
  // The noisy target logit is at most the clean one: the training loss
  // (of the noisy logits) stays above plain training's, and the update differs.
  CHECK(a.parameters != plain.parameters);
  CHECK(a.train_loss >= plain.train_loss);
  CHECK(a.loss_after < a.loss_before - 0.1);
  CHECK_THROWS_WITH_AS(NoisySoftmaxObjective(NoisySoftmaxOptions{-1.0}),
                       doctest::Contains("noisy_softmax: noise_alpha"), ConfigError);
}

}  // namespace edgefl::algorithms
