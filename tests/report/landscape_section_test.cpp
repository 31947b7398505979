// The report's Landscape section from hand-made values: the numbers as
// `edgefl analyze` prints them, the missing parts said in words, and the
// hint in a report whose run has no section.
#include "report/landscape_section.h"

#include <string>

#include <doctest/doctest.h>

#include "report/html_report.h"
#include "tests/test_util.h"

namespace edgefl::report {
namespace {

using testing::HasSubstr;

}  // namespace

TEST_CASE("the landscape section prints the pair and the global dropout curve to 4 decimals") {
  LandscapeSection section;
  section.round = 7;
  section.setting = "the first 10 samples";
  LandscapePair pair;
  pair.a = "c<1>";
  pair.b = "c2";
  pair.loss_a = 0.5;
  pair.loss_b = 0.25;
  pair.line_barrier = 0.123456;
  pair.path_barrier = 1.0;
  pair.line = {"straight line", {0.0, 0.5, 1.0}, {0.5, 0.623456, 0.25}};
  pair.path = Series{"dropout path", {0.0, 1.0}, {0.5, 0.25}};
  section.pair = pair;
  section.global_curve = LandscapeCurve{0.2, {0.5, 1.0}, {0.9, 0.2}};
  const std::string html = RenderLandscapeSection(section);
  CHECK(HasSubstr(html, "Landscape (round 7)"));
  CHECK(HasSubstr(html,
                  "<tr><td>c&lt;1&gt; ~ c2</td><td class=\"num\">0.5000</td><td "
                  "class=\"num\">0.2500</td><td class=\"num\">0.1235</td><td "
                  "class=\"num\">1.0000</td></tr>"));
  CHECK(HasSubstr(html, "<th>0.50</th><th>1.00</th>"));
  CHECK(HasSubstr(html,
                  "<tr><td>global</td><td class=\"num\">0.2000</td><td class=\"num\">0.9000"
                  "</td><td class=\"num\">0.2000</td></tr>"));
  CHECK(HasSubstr(html, "data-series=\"dropout path\""));
  CHECK(HasSubstr(html, "data-series=\"global\""));
}

TEST_CASE("the landscape section says what is missing and why nothing was measured") {
  LandscapeSection section;
  section.round = 3;
  std::string html = RenderLandscapeSection(section);
  CHECK(HasSubstr(html, "Fewer than two client models"));
  CHECK(HasSubstr(html, "not stored (pruned)"));
  CHECK_FALSE(HasSubstr(html, "<svg"));

  section.unavailable = "cannot read data.csv";
  html = RenderLandscapeSection(section);
  CHECK(HasSubstr(html, "Not measured: cannot read data.csv"));
  CHECK_FALSE(HasSubstr(html, "Fewer than two"));
}

TEST_CASE("a report run without a landscape gets the hint only when asked") {
  storage::RunDetail run;
  run.summary.run.id = 1;
  run.summary.run.spec.name = "r";
  ReportOptions options;
  const storage::RunDetail runs[] = {run};
  CHECK_FALSE(HasSubstr(RenderHtmlReport(runs, options), "keep_client_models"));
  options.landscape_hints = true;
  CHECK(HasSubstr(RenderHtmlReport(runs, options), "keep_client_models = N"));
  options.landscapes[1].round = 4;
  const std::string html = RenderHtmlReport(runs, options);
  CHECK(HasSubstr(html, "Landscape (round 4)"));
  CHECK_FALSE(HasSubstr(html, "landscape-hint"));
}

}  // namespace edgefl::report
