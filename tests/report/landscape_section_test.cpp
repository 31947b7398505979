// The report's Landscape section from hand-made values: the numbers as
// `edgefl analyze` prints them, the missing parts said in words, and the
// hint in a report whose run has no section.
#include "report/landscape_section.h"

#include <string>

#include <doctest/doctest.h>

#include "report/html_report.h"

namespace edgefl::report {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

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
  CHECK(Contains(html, "Landscape (round 7)"));
  CHECK(Contains(html,
                 "<tr><td>c&lt;1&gt; ~ c2</td><td class=\"num\">0.5000</td><td "
                 "class=\"num\">0.2500</td><td class=\"num\">0.1235</td><td "
                 "class=\"num\">1.0000</td></tr>"));
  CHECK(Contains(html, "<th>0.50</th><th>1.00</th>"));
  CHECK(Contains(html,
                 "<tr><td>global</td><td class=\"num\">0.2000</td><td class=\"num\">0.9000"
                 "</td><td class=\"num\">0.2000</td></tr>"));
  CHECK(Contains(html, "data-series=\"dropout path\""));
  CHECK(Contains(html, "data-series=\"global\""));
}

TEST_CASE("the landscape section says what is missing and why nothing was measured") {
  LandscapeSection section;
  section.round = 3;
  std::string html = RenderLandscapeSection(section);
  CHECK(Contains(html, "Fewer than two client models"));
  CHECK(Contains(html, "not stored (pruned)"));
  CHECK_FALSE(Contains(html, "<svg"));

  section.unavailable = "cannot read data.csv";
  html = RenderLandscapeSection(section);
  CHECK(Contains(html, "Not measured: cannot read data.csv"));
  CHECK_FALSE(Contains(html, "Fewer than two"));
}

TEST_CASE("a report run without a landscape gets the hint only when asked") {
  storage::RunDetail run;
  run.summary.run.id = 1;
  run.summary.run.spec.name = "r";
  ReportOptions options;
  const storage::RunDetail runs[] = {run};
  CHECK_FALSE(Contains(RenderHtmlReport(runs, options), "keep_client_models"));
  options.landscape_hints = true;
  CHECK(Contains(RenderHtmlReport(runs, options), "keep_client_models = N"));
  options.landscapes[1].round = 4;
  const std::string html = RenderHtmlReport(runs, options);
  CHECK(Contains(html, "Landscape (round 4)"));
  CHECK_FALSE(Contains(html, "landscape-hint"));
}

}  // namespace edgefl::report
