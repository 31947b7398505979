#include "storage/json_array.h"

#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::storage {
namespace {

TEST_CASE("JSON number arrays round-trip exactly with NaN as null") {
  const std::vector<double> values = {0.1, 1.0 / 3.0, 0.0, -2.5e-300, 1.0};
  CHECK(ParseJsonNumberArray(FormatJsonNumberArray(values)) == values);
  CHECK(FormatJsonNumberArray({}) == "[]");
  CHECK(ParseJsonNumberArray("[]").empty());
  CHECK(ParseJsonNumberArray(" [ 1 , 2.5 ] ") == std::vector<double>{1.0, 2.5});
  const std::vector<double> with_nan = {0.5, std::numeric_limits<double>::quiet_NaN()};
  CHECK(FormatJsonNumberArray(with_nan) == "[0.5,null]");
  const auto parsed = ParseJsonNumberArray("[0.5,null]");
  REQUIRE(parsed.size() == 2);
  CHECK(std::isnan(parsed[1]));
}

TEST_CASE("Malformed JSON number arrays are a DataError") {
  for (const char* bad : {"", "1", "[", "[1,", "[1 2]", "[1]x", "[\"a\"]", "[,]"}) {
    CHECK_THROWS_AS_MESSAGE(ParseJsonNumberArray(bad), DataError, bad);
  }
}

}  // namespace
}  // namespace edgefl::storage
