#include "train/lr_schedule.h"

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::train {
namespace {

TEST_CASE("constant schedule is the base at every index") {
  LrSchedule s;
  s.base = 0.05;
  for (int64_t t : {0, 1, 50, 1000})
    CHECK(s.ValueAt(t) == 0.05);
}

TEST_CASE("step schedule decays by gamma every s units") {
  LrSchedule s;
  s.kind = LrScheduleKind::kStep;
  s.base = 0.1;
  s.decay = 0.5;
  s.step_every = 10;
  s.Validate();
  CHECK(s.ValueAt(0) == doctest::Approx(0.1));
  CHECK(s.ValueAt(9) == doctest::Approx(0.1));
  CHECK(s.ValueAt(10) == doctest::Approx(0.05));
  CHECK(s.ValueAt(25) == doctest::Approx(0.025));
}

TEST_CASE("cosine schedule runs from the base to the floor and stays there") {
  LrSchedule s;
  s.kind = LrScheduleKind::kCosine;
  s.base = 1.0;
  s.floor = 0.1;
  s.total = 100;
  s.Validate();
  CHECK(s.ValueAt(0) == doctest::Approx(1.0));
  CHECK(s.ValueAt(50) == doctest::Approx(0.55));
  CHECK(s.ValueAt(100) == doctest::Approx(0.1));
  CHECK(s.ValueAt(500) == doctest::Approx(0.1));
  for (int64_t t = 1; t <= 100; ++t)
    REQUIRE(s.ValueAt(t) <= s.ValueAt(t - 1));
}

TEST_CASE("warm-up ramps linearly then the decay starts") {
  LrSchedule s;
  s.kind = LrScheduleKind::kCosine;
  s.base = 0.4;
  s.total = 14;
  s.warmup = 4;
  s.Validate();
  CHECK(s.ValueAt(0) == doctest::Approx(0.1));
  CHECK(s.ValueAt(3) == doctest::Approx(0.4));
  CHECK(s.InWarmup(3));
  CHECK_FALSE(s.InWarmup(4));
  CHECK(s.ValueAt(4) == doctest::Approx(0.4));
  CHECK(s.ValueAt(9) == doctest::Approx(0.2));  // half of the 10 cosine rounds
  CHECK(s.ValueAt(14) == doctest::Approx(0.0));
}

TEST_CASE("schedule validation names the field") {
  LrSchedule s;
  s.kind = LrScheduleKind::kStep;
  s.step_every = 0;
  CHECK_THROWS_WITH_AS(s.Validate(), doctest::Contains("lr_step_rounds"), ConfigError);
  CHECK_THROWS_WITH_AS(s.Validate("steps"), doctest::Contains("lr_step_steps"), ConfigError);
  s = LrSchedule{};
  s.kind = LrScheduleKind::kCosine;
  s.floor = 1.0;
  CHECK_THROWS_WITH_AS(s.Validate(), doctest::Contains("lr_floor"), ConfigError);
  CHECK_THROWS_WITH_AS(ParseLrSchedule("linear"), doctest::Contains("constant, step, cosine"),
                       ConfigError);
}

}  // namespace
}  // namespace edgefl::train
