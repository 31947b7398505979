// Checks an experiment log's crash invariants (storage/log_check.h) and
// prints one line; for scripts/crash-soak.sh and by hand after a crash.
//
//   log_check DB [RUN MIN_ROUNDS]
//
// RUN MIN_ROUNDS: also require run RUN to have at least MIN_ROUNDS committed
// rounds (a round committed before a crash must still be there after it).
// Prints "ok: ... last round of RUN: N" and exits 0, or prints each
// violation on stderr and exits 1; 4 if the file cannot be read.
#include "storage/log_check.h"

#include <cstdio>
#include <exception>
#include <string>

#include "common/error.h"
#include "storage/experiment_log.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: log_check DB [RUN MIN_ROUNDS]\n");
    return edgefl::kExitUsage;
  }
  try {
    const std::string path = argv[1];
    edgefl::storage::LogCheckResult result = edgefl::storage::CheckLog(path);
    std::string tail;
    if (argc == 4) {
      const std::string run = argv[2];
      const long long min_rounds = std::stoll(argv[3]);
      edgefl::storage::ExperimentLog::Options options;
      options.read_only = true;
      edgefl::storage::ExperimentLog log(path, options);
      const auto info = log.FindRun(run);
      const long long last = info ? static_cast<long long>(log.LastCompletedRound(info->id)) : 0;
      if (last < min_rounds) {
        result.violations.push_back("run '" + run + "' has " + std::to_string(last) +
                                    " committed rounds, fewer than the " +
                                    std::to_string(min_rounds) + " committed before");
      }
      tail = "; last round of " + run + ": " + std::to_string(last);
    }
    for (const std::string& v : result.violations)
      std::fprintf(stderr, "log_check: %s: %s\n", path.c_str(), v.c_str());
    if (!result.ok()) return 1;
    std::printf("ok: %lld runs, %lld rounds, %lld updates, %lld checkpoints decoded%s\n",
                static_cast<long long>(result.runs), static_cast<long long>(result.rounds),
                static_cast<long long>(result.updates), static_cast<long long>(result.checkpoints),
                tail.c_str());
    return 0;
  } catch (const std::exception& e) {
    return edgefl::ReportError("log_check", e);
  }
}
