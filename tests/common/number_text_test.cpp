// Config values print in their shortest round-trip form.
#include "common/number_text.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include <doctest/doctest.h>

namespace edgefl {

TEST_CASE("ShortNumber prints the shortest text that reads back as the same double") {
  CHECK(ShortNumber(0.05) == "0.05");
  CHECK(ShortNumber(0.1 + 0.2) == "0.30000000000000004");
  CHECK(ShortNumber(0.01) == "0.01");
  CHECK(ShortNumber(3.0) == "3");
  CHECK(ShortNumber(1e300) == "1e+300");
  CHECK(ShortNumber(-2.5e-7) == "-2.5e-07");
  CHECK(ShortNumber(std::numeric_limits<double>::infinity()) == "inf");
  for (const double v : {0.05, 1.0 / 3.0, 6.02214076e23, 5e-324, 0.9999999999999999}) {
    const std::string text = ShortNumber(v);
    double back = 0.0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    CHECK(back == v);
  }
}

TEST_CASE("TomlFloat keeps an integral value a TOML float") {
  CHECK(TomlFloat(3.0) == "3.0");
  CHECK(TomlFloat(0.05) == "0.05");
  CHECK(TomlFloat(1e300) == "1e+300");
  CHECK(TomlFloat(-0.0) == "-0.0");
  CHECK(TomlFloat(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(TomlFloat(std::nan("")) == "nan");
}

}  // namespace edgefl
