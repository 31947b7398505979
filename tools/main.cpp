// edgefl: the command-line tool. Dispatches to one command per file
// (partition_command.cpp, ...) and turns exceptions into a message and an
// exit code.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <cxxopts.hpp>

#include "common/error.h"
#include "tools/commands.h"

namespace {

void PrintUsage() {
  std::fputs(
      "usage: edgefl <command> [options]\n"
      "\n"
      "commands:\n"
      "  partition   split a dataset across clients and print per-client class counts\n"
      "  sim         run a federated experiment with simulated clients (SQLite log)\n"
      "  sweep       run a grid of sim configs into one log (spread over mpirun's ranks)\n"
      "  certs       create the project CA and issue coordinator/client certificates\n"
      "  runs        list, show or compare the runs of an experiment log\n"
      "  report      render runs of an experiment log as one HTML file with charts\n"
      "  analyze     loss barriers between a run's models and their dropout stability\n"
      "\n"
      "Run 'edgefl <command> --help' for the options of a command.\n",
      stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage();
    return edgefl::kExitUsage;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    PrintUsage();
    return edgefl::kExitOk;
  }
  try {
    // Each command sees argv without the tool name: argv[0] is the command.
    if (command == "partition") return edgefl::tools::RunPartition(argc - 1, argv + 1);
    if (command == "sim") return edgefl::tools::RunSim(argc - 1, argv + 1);
    if (command == "sweep") return edgefl::tools::RunSweep(argc - 1, argv + 1);
    if (command == "certs") return edgefl::tools::RunCerts(argc - 1, argv + 1);
    if (command == "runs") return edgefl::tools::RunRuns(argc - 1, argv + 1);
    if (command == "report") return edgefl::tools::RunReport(argc - 1, argv + 1);
    if (command == "analyze") return edgefl::tools::RunAnalyze(argc - 1, argv + 1);
    std::fprintf(stderr, "edgefl: unknown command '%s'\n", argv[1]);
    PrintUsage();
    return edgefl::kExitUsage;
  } catch (const cxxopts::exceptions::exception& e) {
    return edgefl::ReportUsageError(("edgefl " + std::string(command)).c_str(), e);
  } catch (const std::exception& e) {
    return edgefl::ReportError(("edgefl " + std::string(command)).c_str(), e);
  }
}
