// The invariants a crash must never break in an experiment log, checked
// the way a user would check them after `kill -9` (scripts/crash-soak.sh,
// bench/log_check):
//   - PRAGMA integrity_check is "ok";
//   - each run's rounds are exactly 1..N, each once, and each round's model
//     version is the previous one or one more (a round is aggregated once);
//   - each (run, round, client) update is recorded at most once and belongs
//     to a committed round, and a sync round's accepted/dropped/rejected
//     counts equal its update rows (no update applied twice or lost);
//   - each (run, round, split) evaluation at most once, for round 0..N;
//   - every stored checkpoint decodes (SHA-256 matches) and a run with
//     rounds has a checkpoint of its last round (what a resume starts from).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace edgefl::storage {

struct LogCheckResult {
  std::vector<std::string> violations;  // one sentence each; empty when sound
  int64_t runs = 0;
  int64_t rounds = 0;       // committed rounds over all runs
  int64_t updates = 0;      // client update rows
  int64_t checkpoints = 0;  // checkpoints decoded
  bool ok() const { return violations.empty(); }
};

// Checks the log at `path`, opened read-only (a live writer may be running).
// Throws IoError/DataError when the file cannot be opened or is not an
// edgefl log; every broken invariant is a violation, not an exception.
LogCheckResult CheckLog(const std::filesystem::path& path);

}  // namespace edgefl::storage
