#include "report/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "report/perplexity_section.h"
#include "report/svg_plot.h"

namespace edgefl::report {

namespace {

using storage::ClientUpdateRecord;
using storage::EvaluationRecord;
using storage::RoundRecord;
using storage::RunDetail;
using storage::UpdateStatus;

constexpr const char* kAccepted = "#59a14f";
constexpr const char* kRejected = "#f28e2b";
constexpr const char* kDropped = "#e15759";
constexpr const char* kDiscarded = "#76b7b2";
constexpr const char* kIdle = "#e8e8e8";

std::string Percent(std::optional<double> value) {
  if (!value || !std::isfinite(*value)) return "&#8211;";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100.0 * *value);
  return buffer;
}

std::string Td(const std::string& html, bool number = false) {
  return std::string(number ? "<td class=\"num\">" : "<td>") + html + "</td>";
}

const std::string& RunName(const RunDetail& run) {
  return run.summary.run.spec.name;
}

// The run's status as `edgefl runs` shows it: "orphaned" for a run marked
// running that no process owns (its process died; the next coordinator or
// `edgefl sim` of it records that and resumes it).
std::string StatusText(const RunDetail& run) {
  if (run.owner_lost) return "orphaned";
  return std::string(storage::ToString(run.summary.run.status));
}

// The status cell: the status, its reason (or why a run is orphaned) as a
// tooltip.
std::string StatusHtml(const RunDetail& run) {
  const storage::RunInfo& info = run.summary.run;
  std::string why = info.status_reason;
  if (run.owner_lost) {
    why = "marked running, but its owner" + (info.owner.empty() ? "" : " (" + info.owner + ")") +
          " is gone; the next run of it resumes it";
  }
  const std::string status = EscapeXml(StatusText(run));
  if (why.empty()) return status;
  return "<span title=\"" + EscapeXml(why) + "\">" + status + "</span>";
}

// " · owner pid 1234 on host h" with "(gone)" for an orphaned run and
// "(last)" for one that ended; "" when no owner is recorded.
std::string OwnerText(const RunDetail& run) {
  const storage::RunInfo& info = run.summary.run;
  if (info.owner.empty()) return "";
  std::string text = " &#183; owner " + EscapeXml(info.owner);
  if (run.owner_lost) return text + " (gone)";
  return info.status == storage::RunStatus::kRunning ? text : text + " (last)";
}

// Usable updates of `round` that went into no model (the round kept the
// previous one).
int64_t Discarded(const RunDetail& run, int64_t round) {
  int64_t n = 0;
  for (const ClientUpdateRecord& u : run.updates)
    n += u.round == round && u.status == UpdateStatus::kDiscarded;
  return n;
}

// Seconds from the run's start to the end of each round, by round.
std::map<int64_t, double> WallClock(const RunDetail& run) {
  std::map<int64_t, double> at = {{0, 0.0}};
  for (const RoundRecord& r : run.rounds)
    at[r.round] = std::max(0.0, r.ended_at - run.summary.run.started_at);
  return at;
}

std::map<int64_t, double> VirtualClock(const RunDetail& run) {
  std::map<int64_t, double> at = {{0, 0.0}};
  for (const RoundRecord& r : run.rounds)
    if (r.virtual_time) at[r.round] = *r.virtual_time;
  return at;
}

bool HasVirtualTime(const RunDetail& run) {
  return std::any_of(run.rounds.begin(), run.rounds.end(),
                     [](const RoundRecord& r) { return r.virtual_time.has_value(); });
}

// One series per run: `metric` of the test evaluations against round, or
// against the time of its round in `clock` (evaluations of rounds without a
// time are left out).
enum class Metric { kAccuracy, kLoss };
std::vector<Series> EvalSeries(std::span<const RunDetail> runs, Metric metric,
                               std::map<int64_t, double> (*clock)(const RunDetail&)) {
  std::vector<Series> series;
  for (const RunDetail& run : runs) {
    Series s;
    s.name = RunName(run);
    const std::map<int64_t, double> at = clock ? clock(run) : std::map<int64_t, double>{};
    for (const EvaluationRecord& e : run.EvaluationsOn("test")) {
      double x = static_cast<double>(e.round);
      if (clock) {
        auto it = at.find(e.round);
        if (it == at.end()) continue;
        x = it->second;
      }
      s.x.push_back(x);
      s.y.push_back(metric == Metric::kAccuracy ? e.accuracy : e.loss);
    }
    series.push_back(std::move(s));
  }
  return series;
}

// D-SGD runs (mode decentralized; sim/decentralized_simulation.h): one
// series per run that has evaluations on `split`, its accuracy (or its
// loss column) against round.
std::vector<Series> SplitSeries(std::span<const RunDetail> runs, const std::string& split,
                                Metric metric) {
  std::vector<Series> series;
  for (const RunDetail& run : runs) {
    const std::vector<EvaluationRecord> evals = run.EvaluationsOn(split);
    if (evals.empty()) continue;
    Series s;
    s.name = RunName(run);
    for (const EvaluationRecord& e : evals) {
      s.x.push_back(static_cast<double>(e.round));
      s.y.push_back(metric == Metric::kAccuracy ? e.accuracy : e.loss);
    }
    series.push_back(std::move(s));
  }
  return series;
}

// Per round, the mean over the round's client rows of bytes sent + received
// (a D-SGD node's traffic with its neighbours), in MB, for the runs in `runs`.
std::vector<Series> BytesPerNodeSeries(std::span<const RunDetail> runs) {
  std::vector<Series> series;
  for (const RunDetail& run : runs) {
    std::map<int64_t, std::pair<double, int64_t>> per_round;  // round -> (bytes, rows)
    for (const ClientUpdateRecord& u : run.updates) {
      auto& [bytes, rows] = per_round[u.round];
      bytes += static_cast<double>(u.bytes_in + u.bytes_out);
      ++rows;
    }
    Series s;
    s.name = RunName(run);
    for (const auto& [round, total] : per_round) {
      s.x.push_back(static_cast<double>(round));
      s.y.push_back(total.first / static_cast<double>(total.second) / 1e6);
    }
    series.push_back(std::move(s));
  }
  return series;
}

bool HasPrivacy(const RunDetail& run) {
  return run.PrivacySpent().has_value();
}

// "ε = 2.31 (δ = 1e-05)", "unbounded (no noise)", or "-" without DP.
std::string PrivacyText(const RunDetail& run) {
  const auto spent = run.PrivacySpent();
  if (!spent) return "-";
  if (!std::isfinite(spent->epsilon)) return "unbounded (no noise)";
  char buffer[96];
  if (std::isfinite(spent->delta)) {
    std::snprintf(buffer, sizeof buffer, "%.3f (&#948; = %.3g)", spent->epsilon, spent->delta);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3f", spent->epsilon);
  }
  return buffer;
}

// Per run with DP, ε after each round that composed a step.
std::vector<Series> EpsilonSeries(std::span<const RunDetail> runs) {
  std::vector<Series> series;
  for (const RunDetail& run : runs) {
    Series s;
    s.name = RunName(run);
    for (const storage::RoundRecord& r : run.rounds) {
      const auto it = r.metrics.find("epsilon");
      if (it == r.metrics.end() || !std::isfinite(it->second)) continue;
      s.x.push_back(static_cast<double>(r.round));
      s.y.push_back(it->second);
    }
    if (!s.x.empty()) series.push_back(std::move(s));
  }
  return series;
}

std::string SummaryTable(std::span<const RunDetail> runs) {
  const bool privacy = std::any_of(runs.begin(), runs.end(), HasPrivacy);
  std::string out =
      "<table class=\"summary\"><thead><tr><th>run</th><th>strategy</th><th>mode</th>"
      "<th>model</th><th>status</th><th>rounds</th><th>best acc.</th><th>final acc.</th>"
      "<th>time</th><th>clients</th>" +
      std::string(privacy ? "<th>privacy &#949;</th>" : "") + "</tr></thead><tbody>\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunDetail& run = runs[i];
    const storage::RunInfo& info = run.summary.run;
    const std::string status = StatusHtml(run);
    std::string rounds = std::to_string(run.summary.rounds_completed);
    if (info.spec.planned_rounds > 0) rounds += " / " + std::to_string(info.spec.planned_rounds);
    out += "<tr>" +
           Td("<span class=\"swatch\" style=\"background:" + SeriesColor(i) + "\"></span>" +
              EscapeXml(info.spec.name)) +
           Td(EscapeXml(info.spec.strategy)) + Td(EscapeXml(info.spec.mode)) +
           Td(EscapeXml(info.spec.model_spec)) + Td(status) + Td(rounds, true) +
           Td(Percent(run.summary.best_accuracy), true) +
           Td(Percent(run.summary.final_accuracy), true) + Td(FormatDuration(run.seconds), true) +
           Td(std::to_string(run.summary.distinct_clients), true) +
           (privacy ? Td(PrivacyText(run), true) : "") + "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string PerClassChart(std::span<const RunDetail> runs) {
  BarChart chart;
  chart.title = "Per-class test accuracy of the final model";
  chart.x_label = "class";
  chart.y_label = "accuracy";
  chart.y_max = 1.0;
  size_t classes = 0;
  for (const RunDetail& run : runs) {
    if (auto e = run.FinalEvaluation("test"))
      classes = std::max(classes, e->per_class_accuracy.size());
  }
  for (size_t c = 0; c < classes; ++c)
    chart.categories.push_back(std::to_string(c));
  for (size_t i = 0; i < runs.size(); ++i) {
    BarLayer layer;
    const auto e = runs[i].FinalEvaluation("test");
    layer.name = RunName(runs[i]);
    if (e) layer.name += " (round " + std::to_string(e->round) + ")";
    layer.color = SeriesColor(i);
    if (e) layer.value = e->per_class_accuracy;
    chart.layers.push_back(std::move(layer));
  }
  return RenderBarChart(chart);
}

std::string StalenessChart(std::span<const RunDetail> runs) {
  BarChart chart;
  chart.title = "Staleness of accepted updates";
  chart.x_label = "staleness (global model versions behind)";
  chart.y_label = "updates";
  int64_t max_staleness = 0;
  for (const RunDetail& run : runs)
    for (const ClientUpdateRecord& u : run.updates)
      if (u.status == UpdateStatus::kAccepted) max_staleness = std::max(max_staleness, u.staleness);
  for (int64_t s = 0; s <= max_staleness; ++s)
    chart.categories.push_back(std::to_string(s));
  for (size_t i = 0; i < runs.size(); ++i) {
    BarLayer layer;
    layer.name = RunName(runs[i]);
    layer.color = SeriesColor(i);
    layer.value.assign(static_cast<size_t>(max_staleness + 1), 0.0);
    for (const ClientUpdateRecord& u : runs[i].updates) {
      if (u.status == UpdateStatus::kAccepted && u.staleness >= 0) {
        layer.value[static_cast<size_t>(u.staleness)] += 1.0;
      }
    }
    chart.layers.push_back(std::move(layer));
  }
  chart.empty_note = "no accepted updates";
  return RenderBarChart(chart);
}

std::string FailureChart(const RunDetail& run) {
  BarChart chart;
  chart.title = "Dropped and rejected updates per round";
  chart.x_label = "round";
  chart.y_label = "updates";
  chart.stacked = true;
  chart.empty_note = "none dropped or rejected";
  BarLayer dropped{"dropped (late or lost)", {}, kDropped};
  BarLayer rejected{"rejected (refused)", {}, kRejected};
  for (const RoundRecord& r : run.rounds) {
    chart.categories.push_back(std::to_string(r.round));
    dropped.value.push_back(static_cast<double>(r.dropped));
    rejected.value.push_back(static_cast<double>(r.rejected));
  }
  chart.layers = {dropped, rejected};
  return RenderBarChart(chart);
}

std::string ParticipationGrid(const RunDetail& run, size_t max_clients, size_t* clients_total) {
  std::set<std::string> ids;
  std::set<int64_t> rounds;
  for (const RoundRecord& r : run.rounds)
    rounds.insert(r.round);
  for (const ClientUpdateRecord& u : run.updates) {
    ids.insert(u.client_id);
    rounds.insert(u.round);
  }
  *clients_total = ids.size();
  CategoryGrid grid;
  grid.title = "Participation per client and round";
  grid.x_label = "round";
  grid.y_label = "client";
  grid.categories = {{"accepted", kAccepted},
                     {"rejected", kRejected},
                     {"dropped", kDropped},
                     {"discarded (round kept the model)", kDiscarded},
                     {"not selected", kIdle}};
  std::map<std::string, size_t> row_of;
  for (const std::string& id : ids) {
    if (grid.rows.size() >= max_clients) break;
    row_of[id] = grid.rows.size();
    grid.rows.push_back(id);
  }
  std::map<int64_t, size_t> column_of;
  for (int64_t r : rounds) {
    column_of[r] = grid.columns.size();
    grid.columns.push_back(std::to_string(r));
  }
  grid.cells.assign(grid.rows.size(), std::vector<int>(grid.columns.size(), 4));
  for (const ClientUpdateRecord& u : run.updates) {
    auto row = row_of.find(u.client_id);
    if (row == row_of.end()) continue;
    const int k = u.status == UpdateStatus::kAccepted    ? 0
                  : u.status == UpdateStatus::kRejected  ? 1
                  : u.status == UpdateStatus::kDiscarded ? 3
                                                         : 2;
    grid.cells[row->second][column_of[u.round]] = k;
  }
  return RenderCategoryGrid(grid);
}

// The rounds that kept the previous model (quorum not reached, no usable
// update), with why and how many usable updates went into no model; "" if
// every round made a new one.
std::string KeptRoundsTable(const RunDetail& run) {
  std::string rows;
  for (const RoundRecord& r : run.rounds) {
    if (r.aggregated) continue;
    rows += "<tr>" + Td(std::to_string(r.round), true) + Td(EscapeXml(r.outcome)) +
            Td(std::to_string(Discarded(run, r.round)), true) +
            Td(std::to_string(r.dropped), true) + Td(std::to_string(r.rejected), true) + "</tr>\n";
  }
  if (rows.empty()) return "";
  return "<h3>Rounds that kept the previous model</h3>\n"
         "<table class=\"summary kept\"><thead><tr><th>round</th><th>outcome</th>"
         "<th>discarded</th><th>dropped</th><th>rejected</th></tr></thead><tbody>\n" +
         rows +
         "</tbody></table>\n<p class=\"note\">Discarded updates were usable but went into no "
         "model: their round made none.</p>\n";
}

// What happened to the run besides its rounds (resumes, config changes
// "key: old -> new", lost owners), in order; "" if nothing.
std::string EventsTable(const RunDetail& run) {
  if (run.events.empty()) return "";
  std::string out =
      "<h3>Events</h3>\n<table class=\"summary events\"><thead><tr><th>after round</th>"
      "<th>event</th><th>detail</th></tr></thead><tbody>\n";
  for (const storage::RunEvent& e : run.events) {
    out += "<tr>" + Td(std::to_string(e.round), true) + Td(EscapeXml(e.kind)) +
           Td(EscapeXml(e.detail)) + "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

constexpr const char* kStyle = R"css(
body { font-family: sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 15px; margin-top: 20px; }
.meta { color: #666; font-size: 13px; }
table.summary { border-collapse: collapse; font-size: 13px; background: #fff; }
table.summary th, table.summary td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; }
table.summary th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid #e0e0e0; }
figcaption { font-size: 12px; color: #666; padding: 2px 8px 6px; max-width: 584px; }
pre.config { background: #fff; border: 1px solid #e0e0e0; padding: 8px; font-size: 12px;
             max-height: 360px; overflow: auto; max-width: 1200px; }
.note { color: #666; font-size: 13px; }
)css";

// Marks the page for automated checks (see the header comment).
constexpr const char* kErrorHook =
    "<script>window.edgeflErrors=[];window.addEventListener('error',function(e)"
    "{window.edgeflErrors.push(String(e.message));});</script>\n";
constexpr const char* kRenderCheck = R"js(<script>
(function () {
  var svgs = document.querySelectorAll('svg');
  var empty = 0;
  for (var i = 0; i < svgs.length; i++) {
    var box = svgs[i].getBoundingClientRect();
    if (!(box.width > 0 && box.height > 0)) empty++;
  }
  var errors = window.edgeflErrors || [];
  document.body.dataset.svgCount = String(svgs.length);
  document.body.dataset.rendered = (empty === 0 && errors.length === 0)
      ? 'ok' : ('failed: ' + empty + ' empty svg, errors: ' + errors.join('; '));
})();
</script>
)js";

}  // namespace

std::string FormatDuration(double seconds) {
  char buffer[48];
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  } else if (seconds < 3600) {
    const auto s = static_cast<long long>(std::lround(seconds));
    std::snprintf(buffer, sizeof buffer, "%lld m %02lld s", s / 60, s % 60);
  } else {
    const auto m = static_cast<long long>(std::lround(seconds / 60));
    std::snprintf(buffer, sizeof buffer, "%lld h %02lld m", m / 60, m % 60);
  }
  return buffer;
}

std::string RenderHtmlReport(std::span<const RunDetail> runs, const ReportOptions& options) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
                     EscapeXml(options.title) + "</title>\n<style>" + kStyle + "</style>\n" +
                     kErrorHook + "</head>\n<body>\n<h1>" + EscapeXml(options.title) + "</h1>\n";
  std::string meta;
  if (!options.source.empty()) meta += "experiment log " + EscapeXml(options.source);
  if (!options.generated_at.empty()) {
    meta += (meta.empty() ? "" : " &#183; ") + std::string("generated ") +
            EscapeXml(options.generated_at);
  }
  if (!meta.empty()) html += "<p class=\"meta\">" + meta + "</p>\n";
  if (runs.empty()) {
    html += "<p class=\"note\">The log holds no runs yet.</p>\n";
    return html + kRenderCheck + "</body></html>\n";
  }

  html += "<h2>Runs</h2>\n" + SummaryTable(runs);
  html +=
      "<p class=\"note\">Accuracies are on the test split; time is wall-clock from the start "
      "to the last committed round; clients are those with at least one update record.</p>\n";

  html += "<h2>Accuracy and loss</h2>\n<div class=\"charts\">\n";
  LinePlot accuracy{"Test accuracy per round", "round", "test accuracy",
                    EvalSeries(runs, Metric::kAccuracy, nullptr)};
  LinePlot loss{"Test loss per round", "round", "test loss (cross-entropy)",
                EvalSeries(runs, Metric::kLoss, nullptr)};
  html += HtmlFigure(RenderLinePlot(accuracy), "Round 0 is the initial model.");
  html += HtmlFigure(RenderLinePlot(loss));
  LinePlot wall{"Test accuracy over wall-clock time", "seconds since the run started",
                "test accuracy", EvalSeries(runs, Metric::kAccuracy, &WallClock)};
  html += HtmlFigure(RenderLinePlot(wall),
                     "A resumed run's time includes the pause before it was resumed.");
  if (std::any_of(runs.begin(), runs.end(), HasVirtualTime)) {
    std::vector<RunDetail> async;
    for (const RunDetail& run : runs)
      if (HasVirtualTime(run)) async.push_back(run);
    LinePlot vacc{"Test accuracy per virtual second", "virtual seconds (simulated clock)",
                  "test accuracy", EvalSeries(async, Metric::kAccuracy, &VirtualClock)};
    LinePlot vloss{"Test loss per virtual second", "virtual seconds (simulated clock)",
                   "test loss (cross-entropy)", EvalSeries(async, Metric::kLoss, &VirtualClock)};
    html += HtmlFigure(RenderLinePlot(vacc), "Runs that record a simulated clock only.");
    html += HtmlFigure(RenderLinePlot(vloss));
  }
  html += "</div>\n";

  std::vector<RunDetail> language_models;
  for (const RunDetail& run : runs)
    if (options.language_model_runs.count(run.summary.run.id)) language_models.push_back(run);
  html += RenderPerplexitySection(language_models);

  std::vector<RunDetail> decentralized;
  for (const RunDetail& run : runs)
    if (run.summary.run.spec.mode == "decentralized") decentralized.push_back(run);
  if (!decentralized.empty()) {
    html += "<h2>Decentralized runs (D-SGD)</h2>\n<div class=\"charts\">\n";
    LinePlot nodes{"Mean test accuracy of the node models per round", "round",
                   "mean node test accuracy",
                   SplitSeries(decentralized, "node_mean", Metric::kAccuracy)};
    html +=
        HtmlFigure(RenderLinePlot(nodes),
                   "The accuracy charts above show the average of the node models, which no node "
                   "holds.");
    LinePlot consensus{"Consensus distance per round", "round", "(1/n) sum |x_i - mean x|^2",
                       SplitSeries(decentralized, "consensus", Metric::kLoss)};
    html += HtmlFigure(RenderLinePlot(consensus), "0 when every node holds the same model.");
    // Real processes: besides the global "consensus" of the metrics node's
    // gather (evaluation rounds), each node reports the spread of the models
    // it mixed (coordinator/rendezvous.h).
    if (std::vector<Series> local = SplitSeries(decentralized, "local_consensus", Metric::kLoss);
        !local.empty()) {
      LinePlot neighbourhood{"Local consensus distance per round (real processes)", "round",
                             "mean over nodes of (1/m) sum |v_j - mean v|^2", std::move(local)};
      html += HtmlFigure(RenderLinePlot(neighbourhood),
                         "Over the models each node mixed (its own and its neighbours'), not the "
                         "global quantity.");
    }
    LinePlot bytes{"Bytes per node per round", "round", "MB sent + received per node",
                   BytesPerNodeSeries(decentralized)};
    html += HtmlFigure(RenderLinePlot(bytes), "A dropped node moves nothing in its round.");
    html += "</div>\n";
  }

  if (std::vector<Series> spent = EpsilonSeries(runs); !spent.empty()) {
    html += "<h2>Privacy</h2>\n<div class=\"charts\">\n";
    LinePlot epsilon{"Privacy spent per round", "round", "epsilon (at the run's delta)",
                     std::move(spent)};
    html += HtmlFigure(RenderLinePlot(epsilon),
                       "Differentially private runs only: the accountant's epsilon after each "
                       "aggregated round (client-level DP, central noise).");
    html += "</div>\n";
  }

  html += "<h2>Final model and updates</h2>\n<div class=\"charts\">\n";
  html += HtmlFigure(PerClassChart(runs),
                     "Evaluated on the test split after the last evaluated round.");
  html += HtmlFigure(StalenessChart(runs),
                     "Staleness 0: the update was trained on the newest global model.");
  html += "</div>\n";

  for (size_t i = 0; i < runs.size(); ++i) {
    const RunDetail& run = runs[i];
    html += "<h2>Run <span class=\"swatch\" style=\"background:" + SeriesColor(i) + "\"></span>" +
            EscapeXml(RunName(run)) + "</h2>\n";
    const storage::RunInfo& info = run.summary.run;
    html += "<p class=\"meta\">id " + std::to_string(info.id) + " &#183; " +
            EscapeXml(info.spec.strategy) + " &#183; " + EscapeXml(info.spec.model_spec) +
            " &#183; seed " + std::to_string(info.spec.seed) + " &#183; " +
            EscapeXml(StatusText(run)) +
            (info.status_reason.empty() ? "" : ": " + EscapeXml(info.status_reason)) +
            OwnerText(run) + "</p>\n";
    size_t clients = 0;
    const std::string grid = ParticipationGrid(run, options.max_grid_clients, &clients);
    std::string caption;
    if (clients > options.max_grid_clients) {
      caption += "The first " + std::to_string(options.max_grid_clients) + " of " +
                 std::to_string(clients) + " clients (by id) are shown.";
    }
    html += "<div class=\"charts\">\n" + HtmlFigure(grid, caption) + HtmlFigure(FailureChart(run)) +
            "</div>\n";
    html += KeptRoundsTable(run);
    html += EventsTable(run);
    if (const auto landscape = options.landscapes.find(info.id);
        landscape != options.landscapes.end()) {
      html += RenderLandscapeSection(landscape->second);
    } else if (options.landscape_hints) {
      html += LandscapeHint();
    }
    html +=
        "<h3>Configuration</h3>\n<pre class=\"config\">" + EscapeXml(info.spec.config) + "</pre>\n";
  }
  return html + kRenderCheck + "</body></html>\n";
}

}  // namespace edgefl::report
