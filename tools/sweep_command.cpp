// edgefl sweep: a grid of `edgefl sim` configs, one run each, into one log.
// Under mpirun the grid's runs are spread over the ranks as independent
// simulations (run i on rank i mod R; no messages between ranks), each
// writing its runs into the config's log (SQLite serialises the writers);
// without mpirun they run one after the other. Runs already complete in the
// log are skipped, so the same command finishes an interrupted sweep.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "mpi/launcher.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tools/commands.h"
#include "tools/option_values.h"
#include "tools/stop_signals.h"

namespace edgefl::tools {
namespace {

// One --grid: a key and its values.
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

Axis ParseAxis(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw ConfigError("--grid " + text + ": expected key=value1,value2,...");
  }
  Axis axis{text.substr(0, eq), {}};
  std::string rest = text.substr(eq + 1);
  size_t from = 0;
  for (;;) {
    const size_t comma = rest.find(',', from);
    std::string value = rest.substr(from, comma == std::string::npos ? comma : comma - from);
    if (value.empty()) throw ConfigError("--grid " + text + ": an empty value");
    axis.values.push_back(std::move(value));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return axis;
}

// The grid's points in order (the last axis varies fastest), each as its
// key=value overrides.
std::vector<std::vector<std::string>> Points(const std::vector<Axis>& axes) {
  std::vector<std::vector<std::string>> points{{}};
  for (const Axis& axis : axes) {
    std::vector<std::vector<std::string>> next;
    for (const std::vector<std::string>& point : points) {
      for (const std::string& value : axis.values) {
        next.push_back(point);
        next.back().push_back(axis.key + "=" + value);
      }
    }
    points = std::move(next);
  }
  return points;
}

bool CompleteInLog(const engine::ExperimentConfig& config) {
  storage::ExperimentLog::Options options;
  options.read_only = true;
  try {
    storage::ExperimentLog log(config.db, options);
    const std::optional<storage::RunInfo> run = log.FindRun(config.run_name);
    return run && run->status == storage::RunStatus::kCompleted;
  } catch (const Error&) {
    return false;  // no log yet
  }
}

}  // namespace

int RunSweep(int argc, char** argv) {
  cxxopts::Options options(
      "edgefl sweep",
      "Run a grid of edgefl sim configs, one run each, into the config's log. Run i is "
      "named '<run_name>:key=value:...'. Under mpirun the runs are spread over the ranks "
      "(run i on rank i mod R, independent simulations); runs already complete are skipped.");
  // clang-format off
  options.add_options()
      ("c,config", "base experiment config (TOML); without it the defaults are used",
       cxxopts::value<std::string>()->default_value(""))
      ("g,grid", "an axis of the grid: --grid lr=0.01,0.05 (repeatable; the last varies fastest)",
       cxxopts::value<std::vector<std::string>>())
      ("s,set", "override a key of every run: --set rounds=20 (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("h,help", "print this help");
  // clang-format on
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args)) return kExitOk;
  std::vector<std::string> base;
  if (args.count("set")) base = args["set"].as<std::vector<std::string>>();
  std::vector<Axis> axes;
  if (args.count("grid")) {
    // cxxopts splits a vector option's value at commas: a piece without
    // '=' is another value of the axis before it.
    for (const std::string& piece : args["grid"].as<std::vector<std::string>>()) {
      if (piece.find('=') == std::string::npos && !axes.empty()) {
        if (piece.empty()) throw ConfigError("--grid " + axes.back().key + ": an empty value");
        axes.back().values.push_back(piece);
      } else {
        axes.push_back(ParseAxis(piece));
      }
    }
  }
  if (axes.empty()) throw ConfigError("edgefl sweep needs at least one --grid key=v1,v2,...");
  const std::string path = args["config"].as<std::string>();
  const std::string base_name = engine::LoadExperimentConfig(path, base).run_name;

  // Every config first: a bad key or value fails before any run starts.
  std::vector<engine::ExperimentConfig> configs;
  for (const std::vector<std::string>& point : Points(axes)) {
    std::vector<std::string> overrides = base;
    std::string name = base_name;
    for (const std::string& pair : point) {
      overrides.push_back(pair);
      name += ":" + pair;
    }
    overrides.push_back("run_name=" + name);
    configs.push_back(engine::LoadExperimentConfig(path, overrides));
  }
  const int rank = mpi::LaunchRank();
  const int ranks = mpi::LaunchedByMpirun() ? mpi::LaunchSize() : 1;
  if (rank == 0) {
    std::printf("sweep: %zu runs into %s%s\n", configs.size(), configs.front().db.c_str(),
                ranks > 1 ? (", over " + std::to_string(ranks) + " ranks").c_str() : "");
    std::fflush(stdout);
  }
  const StopSignals signals("sweep", stderr);
  int failed = 0;
  for (size_t i = static_cast<size_t>(rank); i < configs.size(); i += static_cast<size_t>(ranks)) {
    if (signals.stop()) break;
    const engine::ExperimentConfig& config = configs[i];
    if (CompleteInLog(config)) {
      std::printf("sweep: [rank %d] run '%s' already complete: skipped\n", rank,
                  config.run_name.c_str());
      continue;
    }
    try {
      const sim::SimulationResult result = sim::RunSimulation(config, nullptr, &signals.stop());
      std::printf(
          "sweep: [rank %d] run '%s' %s: rounds %lld-%lld, final test accuracy %.4f, "
          "best %.4f\n",
          rank, config.run_name.c_str(), result.interrupted ? "interrupted" : "done",
          static_cast<long long>(result.first_round), static_cast<long long>(result.last_round),
          result.final_accuracy, result.best_accuracy);
    } catch (const Error& e) {
      // The run is marked failed in the log; the others go on.
      ++failed;
      std::fprintf(stderr, "sweep: [rank %d] run '%s' failed: %s\n", rank, config.run_name.c_str(),
                   e.what());
    }
    std::fflush(stdout);
  }
  return failed > 0 ? kExitFailure : kExitOk;
}

}  // namespace edgefl::tools
