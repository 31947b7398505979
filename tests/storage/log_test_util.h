// Sample records and log helpers for the storage tests (and the
// federation tests that read a coordinator's log).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "storage/checkpoint.h"
#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "storage/sqlite_db.h"

namespace edgefl::storage::test {

inline RunSpec SampleRun(const std::string& name) {
  RunSpec spec;
  spec.name = name;
  spec.config = "strategy = \"fedavg\"\nrounds = 5\n";
  spec.strategy = "fedavg";
  spec.mode = "sync";
  spec.model_spec = "mlp:4-3";
  spec.seed = 42;
  spec.planned_rounds = 5;
  return spec;
}

inline RoundRecord SampleRound(int64_t round) {
  RoundRecord r;
  r.round = round;
  r.model_version = round;
  r.selected = 3;
  r.completed = 2;
  r.dropped = 1;
  r.rejected = 0;
  r.started_at = 1000.0 + 10.0 * static_cast<double>(round);
  r.ended_at = r.started_at + 7.5;
  r.virtual_time = 3.25 * static_cast<double>(round);
  r.train_loss = 1.0 / static_cast<double>(round);
  r.metrics = {{"epsilon", 0.5 * static_cast<double>(round)}, {"update_norm", 1.0 / 3.0}};
  return r;
}

inline ClientUpdateRecord SampleUpdate(int64_t round, const std::string& client) {
  ClientUpdateRecord u;
  u.round = round;
  u.client_id = client;
  u.num_samples = 600;
  u.local_steps = 10;
  u.loss_before = 2.25;
  u.loss_after = 1.5;
  u.bytes_in = 4096;
  u.bytes_out = 4100;
  u.compute_seconds = 0.75;
  u.staleness = 0;
  u.status = UpdateStatus::kAccepted;
  return u;
}

inline EvaluationRecord SampleEvaluation(int64_t round, const std::string& split = "test") {
  EvaluationRecord e;
  e.round = round;
  e.split = split;
  e.loss = 0.5 / static_cast<double>(round + 1);
  e.accuracy = 0.5 + 0.05 * static_cast<double>(round);
  e.per_class_accuracy = {0.25, 0.5, 0.875};
  e.num_samples = 10000;
  return e;
}

// Parameters whose values differ per round; includes values that a lossy
// text round trip would change.
inline Checkpoint SampleCheckpoint(int64_t round, Eigen::Index size = 15) {
  Checkpoint c;
  c.round = round;
  c.spec = "mlp:4-3";
  c.parameters.resize(size);
  for (Eigen::Index i = 0; i < size; ++i) {
    c.parameters[i] = static_cast<float>(round) * 0.1f + 1.0f / static_cast<float>(i + 3) -
                      1e-7f * static_cast<float>(i);
  }
  return c;
}

// Commits `round` of `run` with two accepted updates, one dropped, an
// evaluation and a checkpoint.
inline void CommitSampleRound(ExperimentLog& log, int64_t run, int64_t round) {
  std::vector<ClientUpdateRecord> updates = {SampleUpdate(round, "c1"), SampleUpdate(round, "c2"),
                                             SampleUpdate(round, "c3")};
  updates[2].status = UpdateStatus::kDropped;
  updates[2].reason = "deadline passed";
  const std::vector<EvaluationRecord> evaluations = {SampleEvaluation(round)};
  const Checkpoint checkpoint = SampleCheckpoint(round);
  log.CommitRound(run, SampleRound(round), updates, evaluations, &checkpoint);
}

// Begins run `name` and commits its rounds 1..rounds with
// CommitSampleRound; returns the run's id.
inline int64_t SampleRunWithRounds(ExperimentLog& log, const std::string& name, int64_t rounds) {
  const int64_t run = log.BeginRun(SampleRun(name));
  for (int64_t r = 1; r <= rounds; ++r)
    CommitSampleRound(log, run, r);
  return run;
}

// Options to open a log read-only (next to a live writer).
inline ExperimentLog::Options ReadOnly() {
  ExperimentLog::Options options;
  options.read_only = true;
  return options;
}

// The latest checkpoint of run `run` in the log at `db`, read-only; fails
// the test if the run or its checkpoint is missing.
inline Checkpoint FinalCheckpoint(const std::filesystem::path& db, const std::string& run) {
  ExperimentLog log(db, ReadOnly());
  const auto found = log.FindRun(run);
  REQUIRE_MESSAGE(found.has_value(), "no run " << run << " in " << db);
  auto checkpoint = log.LatestCheckpoint(found->id);
  REQUIRE_MESSAGE(checkpoint.has_value(), "run " << run << " has no checkpoint");
  return std::move(*checkpoint);
}

// The result of PRAGMA integrity_check ("ok" for a sound database).
inline std::string IntegrityCheck(SqliteDb& db) {
  Statement s(db, "PRAGMA integrity_check");
  REQUIRE(s.Step());
  return s.ColumnText(0);
}

// CheckLog's violations, one a line ("" for a sound log).
inline std::string Violations(const LogCheckResult& result) {
  std::string all;
  for (const std::string& v : result.violations)
    all += v + "\n";
  return all;
}

// Damages the log at `path` (closed, or open with its WAL checkpointed) as a failing disk or a
// stray write would: overwrites the first byte of the root page of `table` (its b-tree page type)
// with a value no page has. The header, the schema and the other tables stay readable, so only a
// check of the whole file (or a statement touching `table`) finds the damage.
inline void DamageTablePage(const std::filesystem::path& path, const std::string& table) {
  int64_t page = 0;
  int64_t page_size = 0;
  {
    SqliteDb db(path, SqliteDb::Mode::kReadWrite, 1000);
    Statement s(db, "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?1");
    s.Bind(1, table);
    REQUIRE(s.Step());
    page = s.ColumnInt(0);
    page_size = db.QueryInt("PRAGMA page_size");
  }
  REQUIRE(page > 1);
  // Every committed page is in the file itself (no WAL, or an empty one).
  const std::filesystem::path wal = path.string() + "-wal";
  REQUIRE((!std::filesystem::exists(wal) || std::filesystem::file_size(wal) == 0));
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.good());
  file.seekp((page - 1) * page_size);
  file.put(static_cast<char>(0x01));
  file.close();
  REQUIRE(file.good());
}

// The SHA-256 of the file's bytes, to show a file was left unchanged.
inline std::string FileHash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Sha256Hex(bytes);
}

}  // namespace edgefl::storage::test
