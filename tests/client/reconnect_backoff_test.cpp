// A device's waits between reconnect attempts: backoff that doubles to a
// cap, jittered per device so that a fleet does not return in lockstep.
#include "client/reconnect_backoff.h"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace edgefl::client {
namespace {

TEST_CASE("reconnect backoff: each wait is in the upper half of a backoff that doubles to 10 s") {
  ReconnectBackoff backoff("client-7");
  const double expected[] = {0.5, 1, 2, 4, 8, 10, 10, 10};
  for (const double b : expected) {
    const double wait = backoff.NextWait();
    CHECK(wait >= b / 2);
    CHECK(wait < b);
  }
  backoff.Reset();
  const double wait = backoff.NextWait();
  CHECK(wait >= 0.25);
  CHECK(wait < 0.5);
}

TEST_CASE(
    "reconnect backoff: a fleet's first waits spread over the interval - one device repeats") {
  std::vector<double> first;
  for (int k = 0; k < 1000; ++k) {
    ReconnectBackoff backoff("client-" + std::to_string(k));
    first.push_back(backoff.NextWait());
  }
  std::sort(first.begin(), first.end());
  // 1,000 devices that lost the coordinator together: their first retries
  // cover [0.25, 0.5) s rather than arriving at one instant.
  CHECK(first.front() < 0.26);
  CHECK(first.back() > 0.49);
  CHECK(first[250] == doctest::Approx(0.3125).epsilon(0.1));
  CHECK(first[750] == doctest::Approx(0.4375).epsilon(0.1));
  // The same device waits the same on every run (the id seeds the jitter).
  ReconnectBackoff a("client-3"), b("client-3");
  for (int i = 0; i < 5; ++i)
    CHECK(a.NextWait() == b.NextWait());
}

}  // namespace
}  // namespace edgefl::client
