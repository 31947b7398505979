// The sampled convex program solved by accelerated proximal gradient
// (convex_relu_scp.h) reaches the optimum the ADMM finds for the same gated
// program, and its step bound is the operator's largest eigenvalue.
#include "algorithms/convex_relu_scp.h"

#include <Eigen/Eigenvalues>
#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;

ConvexReluData Tiny(uint64_t seed) {
  Rng rng(seed);
  const Index n = 30, d = 3, p = 5, c = 2;
  MatrixXd x(n, d), y(n, c), gates(d + 1, p);
  for (Index i = 0; i < x.size(); ++i)
    x(i) = rng.Normal();
  for (Index i = 0; i < gates.size(); ++i)
    gates(i) = rng.Normal();
  for (Index r = 0; r < n; ++r) {
    const bool positive = x(r, 0) * x(r, 1) > 0.0;  // not linearly separable
    y(r, 0) = positive ? 1.0 : -1.0;
    y(r, 1) = -y(r, 0);
  }
  return MakeConvexReluData(x, y, gates);
}

}  // namespace

TEST_CASE("convex relu scp: FISTA reaches the gated ADMM optimum") {
  for (const uint64_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ConvexReluData data = Tiny(seed);
    ConvexAdmmOptions admm;
    admm.formulation = ConvexFormulation::kGated;
    admm.beta = 0.1;
    admm.iterations = 3000;
    const double optimum = SolveConvexReluAdmm(data, admm).objective.back();
    ScpOptions scp;
    scp.beta = admm.beta;
    scp.iterations = 3000;
    const ConvexAdmmResult solved = SolveGatedScp(data, scp);
    MESSAGE("admm " << optimum << " scp " << solved.objective.back());
    CHECK(solved.objective.back() == doctest::Approx(optimum).epsilon(1e-4));
    // The objective at zero is ½‖Y‖² = 30; the solver makes real progress.
    CHECK(solved.objective.back() < 0.8 * 30.0);
  }
}

TEST_CASE("convex relu scp: the step bound and bad options") {
  const ConvexReluData data = Tiny(3);
  const MatrixXd system = ConvexSystemMatrix(data, ConvexFormulation::kGated, 0.0);
  const double largest = Eigen::SelfAdjointEigenSolver<MatrixXd>(system).eigenvalues().maxCoeff();
  const double lipschitz = GatedLipschitz(data, 200);
  CHECK(lipschitz >= largest);
  CHECK(lipschitz <= 1.02 * largest);
  ScpOptions bad;
  bad.beta = 0.0;
  CHECK_THROWS_WITH_AS(SolveGatedScp(data, bad), doctest::Contains("beta"), ConfigError);
}

}  // namespace edgefl::algorithms
