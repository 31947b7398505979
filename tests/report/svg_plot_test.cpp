#include "report/svg_plot.h"

#include <cmath>

#include <doctest/doctest.h>

#include "tests/report/report_test_util.h"

namespace edgefl::report {

TEST_CASE("EscapeXml escapes markup and drops control characters") {
  CHECK(EscapeXml("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
  CHECK(EscapeXml(std::string("x\x01y\nz")) == "x y\nz");
}

TEST_CASE("A line plot leaves out missing points and maps values into the frame") {
  LinePlot plot;
  plot.title = "t";
  plot.y_min = 0.0;
  plot.y_max = 1.0;
  plot.series = {{"a", {0, 1, 2, 3}, {0.0, std::nan(""), 0.5, 1.0}}, {"b", {0, 3}, {1.0, 0.0}}};
  const std::string svg = RenderLinePlot(plot, 600, 340);
  const auto lines = test::Polylines(svg);
  REQUIRE(lines.size() == 2);
  REQUIRE(lines[0].points.size() == 3);
  REQUIRE(lines[1].points.size() == 2);
  // Same x range and the fixed y range: a runs from (0, 0.0) to (3, 1.0), b
  // from (0, 1.0) to (3, 0.0).
  CHECK(lines[0].points[0].first == lines[1].points[0].first);
  CHECK(lines[0].points[2].first == lines[1].points[1].first);
  CHECK(lines[0].points[0].second == lines[1].points[1].second);
  CHECK(lines[0].points[2].second == lines[1].points[0].second);
  CHECK(lines[0].points[2].second < lines[0].points[0].second);
  // 0.5 is half-way between 0 and 1.
  CHECK(lines[0].points[1].second ==
        doctest::Approx((lines[0].points[0].second + lines[0].points[2].second) / 2));
  CHECK(test::LegendNames(svg) == std::vector<std::string>{"a", "b"});
  // Ticks on the fixed axis: 0, 0.2, ..., 1.0.
  CHECK(svg.find(">0.2</text>") != std::string::npos);
  CHECK(svg.find(">1.0</text>") != std::string::npos);
}

TEST_CASE("A chart with no data says so") {
  LinePlot plot;
  plot.title = "empty";
  plot.series = {{"a", {}, {}}};
  CHECK(RenderLinePlot(plot).find(">no data<") != std::string::npos);
  BarChart bars;
  bars.title = "bars";
  CHECK(RenderBarChart(bars).find(">no data<") != std::string::npos);
}

TEST_CASE("Long legend names are shortened but kept whole in the tooltip") {
  LinePlot plot;
  plot.title = "t";
  const std::string name(60, 'n');
  plot.series = {{name, {0, 1}, {0, 1}}};
  const std::string svg = RenderLinePlot(plot);
  const auto legend = test::LegendNames(svg);
  REQUIRE(legend.size() == 1);
  CHECK(legend[0].size() < name.size());
  CHECK(svg.find("<title>" + name + "</title>") != std::string::npos);
}

}  // namespace edgefl::report
