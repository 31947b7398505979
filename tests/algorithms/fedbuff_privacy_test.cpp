// Privacy in async mode (fedbuff.h, docs/algorithms.md "Privacy in async
// mode"): DP-FedBuff clips each update before its staleness weight and adds
// the noise once per server step; the accountant composes one step per
// flush and survives SaveState/RestoreState; a secure cohort's unmasked,
// staleness-weighted mean equals the plain FedBuff step within
// quantisation, tolerates drop-outs up to the threshold and fails beyond
// it; FedAsync and async_dn refuse dp and secure_aggregation by name.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/fedbuff.h"
#include "algorithms/secagg_party.h"
#include "algorithms/secure_aggregation.h"
#include "common/error.h"
#include "common/random.h"
#include "privacy/rdp_accountant.h"

namespace edgefl::algorithms {
namespace {

train::FitResult Trained(const Eigen::VectorXf& base, const Eigen::VectorXf& delta,
                         const std::string& id, size_t samples = 10) {
  train::FitResult r;
  r.client = id;
  r.train.parameters = base + delta;
  r.train.num_samples = samples;
  return r;
}

// "c0", "c1", ...: appended rather than ClientName(i), which GCC 12
// falsely reports as a memcpy overflow once inlined (GCC bug 105329).
std::string ClientName(int64_t i) {
  std::string name = "c";
  name += std::to_string(i);
  return name;
}

FedBuffOptions Buffer(int64_t k) {
  FedBuffOptions o;
  o.task.recipe.local_steps = 5;
  o.task.seed = 11;
  o.buffer_size = k;
  o.weight = StalenessWeight{StalenessWeight::Kind::kPolynomial, 0.5};
  return o;
}

DpFedAvgOptions Dp(double z, double clip, int64_t population) {
  DpFedAvgOptions dp;
  dp.noise_multiplier = z;
  dp.clip_norm = clip;
  dp.population = population;
  dp.clients_per_round = 1;  // FedBuff sets K
  dp.seeded_noise = true;
  return dp;
}

Eigen::VectorXf Random(Rng& rng, Eigen::Index d, double scale) {
  Eigen::VectorXf v(d);
  for (Eigen::Index i = 0; i < d; ++i)
    v[i] = static_cast<float>(scale * rng.Normal());
  return v;
}

}  // namespace

TEST_CASE("dp-fedbuff: each update is clipped to C before its staleness weight and summed over K") {
  FedBuffOptions o = Buffer(2);
  o.dp = Dp(/*z=*/0.0, /*clip=*/1.0, /*population=*/10);  // no noise: the step is exact
  FedBuff buff(o);
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(2);
  const Eigen::VectorXf base1 = Eigen::Vector2f(1.0f, 1.0f);
  const Eigen::VectorXf big = Eigen::Vector2f(30.0f, 40.0f);  // norm 50: clipped to 1
  const Eigen::VectorXf small = Eigen::Vector2f(0.3f, 0.4f);  // norm 0.5: kept
  const ArrivalOutcome first = buff.OnArrival(global, base1, Trained(base1, big, "a"), 0);
  CHECK_FALSE(first.parameters.has_value());
  const ArrivalOutcome second = buff.OnArrival(global, global, Trained(global, small, "b"), 3);
  REQUIRE(second.parameters.has_value());
  // (clip(big)·s(0) + small·s(3)) / K with s(3) = 1/√4.
  const Eigen::Vector2f expected = (big / big.norm() * 1.0f + small * 0.5f) / 2.0f;
  CHECK((*second.parameters)[0] == doctest::Approx(expected[0]).epsilon(1e-6));
  CHECK((*second.parameters)[1] == doctest::Approx(expected[1]).epsilon(1e-6));
  CHECK(second.metrics.at("dp_unclipped") == 1);
  CHECK(second.metrics.at("dp_clip") == 1.0);
}

TEST_CASE("dp-fedbuff: noise of std-dev z·C is added once per server step and epsilon rises") {
  const double z = 1.2, clip = 0.5;
  const int64_t k = 4, n = 20;
  FedBuffOptions o = Buffer(k);
  o.dp = Dp(z, clip, n);
  FedBuff buff(o);
  const Eigen::Index d = 20000;
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(d);
  privacy::RdpAccountant second(static_cast<double>(k) / static_cast<double>(n), z);
  double previous = 0.0;
  for (int step = 1; step <= 3; ++step) {
    std::optional<ArrivalOutcome> out;
    for (int64_t i = 0; i < k; ++i) {
      // Zero updates: the step is the noise alone, (z·C/K)·N(0, 1) per coordinate.
      out = buff.OnArrival(global, global, Trained(global, Eigen::VectorXf::Zero(d), "c"), 0);
      CHECK(out->parameters.has_value() == (i == k - 1));
    }
    const Eigen::VectorXf& next = *out->parameters;
    const double std = std::sqrt(next.squaredNorm() / static_cast<double>(d));
    CHECK(std == doctest::Approx(z * clip / static_cast<double>(k)).epsilon(0.03));
    CHECK(out->metrics.at("dp_noise_std") == doctest::Approx(z * clip / static_cast<double>(k)));
    // One subsampled Gaussian step with q = K/N per flush.
    second.Compose(1);
    const double epsilon = out->metrics.at("epsilon");
    CHECK(epsilon == doctest::Approx(second.Spent(1.0 / static_cast<double>(n)).epsilon));
    CHECK(epsilon > previous);
    previous = epsilon;
  }
}

TEST_CASE("dp-fedbuff: the accountant and the buffer survive SaveState and RestoreState") {
  FedBuffOptions o = Buffer(2);
  o.dp = Dp(1.0, 1.0, 10);
  o.dp->target_epsilon = 6.0;
  FedBuff a(o);
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(3);
  const Eigen::VectorXf delta = Eigen::Vector3f(0.1f, -0.2f, 0.3f);
  for (int i = 0; i < 5; ++i)  // two steps, one update buffered
    a.OnArrival(global, global, Trained(global, delta, "c"), 0);
  FedBuff b(o);
  b.RestoreState(a.SaveState());
  const ArrivalOutcome from_a = a.OnArrival(global, global, Trained(global, delta, "c"), 0);
  const ArrivalOutcome from_b = b.OnArrival(global, global, Trained(global, delta, "c"), 0);
  REQUIRE(from_a.parameters.has_value());
  REQUIRE(from_b.parameters.has_value());
  CHECK(from_b.metrics.at("epsilon") == from_a.metrics.at("epsilon"));  // step 3, not step 1
  CHECK(*from_b.parameters == *from_a.parameters);  // same buffer, same seeded noise
  // The budget is judged from the version, not from how far the object ran.
  CHECK(a.BudgetSpentAfter(1) == b.BudgetSpentAfter(1));
  privacy::RdpAccountant acc(0.2, 1.0);
  int64_t fits = 0;
  while (acc.SpentAfter(fits + 1, 0.1).epsilon <= 6.0)
    ++fits;
  REQUIRE(fits >= 1);
  CHECK_FALSE(a.BudgetSpentAfter(fits - 1).has_value());
  CHECK(a.BudgetSpentAfter(fits).has_value());
}

TEST_CASE("dp-fedbuff: a state without the accountant is refused") {
  FedBuffOptions o = Buffer(2);
  o.dp = Dp(1.0, 1.0, 10);
  FedBuff buff(o);
  CHECK_THROWS_WITH_AS(buff.RestoreState(Eigen::VectorXf::Zero(2)),
                       doctest::Contains("[unclipped, steps, C]"), ConfigError);
}

TEST_CASE("secure fedbuff: the unmasked cohort equals the plain FedBuff step within quantisation") {
  Rng rng(5);
  const int64_t k = 5;
  const Eigen::Index d = 64;
  const Eigen::VectorXf global = Random(rng, d, 1.0);
  std::vector<Eigen::VectorXf> bases;
  std::vector<train::FitResult> results;
  const std::vector<int64_t> staleness = {0, 1, 3, 0, 7};
  for (int64_t i = 0; i < k; ++i) {
    bases.push_back(global + Random(rng, d, 0.1));  // each trained from its own older model
    results.push_back(
        Trained(bases.back(), Random(rng, d, 0.2), ClientName(i), static_cast<size_t>(10 + i)));
  }
  FedBuffOptions plain_options = Buffer(k);
  plain_options.server_lr = 0.8;
  FedBuff plain(plain_options);
  std::optional<ArrivalOutcome> expected;
  for (int64_t i = 0; i < k; ++i) {
    expected = plain.OnArrival(global, bases[static_cast<size_t>(i)],
                               results[static_cast<size_t>(i)], staleness[static_cast<size_t>(i)]);
  }
  REQUIRE(expected->parameters.has_value());

  FedBuffOptions secure_options = plain_options;
  secure_options.secure_aggregation.emplace();
  secure_options.secure_aggregation->bits = 32;
  secure_options.secure_aggregation->clip = 4.0;
  secure_options.secure_aggregation->seed = 9;
  FedBuff secure(secure_options);
  CHECK(secure.cohort_size() == k);
  std::vector<const Eigen::VectorXf*> base_ptrs;
  std::vector<double> scales;
  for (size_t i = 0; i < bases.size(); ++i) {
    base_ptrs.push_back(&bases[i]);
    scales.push_back(secure.CohortScale(staleness[i]));
  }
  CHECK(scales[3] == 1.0);
  CHECK(scales[4] == doctest::Approx(1.0 / std::sqrt(8.0)));
  const SecureAggregationResult sum =
      SecureAggregateCohort(1, global, results, base_ptrs, scales, *secure.secure_aggregation());
  REQUIRE(sum.ok);
  const ArrivalOutcome got = secure.OnSecureCohort(global, sum.sum.train.parameters - global);
  REQUIRE(got.parameters.has_value());
  // Quantisation: each client's value is within one level 2c/L of its own
  // (L = ⌊(2^32 − 1)/K⌋), so the mean is too; the rest is float rounding.
  const double level = 2.0 * 4.0 / std::floor((std::pow(2.0, 32) - 1.0) / static_cast<double>(k));
  const double tolerance = 0.8 * level + 2e-6;
  double worst = 0.0;
  for (Eigen::Index i = 0; i < d; ++i)
    worst = std::max(
        worst, std::abs(static_cast<double>((*got.parameters)[i] - (*expected->parameters)[i])));
  CHECK(worst <= tolerance);
  // The step moved the model (the comparison is not between two globals).
  CHECK((*got.parameters - global).norm() > 0.01);
}

TEST_CASE(
    "secure fedbuff: a drop-out within the threshold is tolerated and beyond it the cohort fails") {
  Rng rng(8);
  const Eigen::Index d = 16;
  const Eigen::VectorXf global = Random(rng, d, 1.0);
  std::vector<train::FitResult> results;
  std::vector<Eigen::VectorXf> deltas;
  for (int i = 0; i < 6; ++i) {
    deltas.push_back(Random(rng, d, 0.2));
    results.push_back(Trained(global, deltas.back(), ClientName(i)));
  }
  const std::vector<double> scales = {1.0, 0.5, 1.0, 0.25, 1.0, 0.5};
  SecureAggregationOptions options;
  options.clip = 4.0;
  options.uniform_weight = true;
  options.seed = 3;
  const auto run = [&](const std::vector<std::optional<SecAggStage>>& drop) {
    std::vector<std::unique_ptr<InProcessSecAggParty>> owned;
    std::vector<SecAggParty*> parties;
    for (size_t u = 0; u < results.size(); ++u) {
      owned.push_back(std::make_unique<InProcessSecAggParty>(
          std::vector<float>(deltas[u].data(), deltas[u].data() + d), static_cast<int64_t>(10 + u),
          drop[u]));
      parties.push_back(owned.back().get());
    }
    return RunSecureAggregation(4, global, results, parties, options, scales);
  };
  // One client leaves after sending its masked input's shares: the others'
  // uniform mean of s·Δ.
  const SecureAggregationResult one = run(
      {std::nullopt, std::nullopt, SecAggStage::kMask, std::nullopt, std::nullopt, std::nullopt});
  REQUIRE(one.ok);
  REQUIRE(one.dropped.size() == 1);
  CHECK(one.dropped[0].client == "c2");
  Eigen::VectorXf mean = Eigen::VectorXf::Zero(d);
  for (size_t u : {0u, 1u, 3u, 4u, 5u})
    mean += static_cast<float>(scales[u]) * deltas[u];
  mean /= 5.0f;
  CHECK(((one.sum.train.parameters - global) - mean).cwiseAbs().maxCoeff() < 1e-5);
  // Five of six gone before the shares: too few to unmask.
  const SecureAggregationResult many =
      run({SecAggStage::kAdvertise, SecAggStage::kAdvertise, SecAggStage::kAdvertise,
           SecAggStage::kAdvertise, SecAggStage::kAdvertise, std::nullopt});
  CHECK_FALSE(many.ok);
  CHECK_FALSE(many.failure.empty());
}

TEST_CASE(
    "secure fedbuff: a staleness scale that is not positive or above 1 is refused by the client") {
  SecAggClientUpdate update(std::vector<float>(4, 0.1f), 10);
  SecAggSetup setup;
  setup.config = MakeSecAggConfig(1, 3, 4, SecureAggregationOptions{});
  setup.scale = 1.5;
  CHECK_THROWS_WITH_AS(update.AdvertiseKeys(setup), doctest::Contains("staleness scale"),
                       privacy::SecAggError);
}

TEST_CASE("async registry: fedasync and async_dn refuse dp and secure_aggregation by name") {
  for (const std::string name : {"fedasync", "async_dn"}) {
    for (const std::string key : {"dp", "secure_aggregation"}) {
      CAPTURE(name);
      CAPTURE(key);
      StrategyConfig c;
      c.name = name;
      c.clients = 10;
      c.clients_per_round = 10;
      c.params[key] = true;
      const std::string expected =
          "strategy " + name + ": " + key + " is refused in async mode except with fedbuff";
      CHECK_THROWS_WITH_AS(MakeAsyncStrategy(c, 10), doctest::Contains(expected.c_str()),
                           ConfigError);
    }
  }
}

TEST_CASE("async registry: fedbuff reads dp and secure_aggregation and checks their fit") {
  StrategyConfig c;
  c.name = "fedbuff";
  c.clients = 10;
  c.clients_per_round = 10;
  c.params["buffer_size"] = int64_t{4};
  c.params["dp"] = true;
  c.params["secure_aggregation"] = true;
  c.params["secagg_clip_range"] = 8.0;
  const std::unique_ptr<AsyncStrategy> s = MakeAsyncStrategy(c, 10);
  REQUIRE(s->secure_aggregation() != nullptr);
  CHECK(s->secure_aggregation()->dp_clip == 1.0);  // distributed DP
  CHECK(s->secure_aggregation()->uniform_weight);
  CHECK(s->cohort_size() == 4);
  // A cohort of K needs K clients.
  CHECK_THROWS_WITH_AS(MakeAsyncStrategy(c, 3), doctest::Contains("buffer_size (4) <= the clients"),
                       ConfigError);
  // Adaptive clipping needs the clipped bits in the clear.
  c.params["dp_adaptive_clip"] = true;
  CHECK_THROWS_WITH_AS(MakeAsyncStrategy(c, 10), doctest::Contains("dp_adaptive_clip"),
                       ConfigError);
  // Central DP with sample weighting would let one client weigh more than C/K.
  StrategyConfig w;
  w.name = "fedbuff";
  w.clients = 10;
  w.clients_per_round = 10;
  w.params["dp"] = true;
  w.params["sample_weighting"] = true;
  CHECK_THROWS_WITH_AS(MakeAsyncStrategy(w, 10), doctest::Contains("sample_weighting"),
                       ConfigError);
}

}  // namespace edgefl::algorithms
