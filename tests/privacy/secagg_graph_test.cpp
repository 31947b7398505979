// SecAgg+'s Harary graph and the choice of k and t.
#include "privacy/secagg_graph.h"

#include <cmath>
#include <set>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::privacy {

TEST_CASE("the Harary graph is k-regular, symmetric and fixed by its seed") {
  const SecAggGraph g(50, 8, 3);
  for (uint32_t u = 0; u < 50; ++u) {
    REQUIRE(g.Neighbours(u).size() == 8);
    for (uint32_t v : g.Neighbours(u)) {
      CHECK(v != u);
      CHECK(g.Adjacent(v, u));
    }
  }
  const SecAggGraph same(50, 8, 3);
  const SecAggGraph other(50, 8, 4);
  bool differs = false;
  for (uint32_t u = 0; u < 50; ++u) {
    CHECK(same.Neighbours(u) == g.Neighbours(u));
    differs = differs || other.Neighbours(u) != g.Neighbours(u);
  }
  CHECK(differs);
}

TEST_CASE("a degree of n - 1 or more is the complete graph") {
  const SecAggGraph g(5, 10, 1);
  CHECK(g.complete());
  CHECK(g.degree() == 4);
  CHECK(g.Neighbours(2) == std::vector<uint32_t>{0, 1, 3, 4});
  CHECK_THROWS_AS(SecAggGraph(10, 3, 1), Error);  // odd degree below n − 1
  CHECK_THROWS_AS(SecAggGraph(1, 1, 1), Error);
}

TEST_CASE("the parameter choice meets 2^-40 and 2^-20 with a logarithmic degree at scale") {
  for (uint32_t n : {1000u, 10000u}) {
    SecAggParamRequest request;
    request.n = n;
    request.dropout_rate = 0.1;
    request.corrupt_fraction = 0.05;
    const SecAggParams p = ChooseSecAggParams(request);
    CAPTURE(n);
    CAPTURE(p.k);
    CAPTURE(p.t);
    CHECK(p.meets_targets);
    CHECK(p.k < n / 4);
    CHECK(p.k % 2 == 0);
    CHECK(p.t >= 2);
    CHECK(p.t <= p.k);
    CHECK(p.log2_security_failure <= -40);
    CHECK(p.log2_correctness_failure <= -20);
  }
  // More drop-outs need a larger degree.
  SecAggParamRequest low{1000, 0.0, 0.05, 40, 20};
  SecAggParamRequest high{1000, 0.3, 0.05, 40, 20};
  CHECK(ChooseSecAggParams(low).k < ChooseSecAggParams(high).k);
}

// Reference values: google-parfait/federated-compute@bdbd822
// fcp/secagg/server/graph_parameter_finder_test.cc (σ = 40, η = 20), whose
// test asserts the degree exactly and the threshold as an upper bound.
TEST_CASE("the parameter choice reproduces federated-compute's Harary graph parameters") {
  struct Row {
    uint32_t n;
    double corrupt;
    double dropout;
    SecAggAdversary adversary;
    uint32_t k;
    uint32_t t;
  };
  constexpr auto kCurious = SecAggAdversary::kCuriousServer;
  constexpr auto kSemiMalicious = SecAggAdversary::kSemiMaliciousServer;
  const Row rows[] = {
      {100, 0.45, 0.45, kCurious, 92, 46},          {1000, 0.33, 0.33, kCurious, 286, 150},
      {10000, 0.33, 0.33, kCurious, 422, 221},      {100, 0.05, 0.33, kCurious, 28, 6},
      {1000, 0.05, 0.33, kCurious, 72, 24},         {10000, 0.05, 0.33, kCurious, 86, 29},
      {1000, 0.33, 0.05, kCurious, 78, 60},         {100, 0.05, 0.33, kSemiMalicious, 72, 39},
      {1000, 0.05, 0.33, kSemiMalicious, 398, 223}, {1000, 0.33, 0.05, kSemiMalicious, 132, 109},
  };
  for (const Row& row : rows) {
    SecAggParamRequest request{row.n, row.dropout, row.corrupt, 40, 20, row.adversary};
    const SecAggParams p = ChooseSecAggParams(request);
    CAPTURE(row.n);
    CAPTURE(row.corrupt);
    CAPTURE(row.dropout);
    CHECK(p.k == row.k);
    CHECK(p.t == row.t);
    CHECK(p.meets_targets);
  }
}

TEST_CASE("a semi-malicious server needs a majority threshold") {
  SecAggParamRequest request{1000, 0.3, 0.05, 40, 20, SecAggAdversary::kSemiMaliciousServer};
  const SecAggParams p = ChooseSecAggParams(request);
  CHECK(2 * p.t > p.k);
  request.adversary = SecAggAdversary::kCuriousServer;
  const SecAggParams q = ChooseSecAggParams(request);
  CHECK(q.k < p.k);
  CHECK(q.t < p.t);
}

TEST_CASE("small cohorts get a small ring or fall back to the complete graph") {
  // 10 clients, one planned drop-out and one corrupt client: a 4-regular
  // graph whose threshold 2 survives one lost neighbour.
  const SecAggParams ten = ChooseSecAggParams(SecAggParamRequest{10, 0.1, 0.05, 40, 20});
  CHECK(ten.k == 4);
  CHECK(ten.t == 2);
  CHECK(ten.meets_targets);
  // 5 clients with one planned drop-out: no ring qualifies.
  const SecAggParams five = ChooseSecAggParams(SecAggParamRequest{5, 0.1, 0.05, 40, 20});
  CHECK(five.k == 4);
  CHECK(five.t == 2);
  SecAggParamRequest three{3, 0.0, 0.0, 40, 20};
  const SecAggParams q = ChooseSecAggParams(three);
  CHECK(q.k == 2);
  CHECK(q.t == 2);
  CHECK_THROWS_AS(ChooseSecAggParams(SecAggParamRequest{1, 0.1, 0.1, 40, 20}), Error);
  CHECK_THROWS_AS(ChooseSecAggParams(SecAggParamRequest{10, 1.0, 0.1, 40, 20}), Error);
}

}  // namespace edgefl::privacy
