// Distributed DP under secure aggregation (algorithms/secure_aggregation.h,
// secagg_party.h): each client clips its update to C and adds
// N(0, (z·C)²/m_min), so the unmasked sum of m_min inputs carries noise of
// std-dev exactly z·C; clipping bounds a client's contribution; a round
// with fewer than m_min inputs is not aggregated.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/secagg_party.h"
#include "algorithms/secure_aggregation.h"

namespace edgefl::algorithms {
namespace {

std::vector<train::FitResult> Results(const Eigen::VectorXf& global,
                                      const std::vector<Eigen::VectorXf>& deltas) {
  std::vector<train::FitResult> out;
  for (size_t k = 0; k < deltas.size(); ++k) {
    train::FitResult r;
    r.client = "c";
    r.client += std::to_string(k);
    r.train.parameters = global + deltas[k];
    r.train.num_samples = 10 + k;  // ignored: distributed DP weighs clients uniformly
    out.push_back(std::move(r));
  }
  return out;
}

// RunSecureAggregation over in-process parties; clients in `lost` drop
// out before sending their masked input.
SecureAggregationResult DistributedDpRun(const Eigen::VectorXf& global,
                                         const std::vector<Eigen::VectorXf>& deltas,
                                         const std::vector<uint32_t>& lost,
                                         const SecureAggregationOptions& options) {
  const std::vector<train::FitResult> results = Results(global, deltas);
  std::vector<std::unique_ptr<InProcessSecAggParty>> owned;
  std::vector<SecAggParty*> parties;
  for (uint32_t u = 0; u < deltas.size(); ++u) {
    const bool drops = std::find(lost.begin(), lost.end(), u) != lost.end();
    owned.push_back(std::make_unique<InProcessSecAggParty>(
        std::vector<float>(deltas[u].data(), deltas[u].data() + deltas[u].size()), 10,
        drops ? std::optional<SecAggStage>(SecAggStage::kMask) : std::nullopt));
    parties.push_back(owned.back().get());
  }
  return RunSecureAggregation(1, global, results, parties, options);
}

SecureAggregationOptions DistributedDpDpOptions(double z, double clip, uint32_t t) {
  SecureAggregationOptions o;
  o.seed = 3;
  o.t = t;
  o.clip = 16.0;
  o.dp_clip = clip;
  o.dp_noise_multiplier = z;
  o.dp_seeded_noise = true;
  return o;
}

}  // namespace

TEST_CASE(
    "distributed dp: the noise of an unmasked sum of m inputs has stddev z C sqrt of m over "
    "m_min") {
  constexpr Eigen::Index d = 20000;
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(d);
  // Five clients, t = 4: m_min = 4, all five summed (a sum of exactly m_min
  // cannot be unmasked when m_min = t: each survivor's self mask needs t
  // shares from the other survivors).
  const std::vector<Eigen::VectorXf> deltas(5, Eigen::VectorXf::Zero(d));
  const SecureAggregationResult r =
      DistributedDpRun(global, deltas, {}, DistributedDpDpOptions(2.0, 0.5, 4));
  CAPTURE(r.failure);
  REQUIRE(r.ok);
  CHECK(r.metrics.at("secagg_contributors") == 5);
  CHECK(r.metrics.at("dp_min_inputs") == 4);
  // The mean is the sum over 5: the sum's noise.
  const Eigen::VectorXd sum = 5.0 * r.sum.train.parameters.cast<double>();
  const double mean = sum.mean();
  const double stddev = std::sqrt((sum.array() - mean).square().sum() / (d - 1));
  CHECK(std::abs(mean) < 0.05);  // 7 std errors (1/√d)
  // z·C·√(5/4) ≥ z·C = 1; the sample std-dev of 20,000 normals is within
  // 2.5% (5 sigma).
  CHECK(stddev == doctest::Approx(std::sqrt(5.0 / 4)).epsilon(0.025));
  CHECK(r.metrics.at("dp_noise_std") == doctest::Approx(std::sqrt(5.0 / 4) / 5));
  // The same seed gives the same noise (dp_noise = seeded, simulator only).
  const SecureAggregationResult again =
      DistributedDpRun(global, deltas, {}, DistributedDpDpOptions(2.0, 0.5, 4));
  CHECK(again.sum.train.parameters == r.sum.train.parameters);
}

TEST_CASE("distributed dp: each client's update is clipped to C before it is summed") {
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(3);
  Eigen::VectorXf big(3), small(3);
  big << 3.0f, 4.0f, 0.0f;  // norm 5, clipped to 1: (0.6, 0.8, 0)
  small << 0.1f, 0.0f, 0.0f;
  const Eigen::VectorXf zero = Eigen::VectorXf::Zero(3);
  const SecureAggregationResult r = SecureAggregate(1, global, Results(global, {big, small, zero}),
                                                    DistributedDpDpOptions(0.0, 1.0, 2));
  REQUIRE(r.ok);
  // Uniform weights: (0.6 + 0.1 + 0, 0.8, 0)/3, within quantisation.
  CHECK(r.sum.train.parameters[0] == doctest::Approx(0.7 / 3).epsilon(1e-6));
  CHECK(r.sum.train.parameters[1] == doctest::Approx(0.8 / 3).epsilon(1e-6));
  CHECK(std::abs(r.sum.train.parameters[2]) < 1e-6);
}

TEST_CASE("distributed dp: a round with fewer than m_min masked inputs is not aggregated") {
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(8);
  const std::vector<Eigen::VectorXf> deltas(5, Eigen::VectorXf::Constant(8, 0.01f));
  // t = 4: m_min = 4, and only 3 masked inputs arrive.
  const SecureAggregationResult r =
      DistributedDpRun(global, deltas, {3, 4}, DistributedDpDpOptions(1.0, 1.0, 4));
  CHECK_FALSE(r.ok);
  CAPTURE(r.failure);
  CHECK(r.failure.find("secagg: masked input: 3 of 5") != std::string::npos);
}

}  // namespace edgefl::algorithms
