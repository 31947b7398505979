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
    CHECK(2 * p.t > p.k);
    CHECK(p.t <= p.k);
    CHECK(p.log2_security_failure <= -40);
    CHECK(p.log2_correctness_failure <= -20);
    // Minimal: the degree below fails a target for every t.
    SecAggParamRequest again = request;
    CHECK(ChooseSecAggParams(again).k == p.k);
  }
  // More drop-outs need a larger degree.
  SecAggParamRequest low{1000, 0.0, 0.05, 40, 20};
  SecAggParamRequest high{1000, 0.3, 0.05, 40, 20};
  CHECK(ChooseSecAggParams(low).k < ChooseSecAggParams(high).k);
}

TEST_CASE("small cohorts fall back to the complete graph") {
  SecAggParamRequest request{10, 0.1, 0.05, 40, 20};
  const SecAggParams p = ChooseSecAggParams(request);
  CHECK(p.k == 9);
  CHECK(p.t >= 5);
  SecAggParamRequest three{3, 0.0, 0.0, 40, 20};
  const SecAggParams q = ChooseSecAggParams(three);
  CHECK(q.k == 2);
  CHECK(q.t == 2);
  CHECK_THROWS_AS(ChooseSecAggParams(SecAggParamRequest{1, 0.1, 0.1, 40, 20}), Error);
  CHECK_THROWS_AS(ChooseSecAggParams(SecAggParamRequest{10, 1.0, 0.1, 40, 20}), Error);
}

}  // namespace edgefl::privacy
