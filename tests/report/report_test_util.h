// A small experiment log from real simulations, and helpers to read the
// charts back out of a rendered report.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/experiment_config.h"
#include "report/html_report.h"
#include "sim/simulation.h"
#include "storage/run_summary.h"
#include "tests/sim/sim_config_util.h"

namespace edgefl::report::test {

// Runs a 3-round simulation named `run_name` of `strategy` on a
// Fashion-MNIST subset into the log at `db`.
inline sim::SimulationResult SimulateSmallRun(const std::filesystem::path& db,
                                              const std::string& run_name,
                                              const std::string& strategy) {
  const engine::ExperimentConfig config = edgefl::testing::LoadTestConfig(
      {}, {"rounds=3", "clients=5", "clients_per_round=4", "train_subset=1500", "test_subset=400",
           "partition=dirichlet", "alpha=0.5", "model=mlp:784-16-10", "lr=0.05", "batch_size=32",
           "threads=1", "strategy=" + strategy, "db=" + db.string(), "run_name=" + run_name});
  return sim::RunSimulation(config, nullptr);
}

// Every run of the log at `db`, read as `edgefl report` reads it.
inline std::vector<storage::RunDetail> ReadAll(const std::filesystem::path& db) {
  const auto log = storage::OpenLogForReading(db);
  return storage::ReadRunDetails(*log, {});
}

// The <svg> whose aria-label is `title`, or "" if there is none.
inline std::string SvgTitled(const std::string& html, const std::string& title) {
  const size_t at = html.find("aria-label=\"" + title + "\"");
  if (at == std::string::npos) return "";
  const size_t start = html.rfind("<svg", at);
  const size_t end = html.find("</svg>", at);
  return html.substr(start, end + 6 - start);
}

struct Polyline {
  std::string series;  // data-series (escaped as in the file)
  std::vector<std::pair<double, double>> points;
};

// The <polyline class="series"> elements of `svg`, in order.
inline std::vector<Polyline> Polylines(const std::string& svg) {
  std::vector<Polyline> out;
  size_t at = 0;
  while ((at = svg.find("<polyline class=\"series\"", at)) != std::string::npos) {
    Polyline line;
    const size_t name = svg.find("data-series=\"", at) + 13;
    line.series = svg.substr(name, svg.find('"', name) - name);
    const size_t points = svg.find("points=\"", at) + 8;
    const std::string text = svg.substr(points, svg.find('"', points) - points);
    const char* p = text.c_str();
    while (*p != '\0') {
      char* end = nullptr;
      const double x = std::strtod(p, &end);
      const double y = std::strtod(end + 1, &end);  // skip the ','
      line.points.emplace_back(x, y);
      p = end;
      while (*p == ' ')
        ++p;
    }
    out.push_back(std::move(line));
    at = points;
  }
  return out;
}

// The texts of the legend entries of `svg`.
inline std::vector<std::string> LegendNames(const std::string& svg) {
  std::vector<std::string> out;
  const std::string tag = "class=\"legend\">";
  size_t at = 0;
  while ((at = svg.find(tag, at)) != std::string::npos) {
    at += tag.size();
    out.push_back(svg.substr(at, svg.find('<', at) - at));
  }
  return out;
}

inline size_t CountOf(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

}  // namespace edgefl::report::test
