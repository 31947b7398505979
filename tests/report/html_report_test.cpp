// The HTML report, checked the way a reader would: the right series, one
// point per evaluated round, legends naming the runs, in a file that needs
// nothing from the network.
#include "report/html_report.h"

#include <algorithm>
#include <set>

#include <doctest/doctest.h>

#include "report/svg_plot.h"
#include "tests/report/report_test_util.h"
#include "tests/sim/sim_config_util.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::report {
namespace {

using edgefl::testing::TempDir;
using test::CountOf;
using test::LegendNames;
using test::Polylines;
using test::SvgTitled;

std::string PercentText(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100.0 * value);
  return buffer;
}

}  // namespace

TEST_CASE("The report of two simulated runs overlays them with one point per evaluated round") {
  TempDir dir;
  const auto db = dir / "log.db";
  test::SimulateSmallRun(db, "fedavg-a", "fedavg");
  test::SimulateSmallRun(db, "fedavgm-b", "fedavgm");
  const std::vector<storage::RunDetail> runs = test::ReadAll(db);
  REQUIRE(runs.size() == 2);
  const std::string html = RenderHtmlReport(runs, ReportOptions{});

  for (const std::string title : {"Test accuracy per round", "Test loss per round"}) {
    CAPTURE(title);
    const std::string svg = SvgTitled(html, title);
    REQUIRE_FALSE(svg.empty());
    CHECK(LegendNames(svg) == std::vector<std::string>{"fedavg-a", "fedavgm-b"});
    const std::vector<test::Polyline> lines = Polylines(svg);
    REQUIRE(lines.size() == 2);
    for (size_t r = 0; r < 2; ++r) {
      CHECK(lines[r].series == runs[r].summary.run.spec.name);
      const std::vector<storage::EvaluationRecord> evals = runs[r].EvaluationsOn("test");
      REQUIRE(evals.size() == 4);                // rounds 0..3
      REQUIRE(lines[r].points.size() == 3 + 1);  // rounds + 1
      for (size_t i = 0; i < 4; ++i) {
        if (i > 0) CHECK(lines[r].points[i].first > lines[r].points[i - 1].first);
        // Higher values are drawn higher (smaller pixel y), as in the log.
        for (size_t j = 0; j < 4; ++j) {
          const double a = title[10] == 'a' ? evals[i].accuracy : evals[i].loss;
          const double b = title[10] == 'a' ? evals[j].accuracy : evals[j].loss;
          if (a > b) CHECK(lines[r].points[i].second < lines[r].points[j].second);
        }
      }
    }
    // Both runs start at the same initial model: the same round-0 point.
    CHECK(lines[0].points[0] == lines[1].points[0]);
  }

  // The summary table's figures are the log's.
  for (const storage::RunDetail& run : runs) {
    CHECK(html.find(PercentText(*run.summary.best_accuracy)) != std::string::npos);
    CHECK(html.find(PercentText(*run.summary.final_accuracy)) != std::string::npos);
  }

  // Per-class accuracy of each final model: one bar per non-zero class value.
  const std::string per_class = SvgTitled(html, "Per-class test accuracy of the final model");
  size_t bars = 0;
  for (const storage::RunDetail& run : runs) {
    const auto final_eval = run.FinalEvaluation("test");
    REQUIRE(final_eval.has_value());
    CHECK(final_eval->round == 3);
    CHECK(final_eval->per_class_accuracy.size() == 10);
    for (double a : final_eval->per_class_accuracy)
      bars += a > 0.0 ? 1 : 0;
  }
  CHECK(CountOf(per_class, "class=\"bar\"") == bars);

  // Staleness: a sync run's accepted updates all have staleness 0.
  const std::string staleness = SvgTitled(html, "Staleness of accepted updates");
  for (const storage::RunDetail& run : runs) {
    const auto accepted = std::count_if(run.updates.begin(), run.updates.end(), [](const auto& u) {
      return u.status == storage::UpdateStatus::kAccepted && u.staleness == 0;
    });
    CHECK(accepted == 12);  // 3 rounds x 4 clients
    CHECK(staleness.find(run.summary.run.spec.name + ", 0: " + std::to_string(accepted)) !=
          std::string::npos);
  }

  // One participation grid per run: a cell per (client, round).
  CHECK(CountOf(html, "aria-label=\"Participation per client and round\"") == 2);
  const std::string grid = SvgTitled(html, "Participation per client and round");
  CHECK(CountOf(grid, "class=\"cell\"") == 5 * 3);
  CHECK(CountOf(grid, ": accepted</title>") == 12);
  CHECK(CountOf(grid, ": not selected</title>") == 3);
  CHECK(SvgTitled(html, "Dropped and rejected updates per round").find("none dropped") !=
        std::string::npos);
  // The configuration of each run.
  CHECK(CountOf(html, "strategy = &#39;fedavgm&#39;") == 1);
  // Virtual-time charts exactly when a round records the simulated clock.
  bool virtual_time = false;
  for (const storage::RunDetail& run : runs)
    for (const storage::RoundRecord& r : run.rounds)
      virtual_time = virtual_time || r.virtual_time.has_value();
  CHECK((html.find("per virtual second") != std::string::npos) == virtual_time);

  // Self-contained: nothing to fetch.
  for (const std::string part : {"src=", "href=", "url(", "@import", "https:"})
    CHECK_MESSAGE(html.find(part) == std::string::npos, part);
  CHECK(CountOf(html, "http:") == CountOf(html, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST_CASE("Runs with a virtual clock get accuracy and loss per virtual second") {
  TempDir dir;
  {
    storage::ExperimentLog log(dir / "async.db");
    storage::RunSpec spec = storage::test::SampleRun("async-run");
    spec.mode = "async";
    const int64_t run = log.BeginRun(spec);
    log.RecordEvaluation(run, storage::test::SampleEvaluation(0));
    for (int64_t round = 1; round <= 4; ++round) {
      std::vector<storage::ClientUpdateRecord> updates = {storage::test::SampleUpdate(round, "c1"),
                                                          storage::test::SampleUpdate(round, "c2")};
      updates[1].staleness = round % 3;  // 1, 2, 0, 1
      const std::vector<storage::EvaluationRecord> evals = {storage::test::SampleEvaluation(round)};
      log.CommitRound(run, storage::test::SampleRound(round), updates, evals, nullptr);
    }
  }
  const std::string html = RenderHtmlReport(test::ReadAll(dir / "async.db"), ReportOptions{});
  const std::string svg = SvgTitled(html, "Test accuracy per virtual second");
  REQUIRE_FALSE(svg.empty());
  CHECK(LegendNames(svg) == std::vector<std::string>{"async-run"});
  const std::vector<test::Polyline> lines = Polylines(svg);
  REQUIRE(lines.size() == 1);
  REQUIRE(lines[0].points.size() == 5);
  // SampleRound: virtual time 3.25 * round, so round 4 is twice as far from
  // round 0 as round 2.
  const auto& p = lines[0].points;
  CHECK((p[4].first - p[0].first) == doctest::Approx(2 * (p[2].first - p[0].first)).epsilon(0.01));
  CHECK_FALSE(SvgTitled(html, "Test loss per virtual second").empty());
  // Staleness 0..2: c1 four times at 0, c2 at 1, 2, 0, 1.
  const std::string staleness = SvgTitled(html, "Staleness of accepted updates");
  CHECK(staleness.find("async-run, 0: 5") != std::string::npos);
  CHECK(staleness.find("async-run, 1: 2") != std::string::npos);
  CHECK(staleness.find("async-run, 2: 1") != std::string::npos);
}

TEST_CASE("The report shows kept rounds discarded updates events and an orphaned run") {
  TempDir dir;
  const auto db = dir / "log.db";
  {
    storage::ExperimentLog log(db);
    const int64_t run = log.BeginRun(storage::test::SampleRun("kept-run"));
    log.SetOwner(run, "pid 4242 on host edge-1");
    storage::test::CommitSampleRound(log, run, 1);
    // Round 2 kept the model: one usable update (discarded), two dropped.
    storage::RoundRecord kept = storage::test::SampleRound(2);
    kept.model_version = 1;
    kept.completed = 0;
    kept.dropped = 2;
    kept.aggregated = false;
    kept.outcome = "quorum not reached: 1 of 3 updates, 2 needed";
    std::vector<storage::ClientUpdateRecord> updates = {storage::test::SampleUpdate(2, "c1"),
                                                        storage::test::SampleUpdate(2, "c2"),
                                                        storage::test::SampleUpdate(2, "c3")};
    updates[0].status = storage::UpdateStatus::kDiscarded;
    updates[1].status = storage::UpdateStatus::kDropped;
    updates[2].status = storage::UpdateStatus::kDropped;
    log.CommitRound(run, kept, updates, {}, nullptr);
    log.RecordEvent(run, "resumed", "");
    const std::vector<std::string> changes = {"rounds: 5 -> 8"};
    log.ChangeRunSpec(run, "rounds = 8\n", 8, changes);
    log.RecordEvent(run, "owner_lost", "pid 4242 on host edge-1");
    // Left marked running with no process holding its lease: orphaned.

    const int64_t done = storage::test::SampleRunWithRounds(log, "done-run", 1);
    log.EndRun(done, storage::RunStatus::kCompleted);
  }
  const std::vector<storage::RunDetail> runs = test::ReadAll(db);
  REQUIRE(runs.size() == 2);
  REQUIRE(runs[0].owner_lost);
  REQUIRE_FALSE(runs[1].owner_lost);
  const std::string html = RenderHtmlReport(runs, ReportOptions{});

  // Status: orphaned in the summary table and in the run's own section,
  // only for the run whose owner is gone.
  CHECK(CountOf(html, ">orphaned</span>") == 1);
  CHECK(CountOf(html, "&#183; orphaned") == 1);
  CHECK(html.find("owner pid 4242 on host edge-1 (gone)") != std::string::npos);
  CHECK(CountOf(html, "completed") >= 2);

  // The kept round, with its outcome and what happened to its updates.
  CHECK(CountOf(html, "<h3>Rounds that kept the previous model</h3>") == 1);
  CHECK(html.find("<tr><td class=\"num\">2</td><td>quorum not reached: 1 of 3 updates, 2 "
                  "needed</td><td class=\"num\">1</td><td class=\"num\">2</td>") !=
        std::string::npos);

  // Discarded updates are their own category in the participation grid.
  const std::string grid = SvgTitled(html, "Participation per client and round");
  CHECK(CountOf(grid, "c1, 2: discarded (round kept the model)</title>") == 1);
  CHECK(CountOf(grid, "c2, 2: dropped</title>") == 1);
  CHECK(CountOf(grid, ": accepted</title>") == 2);                              // round 1: c1, c2
  CHECK(grid.find(">discarded (round kept the model)<") != std::string::npos);  // legend

  // The run's events, in order, after the round they followed.
  CHECK(CountOf(html, "<h3>Events</h3>") == 1);
  const size_t resumed = html.find("<td class=\"num\">2</td><td>resumed</td><td></td>");
  const size_t changed =
      html.find("<td class=\"num\">2</td><td>config_changed</td><td>rounds: 5 -&gt; 8</td>");
  const size_t lost =
      html.find("<td class=\"num\">2</td><td>owner_lost</td><td>pid 4242 on host edge-1</td>");
  CHECK(resumed != std::string::npos);
  CHECK(changed != std::string::npos);
  CHECK(lost != std::string::npos);
  CHECK(resumed < changed);
  CHECK(changed < lost);
}

TEST_CASE("Text from the log is escaped everywhere in the report") {
  TempDir dir;
  {
    storage::ExperimentLog log(dir / "evil.db");
    storage::RunSpec spec = storage::test::SampleRun("<script>alert('x')</script>&\"");
    spec.config = "note = \"</pre><img src=x onerror=alert(1)>\"";
    spec.strategy = "<b>bold</b>";
    const int64_t run = log.BeginRun(spec);
    storage::test::CommitSampleRound(log, run, 1);
  }
  const std::string html = RenderHtmlReport(test::ReadAll(dir / "evil.db"), ReportOptions{});
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>bold") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;") !=
        std::string::npos);
  CHECK(html.find("&lt;/pre&gt;&lt;img src=x") != std::string::npos);
  // The only scripts are the report's own two.
  CHECK(CountOf(html, "<script>") == 2);
}

TEST_CASE("An empty log gives a report that says so") {
  const std::string html = RenderHtmlReport({}, ReportOptions{});
  CHECK(html.find("no runs yet") != std::string::npos);
  CHECK(html.find("</html>") != std::string::npos);
}

}  // namespace edgefl::report

namespace edgefl::report {

TEST_CASE("A D-SGD run gets node accuracy - consensus and bytes per node charts") {
  TempDir dir;
  const engine::ExperimentConfig config = edgefl::testing::LoadTestConfig(
      {}, {"rounds=3", "clients=4", "clients_per_round=4", "train_subset=800", "test_subset=200",
           "partition=dirichlet", "alpha=0.5", "model=mlp:784-16-10", "lr=0.05", "batch_size=32",
           "local_steps=5", "threads=1", "strategy=dsgd", "mode=decentralized", "topology=ring",
           "db=" + (dir / "d.db").string(), "run_name=ring4"});
  sim::RunSimulation(config, nullptr);
  test::SimulateSmallRun(dir / "d.db", "fedavg-run", "fedavg");
  const std::string html = RenderHtmlReport(test::ReadAll(dir / "d.db"), ReportOptions{});
  for (const char* title : {"Mean test accuracy of the node models per round",
                            "Consensus distance per round", "Bytes per node per round"}) {
    CAPTURE(title);
    const std::string svg = SvgTitled(html, title);
    REQUIRE_FALSE(svg.empty());
    // The D-SGD run only: FedAvg has no node models.
    CHECK(LegendNames(svg) == std::vector<std::string>{"ring4"});
    const std::vector<test::Polyline> lines = Polylines(svg);
    REQUIRE(lines.size() == 1);
    // Rounds 0..3 evaluated; bytes from round 1.
    CHECK(lines[0].points.size() == (std::string(title) == "Bytes per node per round" ? 3u : 4u));
  }
  // The simulator knows the global consensus: no local chart.
  CHECK(html.find("Local consensus distance") == std::string::npos);

  // Real processes log the local stand-in instead (coordinator/rendezvous.h).
  std::vector<storage::RunDetail> runs = test::ReadAll(dir / "d.db");
  for (storage::RunDetail& run : runs) {
    for (storage::EvaluationRecord& e : run.evaluations)
      if (e.split == "consensus") e.split = "local_consensus";
  }
  const std::string processes = RenderHtmlReport(runs, ReportOptions{});
  const std::string svg =
      SvgTitled(processes, "Local consensus distance per round (real processes)");
  REQUIRE_FALSE(svg.empty());
  CHECK(LegendNames(svg) == std::vector<std::string>{"ring4"});
  REQUIRE(Polylines(svg).size() == 1);
  CHECK(Polylines(svg)[0].points.size() == 4u);
}

}  // namespace edgefl::report
