#include "algorithms/qsr.h"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"
#include "train/lr_schedule.h"

namespace edgefl::algorithms {
namespace {

QsrOptions QsrTestOptions(int64_t h_base, double alpha) {
  QsrOptions q;
  q.base_steps = h_base;
  q.alpha = alpha;
  q.gamma = 2.0;
  return q;
}

TEST_CASE("QSR gives H_base while the lr is at least alpha over sqrt of H_base") {
  const QsrOptions q = QsrTestOptions(4, 0.2);
  const double threshold = 0.2 / std::sqrt(4.0);  // 0.1
  for (double lr : {threshold, 0.15, 0.5, 3.0})
    CHECK(QsrLocalSteps(q, lr, -1) == 4);
  CHECK(QsrLocalSteps(q, 0.08, -1) == 6);    // ⌊6.25⌋
  CHECK(QsrLocalSteps(q, 0.05f, -1) == 16);  // a float lr
}

TEST_CASE("QSR with alpha 0.2 and lr 0.05 gives H 16") {
  CHECK(QsrLocalSteps(QsrTestOptions(2, 0.2), 0.05, -1) == 16);
  CHECK(QsrLocalSteps(QsrTestOptions(4, 0.2), 0.05, -1) == 16);
}

TEST_CASE("QSR H is non-decreasing while a cosine lr decays") {
  train::LrSchedule s;
  s.kind = train::LrScheduleKind::kCosine;
  s.base = 0.8;
  s.floor = 0.01;
  s.total = 200;
  const QsrOptions q = QsrTestOptions(2, 0.2);
  int64_t previous = 0;
  for (int64_t t = 0; t <= 200; ++t) {
    const int64_t h = QsrLocalSteps(q, s.ValueAt(t), -1);
    REQUIRE(h >= previous);
    previous = h;
  }
  CHECK(previous == 400);  // ⌊(0.2 / 0.01)²⌋
}

TEST_CASE("QSR with a constant lr gives a constant H") {
  const QsrOptions q = QsrTestOptions(2, 0.2);
  const int64_t h = QsrLocalSteps(q, 0.03, -1);
  CHECK(h == 44);  // ⌊(0.2/0.03)²⌋ = ⌊44.4⌋
  for (int i = 0; i < 10; ++i)
    CHECK(QsrLocalSteps(q, 0.03, -1) == h);
}

TEST_CASE("QSR guards: warm-up and alpha 0 give H_base and lr 0 does not blow up") {
  CHECK(QsrLocalSteps(QsrTestOptions(4, 0.2), 0.001, -1, /*in_warmup=*/true) == 4);
  CHECK(QsrLocalSteps(QsrTestOptions(4, 0.0), 0.001, -1) == 4);
  CHECK(QsrLocalSteps(QsrTestOptions(4, 0.2), 0.0, -1) == 4);
  CHECK(QsrLocalSteps(QsrTestOptions(4, 0.2), std::nan(""), -1) == 4);
  QsrOptions capped = QsrTestOptions(4, 0.2);
  capped.max_steps = 100;
  CHECK(QsrLocalSteps(capped, 1e-9, -1) == 100);
}

TEST_CASE("QSR clips H to the steps left and never below 1") {
  const QsrOptions q = QsrTestOptions(4, 0.2);
  CHECK(QsrLocalSteps(q, 0.05, 10) == 10);
  CHECK(QsrLocalSteps(q, 0.05, 1) == 1);
  CHECK(QsrLocalSteps(q, 0.05, 0) == 0);
}

TEST_CASE("QSR options validation names the key") {
  QsrOptions q;
  q.base_steps = 0;
  CHECK_THROWS_WITH_AS(q.Validate(), doctest::Contains("qsr_h_base"), ConfigError);
  q = QsrOptions{};
  q.gamma = 0.0;
  CHECK_THROWS_WITH_AS(q.Validate(), doctest::Contains("qsr_gamma"), ConfigError);
}

}  // namespace
}  // namespace edgefl::algorithms
