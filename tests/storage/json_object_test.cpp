#include "storage/json_object.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::storage {

TEST_CASE("JSON number objects round-trip exactly with non-finite values as null") {
  const std::map<std::string, double> values = {
      {"epsilon", 1.0 / 3.0}, {"update_norm", 2.5e-300}, {"num_results", 10.0}};
  CHECK(ParseJsonNumberObject(FormatJsonNumberObject(values)) == values);
  CHECK(FormatJsonNumberObject({}) == "{}");
  CHECK(ParseJsonNumberObject("{}").empty());
  CHECK(FormatJsonNumberObject({{"a", 1.5}, {"b", 2.0}}) == R"({"a":1.5,"b":2})");
  CHECK(ParseJsonNumberObject(R"( { "a" : 1 , "b" : null } )").size() == 2);
  const auto back = ParseJsonNumberObject(
      FormatJsonNumberObject({{"epsilon", std::numeric_limits<double>::infinity()}}));
  CHECK(std::isnan(back.at("epsilon")));
}

TEST_CASE("Malformed JSON number objects are a DataError and bad names an Error") {
  for (const char* text : {"", "[1]", "{", R"({"a":})", R"({"a" 1})", R"({"a":1,})", R"({a:1})",
                           R"({"a":1} x)", R"({"a":1,"a":2})", R"({"a b":1})"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(ParseJsonNumberObject(text), DataError);
  }
  CHECK_THROWS_AS(FormatJsonNumberObject({{"has space", 1.0}}), Error);
  CHECK_THROWS_AS(FormatJsonNumberObject({{"", 1.0}}), Error);
}

}  // namespace edgefl::storage
