// The report's Perplexity section, read as a user reads it: the table holds
// exp(test loss) of the initial, best and final evaluation of each language
// model run, and the chart one point per evaluated round.
#include "report/perplexity_section.h"

#include <cmath>

#include <doctest/doctest.h>

#include "report/html_report.h"
#include "tests/report/report_test_util.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::report {
namespace {

using edgefl::testing::TempDir;
using test::LegendNames;
using test::Polylines;
using test::SvgTitled;

// A run of `spec` whose test losses are log(perplexity) for each entry of
// `perplexities` (round 0 first).
int64_t RunWithPerplexities(storage::ExperimentLog& log, const std::string& name,
                            const std::string& spec, const std::vector<double>& perplexities) {
  storage::RunSpec run_spec = storage::test::SampleRun(name);
  run_spec.model_spec = spec;
  const int64_t run = log.BeginRun(run_spec);
  storage::EvaluationRecord initial = storage::test::SampleEvaluation(0);
  initial.loss = std::log(perplexities[0]);
  log.RecordEvaluation(run, initial);
  for (size_t round = 1; round < perplexities.size(); ++round) {
    const auto r = static_cast<int64_t>(round);
    storage::EvaluationRecord e = storage::test::SampleEvaluation(r);
    e.loss = std::log(perplexities[round]);
    const std::vector<storage::ClientUpdateRecord> updates = {storage::test::SampleUpdate(r, "c1")};
    const std::vector<storage::EvaluationRecord> evals = {e};
    log.CommitRound(run, storage::test::SampleRound(r), updates, evals, nullptr);
  }
  return run;
}

// The <table class="summary perplexity"> of `html`, or "".
std::string PerplexityTable(const std::string& html) {
  const size_t at = html.find("<table class=\"summary perplexity\">");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</table>", at) - at);
}

}  // namespace

TEST_CASE("The report's Perplexity section shows exp of the test loss of language model runs") {
  TempDir dir;
  int64_t gru = 0;
  {
    storage::ExperimentLog log(dir / "log.db");
    gru = RunWithPerplexities(log, "gru-run", "rnn:gru-8-t4-v16", {64.0, 20.0, 12.5, 14.0});
    RunWithPerplexities(log, "mlp-run", "mlp:4-3", {3.0, 2.0, 1.5, 1.25});
  }
  const std::vector<storage::RunDetail> runs = test::ReadAll(dir / "log.db");
  REQUIRE(runs.size() == 2);

  // Without the caller naming a language model run, no section.
  CHECK(RenderHtmlReport(runs, ReportOptions{}).find("<h2>Perplexity</h2>") == std::string::npos);

  ReportOptions options;
  options.language_model_runs = {gru};
  const std::string html = RenderHtmlReport(runs, options);
  REQUIRE(html.find("<h2>Perplexity</h2>") != std::string::npos);
  // The table: initial 64, best 12.5 (round 2), final 14 at round 3; the
  // mlp run is not in it.
  const std::string table = PerplexityTable(html);
  CHECK(table.find("<td>gru-run</td><td class=\"num\">64.00</td><td class=\"num\">12.50</td>"
                   "<td class=\"num\">14.00</td><td class=\"num\">3</td>") != std::string::npos);
  CHECK(table.find("mlp-run") == std::string::npos);

  // The chart: one series, a point per evaluated round, drawn in the
  // perplexities' order (higher perplexity, smaller pixel y).
  const std::string svg = SvgTitled(html, "Test perplexity per round");
  REQUIRE_FALSE(svg.empty());
  CHECK(LegendNames(svg) == std::vector<std::string>{"gru-run"});
  const std::vector<test::Polyline> lines = Polylines(svg);
  REQUIRE(lines.size() == 1);
  REQUIRE(lines[0].points.size() == 4);
  const auto& p = lines[0].points;
  CHECK(p[0].second < p[1].second);  // 64 above 20
  CHECK(p[1].second < p[3].second);  // 20 above 14
  CHECK(p[3].second < p[2].second);  // 14 above 12.5
  // SampleRound records a virtual clock: the per-virtual-second chart too.
  CHECK_FALSE(SvgTitled(html, "Test perplexity per virtual second").empty());
}

TEST_CASE("FormatPerplexity: two decimals and a dash when not finite") {
  CHECK(FormatPerplexity(9.876) == "9.88");
  CHECK(FormatPerplexity(std::exp(1000.0)) == "&#8211;");
  CHECK(RenderPerplexitySection({}).empty());
}

}  // namespace edgefl::report
