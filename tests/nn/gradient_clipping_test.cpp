#include "nn/gradient_clipping.h"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/nn/grad_check.h"

namespace edgefl::nn {
namespace {

using Eigen::VectorXf;

TEST_CASE("ClipByGlobalNorm: returns the pre-clip norm and bounds the result") {
  VectorXf g(2);
  g << 3.0f, 4.0f;
  CHECK(ClipByGlobalNorm(g, 10.0f) == doctest::Approx(5.0));
  CHECK(g.norm() == doctest::Approx(5.0));  // untouched below the limit
  CHECK(ClipByGlobalNorm(g, 1.0f) == doctest::Approx(5.0));
  CHECK(g.norm() == doctest::Approx(1.0));
  CHECK(g[0] == doctest::Approx(0.6));  // direction kept
  for (uint64_t seed = 0; seed < 20; ++seed) {
    VectorXf r = testing::RandomMatrix(50, 1, seed, 3.0f);
    ClipByGlobalNorm(r, 2.5f);
    CHECK(r.norm() <= 2.5f * (1 + 1e-6f));
  }
  CHECK_THROWS_AS(ClipByGlobalNorm(g, 0.0f), ConfigError);
}

TEST_CASE("ClipCoordinates: hand example") {
  VectorXf g(5);
  g << 5.0f, -4.0f, 0.5f, 3.0f, -1.0f;
  // |g| sorted descending: 5 4 3 1 0.5; floor(0.4 * 5) = 2 -> tau = 3.
  CHECK(ClipCoordinates(g, 0.4) == 3.0f);
  VectorXf expected(5);
  expected << 3.0f, -3.0f, 0.5f, 3.0f, -1.0f;
  CHECK(g == expected);
  // scale 0.5: limit 1.5 on the new vector (tau = 3 again).
  CHECK(ClipCoordinates(g, 0.4, 0.5f) == 3.0f);
  expected << 1.5f, -1.5f, 0.5f, 1.5f, -1.0f;
  CHECK(g == expected);
}

TEST_CASE("ClipCoordinates: c = 0 is the identity - properties on random vectors") {
  std::vector<float> scratch;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const VectorXf original = testing::RandomMatrix(101, 1, seed, 2.0f);
    VectorXf g = original;
    CHECK(ClipCoordinates(g, 0.0, 0.3f, &scratch) == 0.0f);
    CHECK(g == original);
    for (double c : {0.01, 0.1, 0.5, 1.0}) {
      g = original;
      const float tau = ClipCoordinates(g, c, 1.0f, &scratch);
      const long changed = (g.array() != original.array()).count();
      const long ties = (original.array().abs() == tau).count();
      CHECK(changed <= static_cast<long>(std::floor(c * 101)) + ties);
      CHECK(g.norm() <= original.norm());
      CHECK(g.cwiseAbs().maxCoeff() <= tau);
      CHECK(((g.array() * original.array()) >= 0).all());  // signs kept
    }
  }
  VectorXf g = VectorXf::Ones(3);
  CHECK_THROWS_AS(ClipCoordinates(g, 1.5), ConfigError);
  CHECK_THROWS_AS(ClipCoordinates(g, 0.5, 0.0f), ConfigError);
}

}  // namespace
}  // namespace edgefl::nn
