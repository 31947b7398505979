#include "algorithms/pacing.h"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::algorithms {
namespace {

constexpr PacingKind kPacingAll[] = {PacingKind::kLinear, PacingKind::kQuad, PacingKind::kRoot,
                                     PacingKind::kStep,   PacingKind::kExp,  PacingKind::kLog};

TEST_CASE("every pacing function is monotone and starts at floor of bN and reaches N at aT") {
  for (PacingKind kind : kPacingAll) {
    for (double a : {0.2, 0.8, 1.0}) {
      for (double b : {0.0, 0.2, 0.4}) {
        for (size_t n : {size_t{10}, size_t{97}, size_t{1000}}) {
          CAPTURE(PacingName(kind));
          CAPTURE(a);
          CAPTURE(b);
          CAPTURE(n);
          const Pacing p{kind, a, b, 10.0};
          const double total = 500.0;
          CHECK(std::floor(p.Raw(0.0, total, n)) == std::floor(b * static_cast<double>(n)));
          CHECK(p.Raw(a * total, total, n) >= static_cast<double>(n) - 1.0);
          double previous = p.Raw(0.0, total, n);
          for (int t = 1; t <= 600; ++t) {
            const double g = p.Raw(t, total, n);
            REQUIRE(g >= previous - 1e-9);
            previous = g;
          }
          CHECK(p.Size(0, 500, n) >= 1);
          CHECK(p.Size(600, 500, n) == n);
        }
      }
    }
  }
}

TEST_CASE("pacing values match the formulas at a midpoint") {
  const size_t n = 100;
  const double total = 100.0;  // aT = 50 with a = 0.5; t = 25 is x = 0.5
  auto at = [&](PacingKind kind) { return Pacing{kind, 0.5, 0.2, 10.0}.Raw(25.0, total, n); };
  CHECK(at(PacingKind::kLinear) == doctest::Approx(20 + 80 * 0.5));
  CHECK(at(PacingKind::kQuad) == doctest::Approx(20 + 80 * 0.25));
  CHECK(at(PacingKind::kRoot) == doctest::Approx(20 + 80 * std::sqrt(0.5)));
  CHECK(at(PacingKind::kStep) == doctest::Approx(20));
  CHECK(at(PacingKind::kExp) ==
        doctest::Approx(20 + 80 * (std::exp(5.0) - 1) / (std::exp(10.0) - 1)));
  CHECK(at(PacingKind::kLog) ==
        doctest::Approx(20 + 80 * (1 + std::log(0.5 + std::exp(-10.0)) / 10)));
}

TEST_CASE("pacing names and stable values round trip") {
  for (PacingKind kind : kPacingAll) {
    CHECK(ParsePacing(PacingName(kind)) == kind);
    CHECK(PacingFromValue(static_cast<double>(static_cast<int>(kind))) == kind);
  }
  CHECK(ParsePacing("sqrt") == PacingKind::kRoot);
  CHECK_THROWS_WITH_AS(ParsePacing("cubic", "pacing"), doctest::Contains("linear, quad"),
                       ConfigError);
  CHECK_THROWS_AS(PacingFromValue(6.0), ConfigError);
  CHECK_THROWS_WITH_AS((Pacing{PacingKind::kLinear, 0.0, 0.2, 10.0}.Validate("pacing_")),
                       doctest::Contains("pacing_a"), ConfigError);
  CHECK_THROWS_WITH_AS((Pacing{PacingKind::kLinear, 0.2, 1.5, 10.0}.Validate("pacing_")),
                       doctest::Contains("pacing_b"), ConfigError);
}

}  // namespace
}  // namespace edgefl::algorithms
