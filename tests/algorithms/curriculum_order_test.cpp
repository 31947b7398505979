#include "algorithms/curriculum_order.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/local_registry.h"
#include "common/error.h"
#include "nn/softmax_cross_entropy.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kCurriculumOrderSpec = "mlp:60-16-10";

CurriculumOptions CurriculumOrderOptions(CurriculumKind kind, double a = 0.2, double b = 0.2) {
  CurriculumOptions options;
  options.kind = kind;
  options.pacing.a = a;
  options.pacing.b = b;
  options.batch_size = 32;
  options.epochs = 1;
  return options;
}

nn::Model TrainedModel() {
  nn::Model model(kCurriculumOrderSpec);
  model.SetParameters(testing::InitialParameters(kCurriculumOrderSpec, 11));
  return model;
}

}  // namespace

TEST_CASE("curriculum ranks by ascending loss and anti-curriculum is its exact reverse") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model = TrainedModel();
  CurriculumOrder curriculum(CurriculumOrderOptions(CurriculumKind::kCurriculum));
  CurriculumOrder anti(CurriculumOrderOptions(CurriculumKind::kAntiCurriculum));
  curriculum.BeginRound(model, data);
  anti.BeginRound(model, data);
  const auto& up = curriculum.ranking();
  REQUIRE(up.size() == data.size());
  for (size_t i = 1; i < up.size(); ++i) {
    CHECK(curriculum.scores()[up[i - 1]] <= curriculum.scores()[up[i]]);
  }
  std::vector<uint32_t> reversed(up.rbegin(), up.rend());
  CHECK(anti.ranking() == reversed);
  CHECK(std::set<uint32_t>(up.begin(), up.end()).size() == data.size());
}

TEST_CASE("curriculum scores are deterministic per-sample cross-entropies") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model = TrainedModel();
  CurriculumOrder order(CurriculumOrderOptions(CurriculumKind::kCurriculum));
  order.BeginRound(model, data);
  const std::vector<float> first = order.scores();
  order.BeginRound(model, data);
  CHECK(order.scores() == first);
  for (const size_t i : {size_t{0}, size_t{7}, data.size() - 1}) {
    const Eigen::Map<const Eigen::MatrixXf> x(data.features.data() + i * data.dim(),
                                              static_cast<Eigen::Index>(data.dim()), 1);
    const float loss =
        nn::SoftmaxCrossEntropy(model.Forward(x), std::span(&data.labels[i], 1), nullptr);
    CHECK(first[i] == doctest::Approx(loss).epsilon(1e-5));
  }
}

TEST_CASE("curriculum passes take the paced prefix of the ranking with a floor of 32") {
  const datasets::Dataset data = testing::Tabular();
  const size_t n = data.size();
  nn::Model model = TrainedModel();
  CurriculumOrder order(CurriculumOrderOptions(CurriculumKind::kCurriculum, 0.5, 0.1));
  order.BeginRound(model, data);
  const int64_t total = order.total_steps();
  CHECK(total == static_cast<int64_t>(n / 32 + 1));
  Rng rng(5);
  std::vector<uint32_t> pass;
  size_t previous = 0;
  for (const int64_t t : {int64_t{0}, total / 8, total / 4, total / 2, total}) {
    order.NextPass(t, n, rng, &pass);
    const size_t g = order.options().pacing.Size(t, total, n);
    const size_t expected = std::min(n, std::max<size_t>(g, 32));
    CHECK(pass.size() == expected);
    CHECK(pass.size() >= previous);
    previous = pass.size();
    std::vector<uint32_t> sorted_pass = pass;
    std::sort(sorted_pass.begin(), sorted_pass.end());
    std::vector<uint32_t> prefix(order.ranking().begin(),
                                 order.ranking().begin() + static_cast<std::ptrdiff_t>(expected));
    std::sort(prefix.begin(), prefix.end());
    CHECK(sorted_pass == prefix);
  }
  CHECK(previous == n);
  // At t = 0 the subset is ⌊bN⌋ (above the floor of 32 here).
  order.NextPass(0, n, rng, &pass);
  CHECK(pass.size() == std::max<size_t>(static_cast<size_t>(0.1 * static_cast<double>(n)), 32));
}

TEST_CASE("curriculum with b equal to one gives exactly shuffled passes") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kCurriculumOrderSpec);
  const train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 3);
  train::LocalTrainer plain(kCurriculumOrderSpec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);

  train::LocalAlgorithm local;
  local.data_order = "curriculum";
  local.params = {{"pacing_b", 1.0}};
  auto order = MakeDataOrder(local, &recipe);
  train::LocalTrainer trainer(kCurriculumOrderSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, nullptr, order.get());
  CHECK(result.parameters == expected.parameters);
}

TEST_CASE("random order is a permutation fixed within a round") {
  const datasets::Dataset data = testing::Tabular();
  const size_t n = data.size();
  nn::Model model = TrainedModel();
  CurriculumOrder order(CurriculumOrderOptions(CurriculumKind::kRandom));
  order.BeginRound(model, data);
  CHECK(order.scores().empty());
  Rng rng(9);
  std::vector<uint32_t> pass;
  order.NextPass(0, n, rng, &pass);
  const std::vector<uint32_t> ranking = order.ranking();
  std::vector<uint32_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0u);
  CHECK(ranking != identity);
  CHECK(std::set<uint32_t>(ranking.begin(), ranking.end()).size() == n);
  order.NextPass(order.total_steps() / 2, n, rng, &pass);
  CHECK(order.ranking() == ranking);
}

TEST_CASE("curriculum orders train in the LocalTrainer") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kCurriculumOrderSpec);
  const train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 3);
  for (const char* name : {"curriculum", "anti_curriculum", "random"}) {
    CAPTURE(name);
    train::LocalAlgorithm local;
    local.data_order = name;
    local.params = {{"pacing", 1.0}, {"pacing_a", 0.5}};  // quad
    auto order = MakeDataOrder(local, &recipe);
    train::LocalTrainer trainer(kCurriculumOrderSpec, data);
    const auto result = trainer.Train(testing::Span(global), recipe, nullptr, order.get());
    CHECK(result.loss_after < result.loss_before - 0.1);
    // Early passes are smaller than the data: fewer samples than 3 epochs.
    CHECK(result.samples_processed < static_cast<int64_t>(3 * data.size()));
  }
}

TEST_CASE("curriculum order needs BeginRound on the same data") {
  CurriculumOrder order(CurriculumOrderOptions(CurriculumKind::kCurriculum));
  Rng rng(1);
  std::vector<uint32_t> pass;
  CHECK_THROWS_AS(order.NextPass(0, 10, rng, &pass), Error);
  CHECK_THROWS_WITH_AS(CurriculumOrder(CurriculumOrderOptions(CurriculumKind::kCurriculum, -1.0)),
                       doctest::Contains("pacing_a"), ConfigError);
}

}  // namespace edgefl::algorithms
