// What `edgefl runs` and `edgefl report` read from an experiment log: each
// run's summary, rounds, evaluations and client updates as plain values,
// read in one snapshot from a log opened read-only, so a live coordinator
// writing the file is neither blocked nor upgraded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/experiment_log.h"
#include "storage/records.h"

namespace edgefl::storage {

// Everything recorded about one run.
struct RunDetail {
  RunSummary summary;                         // accuracies on the "test" split
  std::vector<RoundRecord> rounds;            // by round
  std::vector<EvaluationRecord> evaluations;  // all splits, by round then split
  std::vector<ClientUpdateRecord> updates;    // by round then client id
  std::vector<RunEvent> events;               // resumes, config changes, lost owners
  // Marked running, but no process holds its lease (storage/run_lease.h):
  // its owner died without closing it. The next coordinator or `edgefl sim`
  // of the run records that and marks it interrupted.
  bool owner_lost = false;
  // Wall-clock seconds from the start to the end (or, while running, to the
  // end of its last committed round); 0 if nothing was committed.
  double seconds = 0.0;

  // The privacy a DP run has spent: ε at δ after `round`, from the last
  // round whose strategy metrics hold "epsilon" (and "dp_delta"); nullopt
  // for a run without differential privacy.
  struct Privacy {
    double epsilon = 0.0;
    double delta = 0.0;  // NaN when the log does not say
    int64_t round = 0;
  };
  std::optional<Privacy> PrivacySpent() const;

  // The evaluations on `split`, by round.
  std::vector<EvaluationRecord> EvaluationsOn(const std::string& split) const;
  // The evaluation on `split` of the highest evaluated round, if any.
  std::optional<EvaluationRecord> FinalEvaluation(const std::string& split) const;
};

// Opens `path` read-only for reading runs. Throws IoError if the file does
// not exist or cannot be opened; DataError if it is not an edgefl experiment
// log, was written by a newer edgefl, or is an older schema version (the
// message says to run `edgefl runs upgrade --db <path>`).
std::unique_ptr<ExperimentLog> OpenLogForReading(const std::filesystem::path& path);

// Brings an older log up to this build's schema (opens it read-write once).
// Returns the version it had. Throws as ExperimentLog's constructor
// (IoError if the file does not exist).
int64_t UpgradeLog(const std::filesystem::path& path);

// Which per-run tables to read besides the summary and the rounds (a table
// that is not read is left empty in RunDetail). Default: all.
struct DetailParts {
  bool evaluations = true;
  bool updates = true;  // the largest: one row per client per round
};

// The runs named in `runs` (a run's name, or its numeric id), in that order;
// every run, oldest first, when `runs` is empty. Read in one snapshot.
// Throws ConfigError naming the run and listing the log's runs when one is
// not in the log.
std::vector<RunDetail> ReadRunDetails(ExperimentLog& log, std::span<const std::string> runs,
                                      const DetailParts& parts = {});

}  // namespace edgefl::storage
