#include "algorithms/local_registry.h"

#include <doctest/doctest.h>

#include "algorithms/curriculum_order.h"
#include "algorithms/deltasgd_objective.h"
#include "algorithms/wafl_objective.h"
#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"

namespace edgefl::algorithms {

TEST_CASE("local registry builds every objective and data order by name") {
  const datasets::Dataset data = testing::Tabular();
  const train::TrainRecipe recipe = testing::SgdRecipe(0.01f);
  for (const char* name : {"ce", "fedbr", "wafl", "deltasgd", "entropy_sgd", "noisy_softmax"}) {
    CAPTURE(name);
    train::LocalAlgorithm local;
    local.objective = name;
    CHECK(MakeLocalObjective(local, &data) != nullptr);
  }
  for (const char* name : {"shuffle", "sequential", "curriculum", "anti_curriculum", "random"}) {
    CAPTURE(name);
    train::LocalAlgorithm local;
    local.data_order = name;
    CHECK(MakeDataOrder(local, &recipe) != nullptr);
  }
}

TEST_CASE("local registry passes parameters by name with defaults") {
  train::LocalAlgorithm local;
  local.objective = "wafl";
  local.params = {{"gamma", 0.5}, {"adv_steps", 3}};
  auto objective = MakeLocalObjective(local);
  const auto& wafl = dynamic_cast<const WaflObjective&>(*objective);
  CHECK(wafl.options().gamma == 0.5f);
  CHECK(wafl.options().adv_steps == 3);
  CHECK(wafl.options().init_noise == 5e-4f);

  local.objective = "deltasgd";
  local.params = {{"delta", 0.02}};
  objective = MakeLocalObjective(local);
  CHECK(dynamic_cast<const DeltaSgdObjective&>(*objective).options().delta == 0.02);
  CHECK(dynamic_cast<const DeltaSgdObjective&>(*objective).options().eta0 == 0.2);

  // The objective and the order share the params map.
  const train::TrainRecipe recipe = testing::SgdRecipe(0.01f);
  local.data_order = "anti_curriculum";
  local.params = {{"delta", 0.02}, {"pacing", 3}, {"pacing_a", 0.8}};
  CHECK(MakeLocalObjective(local) != nullptr);
  auto order = MakeDataOrder(local, &recipe);
  const auto& curriculum = dynamic_cast<const CurriculumOrder&>(*order);
  CHECK(curriculum.options().kind == CurriculumKind::kAntiCurriculum);
  CHECK(curriculum.options().pacing.kind == PacingKind::kStep);
  CHECK(curriculum.options().pacing.a == 0.8);
  CHECK(curriculum.options().pacing.b == 0.2);
}

TEST_CASE("local registry rejects unknown names and parameters naming them") {
  train::LocalAlgorithm local;
  local.objective = "fedprox";
  CHECK_THROWS_WITH_AS(MakeLocalObjective(local), doctest::Contains("'fedprox'"), ConfigError);
  local = train::LocalAlgorithm{};
  local.data_order = "easy_first";
  CHECK_THROWS_WITH_AS(MakeDataOrder(local), doctest::Contains("'easy_first'"), ConfigError);

  local = train::LocalAlgorithm{};
  local.objective = "wafl";
  local.params = {{"gama", 0.1}};
  CHECK_THROWS_WITH_AS(MakeLocalObjective(local), doctest::Contains("'gama'"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeLocalObjective(local), doctest::Contains("'wafl'"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeDataOrder(local), doctest::Contains("'gama'"), ConfigError);

  // A pacing key without a paced order is unknown too.
  local.params = {{"pacing_a", 0.5}};
  CHECK_THROWS_WITH_AS(MakeLocalObjective(local), doctest::Contains("'pacing_a'"), ConfigError);
  local = train::LocalAlgorithm{};
  local.params = {{"mu", 0.5}};
  CHECK_THROWS_WITH_AS(MakeLocalObjective(local), doctest::Contains("'mu'"), ConfigError);
}

TEST_CASE("local registry rejects out-of-range values naming the key and the objective") {
  const datasets::Dataset data = testing::Tabular();
  const train::TrainRecipe recipe = testing::SgdRecipe(0.01f);
  struct Case {
    const char* objective;
    const char* key;
    double value;
  };
  for (const Case& c :
       {Case{"wafl", "gamma", -1}, Case{"wafl", "adv_steps", 2.5}, Case{"deltasgd", "eta0", 0},
        Case{"deltasgd", "gamma", -2}, Case{"fedbr", "mu", -0.1}, Case{"fedbr", "pool_size", 0},
        Case{"entropy_sgd", "beta1", 1}, Case{"entropy_sgd", "langevin_steps", -1},
        Case{"noisy_softmax", "noise_alpha", -0.5}}) {
    CAPTURE(c.key);
    train::LocalAlgorithm local;
    local.objective = c.objective;
    local.params = {{c.key, c.value}};
    CHECK_THROWS_WITH_AS(MakeLocalObjective(local, &data), doctest::Contains(c.key), ConfigError);
    CHECK_THROWS_WITH_AS(MakeLocalObjective(local, &data), doctest::Contains(c.objective),
                         ConfigError);
  }
  for (const auto& [key, value] : {std::pair{"pacing", 9.0}, std::pair{"pacing_a", 0.0},
                                   std::pair{"pacing_b", 1.5}, std::pair{"pacing_min", 0.0}}) {
    CAPTURE(key);
    train::LocalAlgorithm local;
    local.data_order = "curriculum";
    local.params = {{key, value}};
    CHECK_THROWS_WITH_AS(MakeDataOrder(local, &recipe), doctest::Contains(key), ConfigError);
    CHECK_THROWS_WITH_AS(MakeDataOrder(local, &recipe), doctest::Contains("curriculum"),
                         ConfigError);
  }
}

TEST_CASE("local registry needs the data for fedbr and the recipe for paced orders") {
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  CHECK_THROWS_WITH_AS(MakeLocalObjective(local), doctest::Contains("clients' data"), ConfigError);
  local = train::LocalAlgorithm{};
  local.data_order = "curriculum";
  CHECK_THROWS_WITH_AS(MakeDataOrder(local), doctest::Contains("recipe"), ConfigError);
}

}  // namespace edgefl::algorithms
