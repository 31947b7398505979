// The subcommands of the `edgefl` tool. Each takes argv starting at the
// command name, returns an exit code, and throws edgefl::Error for bad input.
#pragma once

namespace edgefl::tools {

int RunPartition(int argc, char** argv);
int RunSim(int argc, char** argv);
int RunSweep(int argc, char** argv);
int RunCerts(int argc, char** argv);
int RunRuns(int argc, char** argv);
int RunReport(int argc, char** argv);
int RunAnalyze(int argc, char** argv);

}  // namespace edgefl::tools
