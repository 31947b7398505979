// The RDP accountant against the published test values of
// google/differential-privacy (python/dp_accounting/dp_accounting/rdp/
// rdp_privacy_accountant_test.py: test_compute_rdp_poisson_sampled_gaussian,
// test_compute_epsilon_delta_pure_dp, test_compute_epsilon_delta_gaussian)
// and against a second, independent computation of A_α by numerical
// integration of its definition.
#include "privacy/rdp_accountant.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::privacy {
namespace {

// log A_α = log ∫ N(z; 0, σ²)·(1 − q + q·e^{(2z − 1)/(2σ²)})^α dz by
// Simpson's rule in log space (the definition, Mironov et al. 2019 §3).
double LogAByQuadrature(double q, double sigma, double alpha) {
  const double lo = -40.0 * sigma - 10.0;
  const double hi = 40.0 * sigma + alpha + 10.0;
  const int n = 400000;  // even
  const double h = (hi - lo) / n;
  std::vector<double> logs(n + 1);
  double top = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= n; ++i) {
    const double z = lo + h * i;
    const double log_mu0 =
        -z * z / (2 * sigma * sigma) - std::log(sigma * std::sqrt(2 * std::numbers::pi));
    const double x = (2 * z - 1) / (2 * sigma * sigma);
    // log(1 − q + q e^x), stable for large x.
    const double log_ratio =
        x > 0 ? x + std::log(q + (1 - q) * std::exp(-x)) : std::log1p(q * std::expm1(x));
    logs[i] = log_mu0 + alpha * log_ratio;
    top = std::max(top, logs[i]);
  }
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double w = (i == 0 || i == n) ? 1 : (i % 2 == 1 ? 4 : 2);
    sum += w * std::exp(logs[i] - top);
  }
  return top + std::log(sum * h / 3);
}

}  // namespace

TEST_CASE("RDP of the subsampled Gaussian matches dp_accounting's published values") {
  // q = 0.01, z = 2.5, 50 steps; rtol 1e-4 as in the reference test.
  const double orders[] = {1.5, 2.5, 5, 50, 100};
  const double want[] = {6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02,
                         1.67416308e02};
  for (size_t k = 0; k < 5; ++k) {
    CAPTURE(orders[k]);
    CHECK(50 * SubsampledGaussianRdp(0.01, 2.5, orders[k]) ==
          doctest::Approx(want[k]).epsilon(1e-4));
  }
  CHECK(std::isinf(SubsampledGaussianRdp(0.01, 2.5, std::numeric_limits<double>::infinity())));
}

TEST_CASE("log A agrees with a numerical integration of its definition") {
  struct Case {
    double q, sigma, alpha;
  };
  // Integer and fractional orders, from the reference test's parameter list
  // where the integrand is smooth enough for double-precision quadrature.
  for (const Case& c :
       {Case{1e-3, 1.0, 2}, Case{1e-4, 1.0, 1.5}, Case{0.01, 10, 20}, Case{0.1, 100, 20.5},
        Case{0.01, 2.5, 5}, Case{0.01, 2.5, 2.5}, Case{0.2, 1.3, 7.25}}) {
    CAPTURE(c.q);
    CAPTURE(c.sigma);
    CAPTURE(c.alpha);
    const double got = SubsampledGaussianRdp(c.q, c.sigma, c.alpha) * (c.alpha - 1);
    const double want = LogAByQuadrature(c.q, c.sigma, c.alpha);
    // numpy's allclose(rtol = 1e-4, atol = 1e-8), the reference test's tolerance.
    CHECK(std::abs(got - want) <= 1e-8 + 1e-4 * std::abs(want));
  }
}

TEST_CASE("epsilon from a constant RDP curve is dp_accounting's hand value at order 32") {
  std::vector<double> orders;
  for (int a = 2; a <= 32; ++a)
    orders.push_back(a);
  const std::vector<double> rdp(orders.size(), 1.1);
  const PrivacySpent spent = EpsilonFromRdp(orders, rdp, 1e-5);
  CHECK(spent.epsilon == doctest::Approx(1.32783806176).epsilon(1e-9));
  CHECK(spent.order == 32);
}

TEST_CASE("the Gaussian with z = 4.530877117 is exactly 1 1e-6 DP as in dp_accounting") {
  std::vector<double> orders;
  for (int i = 1001; i < 100000; ++i)
    orders.push_back(0.001 * i);
  RdpAccountant accountant(1.0, 4.530877117, orders);
  accountant.Compose(1);
  CHECK(accountant.Spent(1e-6).epsilon == doctest::Approx(1.0).epsilon(1e-7));
}

TEST_CASE("noise calibration finds dp_accounting's z = 4.530877117 for epsilon 1 at delta 1e-6") {
  std::vector<double> orders;
  for (int i = 1001; i < 100000; ++i)
    orders.push_back(0.001 * i);
  CHECK(NoiseMultiplierFor(1.0, 1, 1.0, 1e-6, orders) ==
        doctest::Approx(4.530877117).epsilon(2e-6));
}

TEST_CASE("noise calibration returns the smallest multiplier that keeps the target") {
  // FL-sized settings: q = 10/100, 200 rounds, δ = 1/N.
  for (const double target : {1.0, 3.0, 8.0}) {
    CAPTURE(target);
    const double z = NoiseMultiplierFor(0.1, 200, target, 0.01);
    CHECK(RdpAccountant(0.1, z).SpentAfter(200, 0.01).epsilon <= target);
    CHECK(RdpAccountant(0.1, z * (1 - 1e-5)).SpentAfter(200, 0.01).epsilon > target);
  }
  // More rounds, or a smaller target, need more noise.
  CHECK(NoiseMultiplierFor(0.1, 400, 3.0, 0.01) > NoiseMultiplierFor(0.1, 200, 3.0, 0.01));
  CHECK(NoiseMultiplierFor(0.1, 200, 1.0, 0.01) > NoiseMultiplierFor(0.1, 200, 3.0, 0.01));
  CHECK_THROWS_WITH_AS(NoiseMultiplierFor(0.0, 10, 1.0, 1e-5), doctest::Contains("sampling rate"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(NoiseMultiplierFor(0.1, 0, 1.0, 1e-5), doctest::Contains("one step"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(NoiseMultiplierFor(0.1, 10, 0.0, 1e-5), doctest::Contains("target epsilon"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(NoiseMultiplierFor(1.0, 1000000, 1e-6, 1e-5),
                       doctest::Contains("above 10^4"), ConfigError);
}

TEST_CASE("the accountant composes steps additively and epsilon only grows") {
  RdpAccountant accountant(0.1, 1.1);
  CHECK(accountant.Spent(1e-5).epsilon == 0.0);  // nothing released yet
  double last = 0.0;
  for (int round = 1; round <= 30; ++round) {
    const double ahead = accountant.SpentAfter(round, 1e-5).epsilon;
    accountant.Compose();
    CHECK(accountant.steps() == round);
    const double now = accountant.Spent(1e-5).epsilon;
    CHECK(now == ahead);  // looking ahead is the same computation
    CHECK(now > last);
    last = now;
  }
  // Resuming from the step count gives the same ε bit for bit.
  RdpAccountant resumed(0.1, 1.1);
  resumed.Compose(30);
  CHECK(resumed.Spent(1e-5).epsilon == last);
  // Without noise there is no finite guarantee; without sampling no loss.
  RdpAccountant no_noise(0.1, 0.0);
  no_noise.Compose();
  CHECK(std::isinf(no_noise.Spent(1e-5).epsilon));
  RdpAccountant never_sampled(0.0, 1.0);
  never_sampled.Compose(100);
  CHECK(never_sampled.Spent(1e-5).epsilon == 0.0);
}

TEST_CASE("bad accountant input is a ConfigError naming the value") {
  CHECK_THROWS_WITH_AS(RdpAccountant(1.5, 1.0), doctest::Contains("q must be in [0, 1], got 1.5"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(RdpAccountant(0.1, -1.0),
                       doctest::Contains("noise multiplier must be finite and >= 0"), ConfigError);
  CHECK_THROWS_WITH_AS(RdpAccountant(0.1, 1.0, {0.5}), doctest::Contains("order must be > 1"),
                       ConfigError);
  RdpAccountant ok(0.1, 1.0);
  CHECK_THROWS_WITH_AS(ok.Spent(0.0), doctest::Contains("delta must be in (0, 1)"), ConfigError);
  CHECK_THROWS_WITH_AS(ok.Compose(-1), doctest::Contains("negative number of steps"), ConfigError);
  const std::vector<double> two = {2, 3};
  const std::vector<double> one = {0.1};
  CHECK_THROWS_WITH_AS(EpsilonFromRdp(two, one, 1e-5), doctest::Contains("2 orders but 1"),
                       ConfigError);
}

}  // namespace edgefl::privacy
