// SecAgg+ end to end in-process: the unmasked sum, drop-outs at every
// stage, the failure beyond the threshold, what a masked vector and fewer
// than t shares reveal, and the refused double request.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/random.h"
#include "privacy/secagg_client.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_quantize.h"
#include "privacy/secagg_round.h"
#include "privacy/secagg_server.h"

namespace edgefl::privacy {
namespace {

SecAggConfig MakeConfig(uint32_t n, uint32_t k, uint32_t t, uint64_t d, uint32_t bits = 32,
                        uint32_t max_weight = 1000) {
  SecAggConfig c;
  c.round = 1;
  c.n = n;
  c.k = k;
  c.t = t;
  c.graph_seed = 99;
  c.bits = bits;
  c.dimension = d;
  c.clip = 8.0;
  c.max_weight = max_weight;
  c.levels = SecAggLevels(bits, n, c.max_weight);
  c.min_survivors = std::max<uint32_t>(2, t);
  return c;
}

struct Federation {
  std::vector<std::vector<float>> updates;
  std::vector<int64_t> weights;
  std::vector<std::vector<uint32_t>> inputs;
};

Federation MakeFederation(const SecAggConfig& config, uint64_t seed) {
  Federation f;
  Rng rng(seed);
  for (uint32_t u = 0; u < config.n; ++u) {
    std::vector<float> x(config.dimension);
    for (float& v : x)
      v = static_cast<float>(rng.Normal(0.0, 2.0));
    const int64_t w = 1 + static_cast<int64_t>(rng.UniformInt(1000));
    Rng rounding = Rng::Derive(seed, {1, u});
    f.inputs.push_back(QuantizeUpdate(x, w, config, rounding));
    f.updates.push_back(std::move(x));
    f.weights.push_back(w);
  }
  return f;
}

// The plain weighted mean over `who`, with the same clipping as the encoding.
std::vector<double> PlainMean(const Federation& f, const SecAggConfig& c,
                              const std::vector<uint32_t>& who) {
  std::vector<double> sum(c.dimension, 0.0);
  double weight = 0;
  for (uint32_t u : who) {
    const double omega = static_cast<double>(f.weights[u]) / c.max_weight;
    for (size_t i = 0; i < c.dimension; ++i) {
      sum[i] += std::clamp(omega * f.updates[u][i], -c.clip, c.clip);
    }
    weight += omega;
  }
  for (double& v : sum)
    v /= weight;
  return sum;
}

// Runs the round and checks the decoded mean against the plain one over the
// contributors, within the quantisation bound m·(2c/L)/Σω.
void CheckRound(const SecAggConfig& c, const Federation& f, const SecAggDropouts& drop,
                size_t expected_contributors) {
  const SecAggRoundResult r = RunSecAggRound(c, f.inputs, drop);
  INFO(r.failure);
  REQUIRE(r.ok);
  REQUIRE(r.outcome.contributors.size() == expected_contributors);
  const DecodedSum decoded =
      DecodeSum(r.outcome.sum, static_cast<uint32_t>(r.outcome.contributors.size()), c);
  const std::vector<double> mean = decoded.Mean();
  const std::vector<double> plain = PlainMean(f, c, r.outcome.contributors);
  uint64_t samples = 0;
  for (uint32_t u : r.outcome.contributors)
    samples += static_cast<uint64_t>(f.weights[u]);
  CHECK(decoded.sample_sum == samples);  // the weight is exact
  const double bound = expected_contributors * (2 * c.clip / c.levels) / decoded.weight_sum;
  double worst = 0;
  for (size_t i = 0; i < mean.size(); ++i)
    worst = std::max(worst, std::abs(mean[i] - plain[i]));
  CHECK(worst <= bound);
  CHECK(worst > 0);  // a real comparison, not a copy
}

}  // namespace

TEST_CASE("the unmasked sum equals the plain sum within quantisation for n = 3 10 100") {
  SUBCASE("n = 3, complete") {
    const SecAggConfig c = MakeConfig(3, 2, 2, 40);
    CheckRound(c, MakeFederation(c, 1), {}, 3);
  }
  SUBCASE("n = 10, complete") {
    const SecAggConfig c = MakeConfig(10, 9, 5, 40);
    CheckRound(c, MakeFederation(c, 2), {}, 10);
  }
  SUBCASE("n = 100, Harary with the chosen k and t") {
    const SecAggParams p = ChooseSecAggParams(SecAggParamRequest{100, 0.1, 0.05, 40, 20});
    CAPTURE(p.k);
    CAPTURE(p.t);
    const SecAggConfig c = MakeConfig(100, p.k, p.t, 20);
    CheckRound(c, MakeFederation(c, 3), {}, 100);
  }
  SUBCASE("n = 100, sparse Harary k = 10, 16-bit modulus") {
    const SecAggConfig c = MakeConfig(100, 10, 6, 20, 24);
    CheckRound(c, MakeFederation(c, 4), {}, 100);
  }
}

TEST_CASE("drop-outs at every stage up to the threshold are tolerated") {
  // Complete graph on 10, t = 5: each client keeps ≥ 5 of its 9 neighbours
  // while at most 4 drop.
  const SecAggConfig c = MakeConfig(10, 9, 5, 30);
  const Federation f = MakeFederation(c, 5);
  SUBCASE("before advertising keys") {
    SecAggDropouts d;
    d.before_advertise = {0, 1, 2, 3};
    CheckRound(c, f, d, 6);
  }
  SUBCASE("after advertising, before sharing") {
    SecAggDropouts d;
    d.before_sharing = {1, 4, 7, 9};
    CheckRound(c, f, d, 6);
  }
  SUBCASE("after sharing, before the masked input") {
    SecAggDropouts d;
    d.before_masking = {0, 3, 5, 8};
    CheckRound(c, f, d, 6);
  }
  SUBCASE("after sending the masked input") {
    // They are in the sum: their self-masks come from the others' shares.
    SecAggDropouts d;
    d.before_unmasking = {2, 3, 6, 9};
    CheckRound(c, f, d, 10);
  }
  SUBCASE("one at each stage") {
    SecAggDropouts d;
    d.before_advertise = {0};
    d.before_sharing = {1};
    d.before_masking = {2};
    d.before_unmasking = {3};
    CheckRound(c, f, d, 7);
  }
  SUBCASE("on a sparse Harary graph") {
    const SecAggConfig sparse = MakeConfig(40, 8, 5, 10);
    const Federation g = MakeFederation(sparse, 6);
    const SecAggGraph graph(40, 8, sparse.graph_seed);
    // Drop 3 of client 0's neighbours after sharing: it keeps 5 = t.
    SecAggDropouts d;
    const auto& n0 = graph.Neighbours(0);
    d.before_masking = {n0[0], n0[1], n0[2]};
    CheckRound(sparse, g, d, 37);
  }
}

TEST_CASE("beyond the threshold the round fails cleanly naming the stage and the counts") {
  const SecAggConfig c = MakeConfig(10, 9, 5, 10);
  const Federation f = MakeFederation(c, 7);
  SUBCASE("too few keys") {
    SecAggDropouts d;
    d.before_advertise = {0, 1, 2, 3, 4, 5};
    const SecAggRoundResult r = RunSecAggRound(c, f.inputs, d);
    CHECK_FALSE(r.ok);
    CHECK(r.failure == "secagg: advertise keys: 4 of 10 clients sent keys, at least 5 are needed");
  }
  SUBCASE("too few neighbours with keys") {
    SecAggConfig loose = c;
    loose.min_survivors = 2;
    SecAggDropouts d;
    d.before_advertise = {0, 1, 2, 3, 4, 5};
    const SecAggRoundResult r = RunSecAggRound(loose, f.inputs, d);
    CHECK_FALSE(r.ok);
    CHECK(r.failure ==
          "secagg: advertise keys: client 6 has 3 neighbours that sent keys, the threshold is 5");
  }
  SUBCASE("too few shares") {
    SecAggDropouts d;
    d.before_sharing = {0, 1, 2, 3, 4};
    const SecAggRoundResult r = RunSecAggRound(c, f.inputs, d);
    CHECK_FALSE(r.ok);
    CHECK(
        r.failure ==
        "secagg: share keys: client 5 has 4 neighbours that shared their keys, the threshold is 5 "
        "(5 of 10 clients shared)");
  }
  SUBCASE("too many drop after sharing: the survivors' secrets cannot be rebuilt") {
    SecAggConfig loose = c;
    loose.min_survivors = 2;
    SecAggDropouts d;
    d.before_masking = {0, 1, 2, 3, 4, 5};
    const SecAggRoundResult r = RunSecAggRound(loose, f.inputs, d);
    CHECK_FALSE(r.ok);
    CHECK(r.failure ==
          "secagg: unmasking: 3 shares of client 6's self-mask seed arrived, the threshold is 5 (4 "
          "of 4 "
          "survivors answered)");
  }
  SUBCASE("too many drop after the masked input") {
    SecAggDropouts d;
    d.before_unmasking = {0, 1, 2, 3, 4, 5};
    const SecAggRoundResult r = RunSecAggRound(c, f.inputs, d);
    CHECK_FALSE(r.ok);
    CHECK(r.failure ==
          "secagg: unmasking: 4 shares of client 0's self-mask seed arrived, the threshold is 5 (4 "
          "of "
          "10 survivors answered)");
  }
  SUBCASE("fewer masked inputs than the minimum") {
    SecAggConfig strict = c;
    strict.min_survivors = 9;
    SecAggDropouts d;
    d.before_masking = {0, 1};
    const SecAggRoundResult r = RunSecAggRound(strict, f.inputs, d);
    CHECK_FALSE(r.ok);
    CHECK(r.failure ==
          "secagg: masked input: 8 of 10 clients sent a masked input, at least 9 are needed");
  }
}

TEST_CASE("a masked vector is uniform over Z_2^b whatever the input") {
  // b = 8: 256 bins, 25,600 values per vector, 100 expected per bin. The
  // chi-square statistic with 255 degrees of freedom exceeds 370 with
  // probability < 1e-5. Inputs: all-zero and all-L (the extremes).
  const uint64_t d = 25599;
  const SecAggConfig c = MakeConfig(3, 2, 2, d, 8, 50);
  std::vector<std::vector<uint32_t>> inputs(3);
  inputs[0].assign(d + 1, 0);
  inputs[1].assign(d + 1, static_cast<uint32_t>(c.levels));
  inputs[2].assign(d + 1, 1);
  // Capture the masked vectors by running the stages by hand.
  SecAggServer server(c);
  std::vector<SecAggClient> clients;
  for (uint32_t u = 0; u < 3; ++u) {
    clients.emplace_back(c, u);
    server.ReceiveKeys(clients[u].AdvertiseKeys());
  }
  auto keys = server.FinishAdvertise();
  for (uint32_t u = 0; u < 3; ++u)
    server.ReceiveShares(clients[u].ShareSecrets(keys[u]));
  auto routed = server.FinishShareKeys();
  std::vector<std::vector<uint32_t>> masked;
  for (uint32_t u = 0; u < 3; ++u) {
    MaskedInput m = clients[u].MaskInput(routed[u], inputs[u]);
    masked.push_back(m.masked);
    server.ReceiveMaskedInput(m);
  }
  for (uint32_t u = 0; u < 2; ++u) {
    std::vector<double> bins(256, 0.0);
    for (uint32_t v : masked[u]) {
      REQUIRE(v < 256);
      bins[v] += 1;
    }
    double chi2 = 0;
    for (double b : bins)
      chi2 += (b - 100.0) * (b - 100.0) / 100.0;
    CAPTURE(u);
    CHECK(chi2 < 370);
    CHECK(chi2 > 160);  // not suspiciously regular either
  }
  // Independent of the input: the masked values of the all-zero and the
  // all-L client are uncorrelated with each other and with a ramp input.
  double cross = 0;
  for (size_t i = 0; i < masked[0].size(); ++i) {
    cross += (masked[0][i] - 127.5) * (masked[1][i] - 127.5);
  }
  cross /= masked[0].size() * (256.0 * 256.0 / 12.0);
  CHECK(std::abs(cross) < 0.03);  // ≈ 4.7 standard errors
  // The three still add up: the unmasking works on these very vectors.
  auto requests = server.FinishMaskedInput();
  for (uint32_t u = 0; u < 3; ++u)
    server.ReceiveUnmask(clients[u].Unmask(requests[u]));
  const SecAggOutcome out = server.FinishUnmask();
  CHECK(out.sum[5] == ((c.levels + 1) & 255));
}

TEST_CASE("fewer than t shares do not unmask a client") {
  // n = 5 complete, t = 3. The server (or colluders) holding only 2 shares
  // of client 0's self-mask seed cannot rebuild it: FinishUnmask refuses,
  // and interpolating the 2 shares gives a seed that does not remove the
  // mask (the result is far from the client's input).
  const SecAggConfig c = MakeConfig(5, 4, 3, 200);
  const Federation f = MakeFederation(c, 8);
  SecAggServer server(c);
  std::vector<SecAggClient> clients;
  for (uint32_t u = 0; u < 5; ++u) {
    clients.emplace_back(c, u);
    server.ReceiveKeys(clients[u].AdvertiseKeys());
  }
  auto keys = server.FinishAdvertise();
  for (uint32_t u = 0; u < 5; ++u)
    server.ReceiveShares(clients[u].ShareSecrets(keys[u]));
  auto routed = server.FinishShareKeys();
  std::vector<uint32_t> masked0;
  for (uint32_t u = 0; u < 5; ++u) {
    MaskedInput m = clients[u].MaskInput(routed[u], f.inputs[u]);
    if (u == 0) masked0 = m.masked;
    server.ReceiveMaskedInput(m);
  }
  auto requests = server.FinishMaskedInput();
  // Only clients 1 and 2 answer: 2 < t shares of everyone's seed.
  std::vector<ShamirShare> shares_of_0;
  for (uint32_t u : {1u, 2u}) {
    const UnmaskResponse r = clients[u].Unmask(requests[u]);
    for (const auto& [v, s] : r.self_mask_shares) {
      if (v == 0) shares_of_0.push_back(s);
    }
    server.ReceiveUnmask(r);
  }
  REQUIRE(shares_of_0.size() == 2);
  CHECK_THROWS_WITH_AS(
      server.FinishUnmask(),
      "secagg: unmasking: 2 shares of client 0's self-mask seed arrived, the threshold "
      "is 3 (2 of 5 survivors answered)",
      SecAggError);
  // The attempt by interpolation: remove PRG(b') from y_0 (even granting
  // the attacker all of client 0's pairwise masks would leave PRG(b) − PRG(b')).
  const Bytes guess = ShamirInterpolate(shares_of_0, 32);
  Key256 key;
  std::copy(guess.begin(), guess.end(), key.begin());
  std::vector<uint32_t> attempt = masked0;
  AddMask(key, -1, attempt);
  size_t matches = 0;
  for (size_t i = 0; i < c.dimension; ++i)
    matches += attempt[i] == f.inputs[0][i];
  CHECK(matches < 3);
}

TEST_CASE("an honest client refuses a request for both shares of the same client") {
  const SecAggConfig c = MakeConfig(4, 3, 2, 5);
  const Federation f = MakeFederation(c, 9);
  SecAggServer server(c);
  std::vector<SecAggClient> clients;
  for (uint32_t u = 0; u < 4; ++u) {
    clients.emplace_back(c, u);
    server.ReceiveKeys(clients[u].AdvertiseKeys());
  }
  auto keys = server.FinishAdvertise();
  for (uint32_t u = 0; u < 4; ++u)
    server.ReceiveShares(clients[u].ShareSecrets(keys[u]));
  auto routed = server.FinishShareKeys();
  for (uint32_t u = 0; u < 4; ++u)
    server.ReceiveMaskedInput(clients[u].MaskInput(routed[u], f.inputs[u]));
  SUBCASE("in one request") {
    UnmaskRequest both;
    both.survivors = {1, 2};
    both.dropped = {2};
    CHECK_THROWS_WITH_AS(
        clients[0].Unmask(both),
        "secagg: unmasking: refused: the server asked client 0 for both the self-mask "
        "share and the mask-key share of client 2",
        SecAggError);
    // Nothing was revealed: the honest request is still answered.
    UnmaskRequest honest;
    honest.survivors = {1, 2, 3};
    CHECK(clients[0].Unmask(honest).self_mask_shares.size() == 3);
  }
  SUBCASE("in a second request after the first was answered") {
    UnmaskRequest first;
    first.survivors = {1, 2, 3};
    CHECK(clients[0].Unmask(first).self_mask_shares.size() == 3);
    UnmaskRequest second;
    second.dropped = {3};
    CHECK_THROWS_WITH_AS(
        clients[0].Unmask(second),
        "secagg: unmasking: refused: client 0 already revealed its self-mask share of "
        "client 3 and will not reveal the other",
        SecAggError);
    // Asking again for the same kind is harmless and answered.
    CHECK(clients[0].Unmask(first).self_mask_shares.size() == 3);
  }
  SUBCASE("about a client it holds no share of") {
    UnmaskRequest odd;
    odd.survivors = {0};
    CHECK_THROWS_AS(clients[0].Unmask(odd), SecAggError);
  }
}

TEST_CASE("stages out of order and tampered shares are refused") {
  const SecAggConfig c = MakeConfig(3, 2, 2, 5);
  SecAggClient a(c, 0);
  CHECK_THROWS_AS(a.ShareSecrets(NeighbourKeys{}), SecAggError);
  SecAggServer server(c);
  std::vector<SecAggClient> clients;
  for (uint32_t u = 0; u < 3; ++u) {
    clients.emplace_back(c, u);
    server.ReceiveKeys(clients[u].AdvertiseKeys());
  }
  auto keys = server.FinishAdvertise();
  for (uint32_t u = 0; u < 3; ++u)
    server.ReceiveShares(clients[u].ShareSecrets(keys[u]));
  auto routed = server.FinishShareKeys();
  RoutedShares tampered = routed[0];
  tampered.shares[0].ciphertext[20] ^= 1;
  CHECK_THROWS_AS(clients[0].MaskInput(tampered, std::vector<uint32_t>(6, 0)), SecAggError);
}

TEST_CASE("quantisation: a single client's update decodes within one level") {
  SecAggConfig c = MakeConfig(1, 1, 1, 4);
  c.levels = 1000;
  const std::vector<float> x = {0.5f, -3.0f, 100.0f, 0.0f};
  Rng rng(3);
  const std::vector<uint32_t> q = QuantizeUpdate(x, 2000, c, rng);  // w > W: ω = 1
  CHECK(q[4] == 1000);
  const DecodedSum d = DecodeSum(q, 1, c);
  CHECK(d.weight_sum == 1.0);
  CHECK(d.weighted_sum[0] == doctest::Approx(0.5).epsilon(0.033));
  CHECK(std::abs(d.weighted_sum[1] + 3.0) <= 0.016);
  CHECK(d.weighted_sum[2] == doctest::Approx(8.0));  // clipped to c
  CHECK(std::abs(d.weighted_sum[3]) <= 0.016);
  CHECK_THROWS_AS(SecAggLevels(32, 5000000, 1000), ConfigError);
  CHECK(SecAggLevels(32, 1000, 1000) == 4294967);
}

}  // namespace edgefl::privacy
