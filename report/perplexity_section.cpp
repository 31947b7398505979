#include "report/perplexity_section.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "report/svg_plot.h"

namespace edgefl::report {

namespace {

using storage::EvaluationRecord;
using storage::RoundRecord;
using storage::RunDetail;

// One series per run: exp(test loss) against the round, or against the
// round's virtual time when `virtual_clock` (rounds without one left out).
std::vector<Series> PerplexitySeries(std::span<const RunDetail> runs, bool virtual_clock) {
  std::vector<Series> series;
  for (const RunDetail& run : runs) {
    std::map<int64_t, double> at = {{0, 0.0}};
    for (const RoundRecord& r : run.rounds)
      if (r.virtual_time) at[r.round] = *r.virtual_time;
    Series s;
    s.name = run.summary.run.spec.name;
    for (const EvaluationRecord& e : run.EvaluationsOn("test")) {
      double x = static_cast<double>(e.round);
      if (virtual_clock) {
        const auto it = at.find(e.round);
        if (it == at.end()) continue;
        x = it->second;
      }
      s.x.push_back(x);
      s.y.push_back(std::exp(e.loss));
    }
    series.push_back(std::move(s));
  }
  return series;
}

}  // namespace

std::string FormatPerplexity(double perplexity) {
  if (!std::isfinite(perplexity)) return "&#8211;";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", perplexity);
  return buffer;
}

std::string RenderPerplexitySection(std::span<const RunDetail> runs) {
  std::string rows;
  bool virtual_time = false;
  for (const RunDetail& run : runs) {
    const std::vector<EvaluationRecord> evals = run.EvaluationsOn("test");
    if (evals.empty()) continue;
    double best = std::exp(evals.front().loss);
    for (const EvaluationRecord& e : evals)
      best = std::min(best, std::exp(e.loss));
    const EvaluationRecord* initial = evals.front().round == 0 ? &evals.front() : nullptr;
    rows += "<tr><td>" + EscapeXml(run.summary.run.spec.name) + "</td><td class=\"num\">" +
            (initial ? FormatPerplexity(std::exp(initial->loss)) : "&#8211;") +
            "</td><td class=\"num\">" + FormatPerplexity(best) + "</td><td class=\"num\">" +
            FormatPerplexity(std::exp(evals.back().loss)) + "</td><td class=\"num\">" +
            std::to_string(evals.back().round) + "</td></tr>\n";
    for (const RoundRecord& r : run.rounds)
      virtual_time = virtual_time || r.virtual_time.has_value();
  }
  if (rows.empty()) return "";
  std::string html =
      "<h2>Perplexity</h2>\n<p class=\"note\">Language-model runs: test perplexity = exp(mean "
      "next-token cross-entropy), the test loss above.</p>\n"
      "<table class=\"summary perplexity\"><thead><tr><th>run</th><th>initial</th><th>best</th>"
      "<th>final</th><th>final round</th></tr></thead><tbody>\n" +
      rows + "</tbody></table>\n<div class=\"charts\">\n";
  LinePlot per_round{"Test perplexity per round", "round", "test perplexity",
                     PerplexitySeries(runs, false)};
  html += HtmlFigure(RenderLinePlot(per_round), "Round 0 is the initial model; lower is better.");
  if (virtual_time) {
    LinePlot per_second{"Test perplexity per virtual second", "virtual seconds (simulated clock)",
                        "test perplexity", PerplexitySeries(runs, true)};
    html += HtmlFigure(RenderLinePlot(per_second), "Runs that record a simulated clock only.");
  }
  return html + "</div>\n";
}

}  // namespace edgefl::report
