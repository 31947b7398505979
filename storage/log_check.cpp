#include "storage/log_check.h"

#include <map>
#include <set>
#include <utility>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "storage/sqlite_db.h"

namespace edgefl::storage {
namespace {

std::string RunName(const RunInfo& run) {
  return "run '" + run.spec.name + "' (id " + std::to_string(run.id) + ")";
}

void CheckRun(ExperimentLog& log, const RunInfo& run, LogCheckResult& result) {
  const std::string name = RunName(run);
  auto violation = [&](const std::string& what) {
    result.violations.push_back(name + ": " + what);
  };

  const std::vector<RoundRecord> rounds = log.Rounds(run.id);
  result.rounds += static_cast<int64_t>(rounds.size());
  std::map<int64_t, const RoundRecord*> by_round;
  int64_t previous_version = 0;
  for (size_t i = 0; i < rounds.size(); ++i) {
    const RoundRecord& r = rounds[i];
    const int64_t expected = static_cast<int64_t>(i) + 1;
    if (r.round != expected) {
      violation("round " + std::to_string(r.round) + " where round " + std::to_string(expected) +
                " was expected (rounds must be 1..N, each once)");
    }
    if (!by_round.emplace(r.round, &r).second) {
      violation("round " + std::to_string(r.round) + " recorded twice");
    }
    if (r.model_version != previous_version && r.model_version != previous_version + 1) {
      violation("round " + std::to_string(r.round) + " has model version " +
                std::to_string(r.model_version) + " after version " +
                std::to_string(previous_version));
    }
    previous_version = r.model_version;
  }
  const int64_t last = rounds.empty() ? 0 : rounds.back().round;
  if (log.LastCompletedRound(run.id) != last) {
    violation("last completed round " + std::to_string(log.LastCompletedRound(run.id)) +
              " differs from the highest round row " + std::to_string(last));
  }

  // Updates: once per (round, client), in a committed round, matching the
  // round's counts.
  struct Counts {
    int64_t accepted = 0, dropped = 0, rejected = 0, discarded = 0;
  };
  std::map<int64_t, Counts> counts;
  std::set<std::pair<int64_t, std::string>> seen;
  const std::vector<ClientUpdateRecord> updates = log.ClientUpdates(run.id);
  result.updates += static_cast<int64_t>(updates.size());
  for (const ClientUpdateRecord& u : updates) {
    const std::string which = "update of " + u.client_id + " in round " + std::to_string(u.round);
    if (!seen.emplace(u.round, u.client_id).second) violation(which + " recorded twice");
    if (!by_round.count(u.round)) violation(which + " belongs to no committed round");
    Counts& c = counts[u.round];
    switch (u.status) {
      case UpdateStatus::kAccepted:
        ++c.accepted;
        break;
      case UpdateStatus::kDropped:
        ++c.dropped;
        break;
      case UpdateStatus::kDiscarded:
        ++c.discarded;
        break;
      default:
        ++c.rejected;
        break;
    }
  }
  if (run.spec.mode == "sync") {
    for (const RoundRecord& r : rounds) {
      const Counts c = counts[r.round];
      if (c.accepted != r.completed || c.dropped != r.dropped || c.rejected != r.rejected) {
        violation("round " + std::to_string(r.round) + " counts " + std::to_string(r.completed) +
                  " accepted / " + std::to_string(r.dropped) + " dropped / " +
                  std::to_string(r.rejected) + " rejected but has " + std::to_string(c.accepted) +
                  " / " + std::to_string(c.dropped) + " / " + std::to_string(c.rejected) +
                  " update rows");
      }
      // A kept model took nothing; a new model discarded nothing.
      if (!r.aggregated && c.accepted > 0) {
        violation("round " + std::to_string(r.round) + " kept the previous model (" + r.outcome +
                  ") but has " + std::to_string(c.accepted) + " accepted updates");
      }
      if (r.aggregated && c.discarded > 0) {
        violation("round " + std::to_string(r.round) + " made a new model but has " +
                  std::to_string(c.discarded) + " discarded updates");
      }
    }
  }

  std::set<std::pair<int64_t, std::string>> evaluated;
  for (const EvaluationRecord& e : log.Evaluations(run.id)) {
    const std::string which =
        "evaluation of round " + std::to_string(e.round) + " on '" + e.split + "'";
    if (!evaluated.emplace(e.round, e.split).second) violation(which + " recorded twice");
    if (e.round < 0 || e.round > last) violation(which + " is beyond the last round");
  }

  // Checkpoints through the log's own connection, in the same snapshot as
  // the rounds (older ones may have been pruned: keep_checkpoints).
  int64_t last_checkpoint = 0;
  for (int64_t round = 1; round <= last; ++round) {
    try {
      const std::optional<Checkpoint> checkpoint = log.ReadCheckpoint(run.id, round);
      if (!checkpoint) continue;
      if (checkpoint->round != round) {
        violation("checkpoint of round " + std::to_string(round) + " reads back as round " +
                  std::to_string(checkpoint->round));
      }
      ++result.checkpoints;
      last_checkpoint = round;
    } catch (const DataError& e) {
      violation("checkpoint of round " + std::to_string(round) + " does not decode: " + e.what());
    }
  }
  if (last > 0 && last_checkpoint != last) {
    violation("no checkpoint of its last round " + std::to_string(last) +
              " (a resume would have nothing to start from)");
  }
}

}  // namespace

LogCheckResult CheckLog(const std::filesystem::path& path) {
  ExperimentLog::Options options;
  options.read_only = true;
  ExperimentLog log(path, options);
  SqliteDb db(path, SqliteDb::Mode::kReadOnly, options.busy_timeout_ms);
  LogCheckResult result;
  {
    Statement integrity(db, "PRAGMA integrity_check");
    while (integrity.Step()) {
      const std::string line = integrity.ColumnText(0);
      if (line != "ok") result.violations.push_back("integrity_check: " + line);
    }
  }
  // One read snapshot: a live writer's next commit does not tear the checks.
  const auto snapshot = log.BeginSnapshot();
  for (const RunSummary& summary : log.ListRuns()) {
    ++result.runs;
    CheckRun(log, summary.run, result);
  }
  return result;
}

}  // namespace edgefl::storage
