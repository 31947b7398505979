#include "sim/heterogeneity.h"

#include <algorithm>
#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::sim {

TEST_CASE("heterogeneity: uniform speeds lie in the spread and repeat with the seed") {
  HeterogeneityOptions o;
  o.speed_spread = 8.0;
  o.base_speed = 100.0;
  o.seed = 3;
  const Fleet a(o, 64), b(o, 64);
  CHECK(a.speeds() == b.speeds());
  const auto [lo, hi] = std::minmax_element(a.speeds().begin(), a.speeds().end());
  CHECK(*lo >= 100.0);
  CHECK(*hi <= 800.0);
  CHECK(*hi / *lo > 4.0);  // 64 draws spread over most of the range
  o.seed = 4;
  CHECK(Fleet(o, 64).speeds() != a.speeds());
  o.speed_spread = 1.0;
  const Fleet equal(o, 5);
  for (double s : equal.speeds())
    CHECK(s == 100.0);
}

TEST_CASE("heterogeneity: task time is planned samples over speed plus the model both ways") {
  HeterogeneityOptions o;
  o.base_speed = 50.0;
  o.bandwidth = 1000.0;
  const Fleet fleet(o, 2);
  CHECK(fleet.TaskSeconds(1, 100, 250) == doctest::Approx(2.0 + 0.5));
  train::TrainRecipe r;
  r.local_steps = 10;
  r.batch_size = 32;
  CHECK(PlannedSamples(r, 1000) == 320);
  CHECK(PlannedSamples(r, 20) == 200);  // a batch is at most the local set
  r.local_steps = 0;
  r.epochs = 2;
  CHECK(PlannedSamples(r, 1000) == 2000);
}

TEST_CASE("heterogeneity: speed and availability traces are read with clear errors") {
  edgefl::testing::TempDir dir;
  edgefl::testing::WriteFile(dir / "speeds.csv", "# samples/s\n10\n0,40\n");
  HeterogeneityOptions o;
  o.speed_dist = "trace";
  o.speed_trace = (dir / "speeds.csv").string();
  const Fleet fleet(o, 3);
  CHECK(fleet.speeds() == std::vector<double>{10.0, 40.0, 10.0});
  edgefl::testing::WriteFile(dir / "bad.csv", "10\nfast\n");
  o.speed_trace = (dir / "bad.csv").string();
  CHECK_THROWS_WITH_AS(Fleet(o, 3), doctest::Contains("bad.csv:2"), DataError);
  o.speed_trace = (dir / "missing.csv").string();
  CHECK_THROWS_AS(Fleet(o, 3), IoError);

  edgefl::testing::WriteFile(dir / "on.csv", "0,10,20\n0,30,40\n");
  HeterogeneityOptions a;
  a.availability = "trace";
  a.availability_trace = (dir / "on.csv").string();
  Fleet on(a, 2);
  CHECK_FALSE(on.Available(0, 5.0));
  CHECK(on.NextAvailable(0, 5.0) == 10.0);
  CHECK(on.Available(0, 15.0));
  CHECK(on.OnlineUntil(0, 15.0) == 20.0);
  CHECK(on.NextAvailable(0, 25.0) == 30.0);
  CHECK(std::isinf(on.NextAvailable(0, 45.0)));
  CHECK(on.Available(1, 1e9));  // not in the trace: always on
}

TEST_CASE("heterogeneity: on-off availability alternates and dropout follows its rate") {
  HeterogeneityOptions o;
  o.availability = "onoff";
  o.on_seconds = 10.0;
  o.off_seconds = 30.0;
  o.dropout = 0.25;
  Fleet fleet(o, 4);
  size_t on = 0, samples = 0;
  for (double t = 0.0; t < 4000.0; t += 1.0, ++samples)
    on += fleet.Available(2, t);
  const double fraction = static_cast<double>(on) / static_cast<double>(samples);
  CHECK(fraction > 0.12);
  CHECK(fraction < 0.40);  // about 10 / (10 + 30)
  const double until = fleet.OnlineUntil(2, 0.0);
  CHECK(until > 0.0);
  CHECK_FALSE(fleet.Available(2, until));
  CHECK(fleet.NextAvailable(2, until) > until);
  size_t dropped = 0;
  for (int64_t task = 1; task <= 2000; ++task)
    dropped += fleet.DropsOut(1, task);
  CHECK(dropped > 400);
  CHECK(dropped < 600);
  CHECK(fleet.DropsOut(1, 7) == Fleet(o, 4).DropsOut(1, 7));
  o.dropout = 1.0;
  CHECK_THROWS_AS(Fleet(o, 4), ConfigError);
}

}  // namespace edgefl::sim
