#include "common/prometheus_text.h"

#include <limits>
#include <string>

#include <doctest/doctest.h>

namespace edgefl {
namespace {

TEST_CASE("prometheus text: headers and samples in the exposition format") {
  std::string out;
  PrometheusHeader(out, "x_total", "counter", "Things counted.");
  PrometheusSample(out, "x_total{reason=\"" + PrometheusLabelValue("a\"b\\c\nd") + "\"}", 42);
  PrometheusSample(out, "y", 0.05);
  PrometheusSample(out, "z", std::numeric_limits<double>::infinity());
  CHECK(out ==
        "# HELP x_total Things counted.\n"
        "# TYPE x_total counter\n"
        "x_total{reason=\"a\\\"b\\\\c\\nd\"} 42\n"
        "y 0.05\n"
        "z +Inf\n");
  CHECK(PrometheusValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(PrometheusValue(1e20) == "1e+20");
}

}  // namespace
}  // namespace edgefl
