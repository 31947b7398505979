#include "train/byzantine.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::train {
namespace {

const std::vector<float> kGlobal = {1.0f, -2.0f, 0.5f};

Eigen::VectorXf Trained() {
  Eigen::VectorXf w(3);
  w << 1.5f, -2.5f, 0.5f;  // update (0.5, -0.5, 0)
  return w;
}

TEST_CASE("byzantine: scale sends the global model plus 100 times the update by default") {
  Eigen::VectorXf w = Trained();
  ApplyByzantine(ByzantineMode::kScale, 0.0, kGlobal, &w);
  CHECK(w[0] == doctest::Approx(1.0 + 50.0));
  CHECK(w[1] == doctest::Approx(-2.0 - 50.0));
  CHECK(w[2] == doctest::Approx(0.5));
  Eigen::VectorXf v = Trained();
  ApplyByzantine(ByzantineMode::kScale, 10.0, kGlobal, &v);
  CHECK(v[0] == doctest::Approx(6.0));
}

TEST_CASE("byzantine: sign flip reverses the update times the factor (default 4)") {
  Eigen::VectorXf w = Trained();
  ApplyByzantine(ByzantineMode::kSignFlip, 1.0, kGlobal, &w);
  CHECK(w[0] == doctest::Approx(0.5));
  CHECK(w[1] == doctest::Approx(-1.5));
  CHECK(w[2] == doctest::Approx(0.5));
  Eigen::VectorXf v = Trained();
  ApplyByzantine(ByzantineMode::kSignFlip, 0.0, kGlobal, &v);
  CHECK(v[0] == doctest::Approx(1.0 - 4 * 0.5));
  CHECK(v[1] == doctest::Approx(-2.0 + 4 * 0.5));
}

TEST_CASE("byzantine: nan fills every parameter with NaN and none leaves the update alone") {
  Eigen::VectorXf w = Trained();
  ApplyByzantine(ByzantineMode::kNaN, 0.0, kGlobal, &w);
  for (float x : w)
    CHECK(std::isnan(x));
  Eigen::VectorXf v = Trained();
  ApplyByzantine(ByzantineMode::kNone, 100.0, kGlobal, &v);
  CHECK(v == Trained());
}

TEST_CASE("byzantine: a size mismatch is an error") {
  Eigen::VectorXf w = Eigen::VectorXf::Zero(2);
  CHECK_THROWS_AS(ApplyByzantine(ByzantineMode::kScale, 0.0, kGlobal, &w), ConfigError);
}

TEST_CASE("byzantine: modes parse by name and unknown names are rejected naming the key") {
  CHECK(ParseByzantineMode("scale", "k") == ByzantineMode::kScale);
  CHECK(ParseByzantineMode("sign_flip", "k") == ByzantineMode::kSignFlip);
  CHECK(ParseByzantineMode("nan", "k") == ByzantineMode::kNaN);
  CHECK(ParseByzantineMode("none", "k") == ByzantineMode::kNone);
  for (ByzantineMode m :
       {ByzantineMode::kNone, ByzantineMode::kScale, ByzantineMode::kSignFlip, ByzantineMode::kNaN})
    CHECK(ParseByzantineMode(ByzantineModeName(m), "k") == m);
  CHECK_THROWS_WITH_AS(ParseByzantineMode("flip", "--byzantine"),
                       doctest::Contains("--byzantine: unknown Byzantine mode \"flip\""),
                       ConfigError);
  ByzantineAttack bad{ByzantineMode::kScale, -1.0};
  CHECK_THROWS_WITH_AS(bad.Validate("byzantine_factor"), doctest::Contains("byzantine_factor"),
                       ConfigError);
  CHECK(ByzantineAttack{ByzantineMode::kScale, 0.0}.EffectiveFactor() == 100.0);
  CHECK(ByzantineAttack{ByzantineMode::kScale, 7.0}.EffectiveFactor() == 7.0);
}

TEST_CASE("byzantine: the chosen clients are the requested fraction and depend only on the seed") {
  const std::vector<bool> a = ChooseByzantineClients(20, 0.2, 7);
  CHECK(std::count(a.begin(), a.end(), true) == 4);
  CHECK(ChooseByzantineClients(20, 0.2, 7) == a);
  CHECK(ChooseByzantineClients(20, 0.2, 8) != a);
  const std::vector<bool> none = ChooseByzantineClients(20, 0.0, 7);
  CHECK(std::count(none.begin(), none.end(), true) == 0);
  CHECK_THROWS_WITH_AS(ChooseByzantineClients(20, 1.0, 7), doctest::Contains("byzantine_fraction"),
                       ConfigError);
}

}  // namespace
}  // namespace edgefl::train
