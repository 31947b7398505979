// edgefl sim: run a federated experiment with in-process clients and write
// it to the SQLite experiment log. Started by mpirun, one experiment over
// the job's ranks (mpi/mpi_simulation.h), printed and logged by rank 0.
#include <cstdio>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "mpi/launcher.h"
#include "mpi/mpi_simulation.h"
#include "sim/simulation.h"
#include "tools/commands.h"
#include "tools/option_values.h"
#include "tools/stop_signals.h"

namespace edgefl::tools {

int RunSim(int argc, char** argv) {
  cxxopts::Options options("edgefl sim",
                           "Run a federated-learning experiment with simulated clients. Every key "
                           "of the TOML config can be overridden with --set key=value.");
  // clang-format off
  options.add_options()
      ("c,config", "experiment config (TOML); without it the defaults are used",
       cxxopts::value<std::string>()->default_value(""))
      ("s,set", "override a config key: --set rounds=20 (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("q,quiet", "no per-round progress lines")
      ("h,help", "print this help");
  // clang-format on
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args,
                        "\nConfig keys and their defaults: docs/algorithms.md and "
                        "engine/experiment_config.h; examples in examples/.\n")) {
    return kExitOk;
  }
  std::vector<std::string> overrides;
  if (args.count("set")) overrides = args["set"].as<std::vector<std::string>>();
  const engine::ExperimentConfig config =
      engine::LoadExperimentConfig(args["config"].as<std::string>(), overrides);
  // Under mpirun only rank 0 prints; the client ranks report only errors.
  const bool over_mpi = mpi::LaunchedByMpirun();
  if (over_mpi && !mpi::Available()) {
    throw ConfigError(
        "this edgefl was built without MPI (EDGEFL_MPI=OFF): install libopenmpi-dev and "
        "rebuild to run `mpirun -n R edgefl sim`");
  }
  if (over_mpi && mpi::LaunchRank() != 0) {
    const StopSignals signals("sim", stderr);
    mpi::RunMpiSimulation(config, nullptr, &signals.stop());
    return kExitOk;
  }

  std::printf("sim: run '%s': %s on %s (%s), %lld clients, %lld per round, %lld rounds, model %s\n",
              config.run_name.c_str(), config.strategy.c_str(), config.dataset.c_str(),
              config.partition.c_str(), static_cast<long long>(config.clients),
              static_cast<long long>(config.clients_per_round),
              static_cast<long long>(config.rounds), config.model.c_str());
  for (const std::string& line : config.followed_defaults)
    std::printf("sim: %s\n", line.c_str());
  if (over_mpi) {
    std::printf(
        "sim: over %d MPI ranks: client k trains on rank k mod %d, rank 0 runs the rounds\n",
        mpi::LaunchSize(), mpi::LaunchSize());
  }
  std::fflush(stdout);
  // Ctrl-C or SIGTERM: the round in progress finishes, the run is marked
  // interrupted and a later `edgefl sim` of the same config resumes it.
  // Under mpirun, a SIGTERM usually means a rank died (mpirun then stops
  // every rank): rank 0 ends at once without committing the round in
  // progress (mpi/rank_dispatcher.h).
  const StopSignals signals("sim", stderr);
  std::FILE* const progress = args.count("quiet") ? nullptr : stdout;
  const sim::SimulationResult result =
      over_mpi ? *mpi::RunMpiSimulation(config, progress, &signals.stop())
               : sim::RunSimulation(config, progress, &signals.stop());
  if (result.last_round < result.first_round) {
    // No round to report an accuracy of (stopped at once, or no client was
    // ever available).
    std::printf("sim: run '%s' (id %lld) stopped before any round was completed, %.1f s; log %s\n",
                config.run_name.c_str(), static_cast<long long>(result.run_id), result.seconds,
                config.db.c_str());
    return kExitOk;
  }
  if (result.interrupted) {
    std::printf(
        "sim: run '%s' (id %lld) interrupted after round %lld; run the same command to "
        "resume it; log %s\n",
        config.run_name.c_str(), static_cast<long long>(result.run_id),
        static_cast<long long>(result.last_round), config.db.c_str());
    return kExitOk;
  }
  std::printf(
      "sim: run '%s' (id %lld) done: rounds %lld-%lld, final test accuracy %.4f, best "
      "%.4f, %.1f s; log %s%s%s\n",
      config.run_name.c_str(), static_cast<long long>(result.run_id),
      static_cast<long long>(result.first_round), static_cast<long long>(result.last_round),
      result.final_accuracy, result.best_accuracy, result.seconds, config.db.c_str(),
      result.budget_spent ? "; " : "", result.budget_spent ? result.budget_spent->c_str() : "");
  return kExitOk;
}

}  // namespace edgefl::tools
