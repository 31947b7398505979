// The experiment log: one SQLite file per deployment (or per experiment
// series) holding runs, rounds, client updates, evaluations, clients and
// model checkpoints (schema in storage/schema.h). The simulation runner and
// the coordinator write it; `edgefl runs` and `edgefl report` read it.
//
// Durability: the file is in WAL mode with PRAGMA synchronous=FULL, so every
// write call below is durable when it returns (a crash or power loss right
// after cannot lose it). A round counts as done only once CommitRound
// returns: its round row, client updates, evaluations and checkpoint are one
// transaction, so after a crash a round is either entirely in the log or not
// at all.
//
// Failures (see storage/sqlite_db.h for the messages): every method throws
//   IoError        when SQLite or the OS refuses (disk full, read-only file or
//                  log opened read-only, I/O error, locked by another writer
//                  past the busy timeout); the message names the file and
//                  what was being recorded ("experiment log runs/a.db: disk
//                  full while committing round 7 of run 3 ...");
//   DataError      when the file's content is wrong (not an edgefl log, newer
//                  schema, corrupted checkpoint);
//   DuplicateError when a write would record a key twice;
//   ConfigError    for impossible arguments (unknown run id, round < 1).
// A write that throws has changed nothing: each is one transaction.
// Not finding something is not an error: lookups return std::nullopt or an
// empty vector.
//
// Thread-safety: an ExperimentLog is NOT thread-safe; one owner (thread or
// strand) uses it at a time. Other threads and processes open their own
// ExperimentLog on the same file, typically with Options::read_only: WAL lets
// them read the last committed state while a writer is writing, without
// blocking it or failing. Two writers on one file serialise (the second
// waits up to busy_timeout_ms per write). Processes may open one new file at
// the same moment (MPI ranks do): one creates the schema, every one opens it.
// Do not carry an open ExperimentLog across fork(); the child opens its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/errors.h"
#include "storage/records.h"
#include "storage/sqlite_db.h"

namespace edgefl::storage {

class ExperimentLog {
 public:
  struct Options {
    // Open with SQLITE_OPEN_READONLY: the file must exist and be at the
    // current schema version; every write method throws IoError
    // ("... is read-only ..."). For `edgefl runs` / `edgefl report` and
    // any reader alongside a live writer. Default: false.
    bool read_only = false;
    // Create the file if missing (ignored when read_only). Default: true.
    bool create_if_missing = true;
    // How long a statement waits for another connection's lock before
    // throwing IoError. Default: 5000 ms.
    int busy_timeout_ms = 5000;
  };

  // Opens (or creates) the log at `path` and brings its schema up to date
  // (see EnsureSchema in storage/schema.h).
  // Throws IoError if the file cannot be opened or created (missing
  // directory, permissions, missing file with read_only or
  // !create_if_missing) or an upgrade cannot be written; DataError if it is
  // not an edgefl experiment log (a text file, another application's SQLite
  // database), was written by a newer edgefl, needs an upgrade but is
  // opened read_only, or, unless read_only, is damaged (PRAGMA quick_check
  // fails; checked before anything is written, so the file is left exactly
  // as it was). Once a write finds the file damaged (SQLITE_CORRUPT), every
  // later write on this ExperimentLog throws DataError without writing.
  explicit ExperimentLog(const std::filesystem::path& path, const Options& options);
  explicit ExperimentLog(const std::filesystem::path& path) : ExperimentLog(path, Options{}) {}
  ~ExperimentLog();
  ExperimentLog(const ExperimentLog&) = delete;
  ExperimentLog& operator=(const ExperimentLog&) = delete;

  const std::filesystem::path& path() const;

  // ---- Runs ------------------------------------------------------------------

  // Records a new run with status running, started now. Returns its id.
  // Throws DuplicateError if a run named spec.name exists (use FindRun and
  // ResumeRun to continue it), ConfigError if spec.name is empty.
  int64_t BeginRun(const RunSpec& spec);

  // The run named `name`, or std::nullopt if there is none.
  std::optional<RunInfo> FindRun(std::string_view name);
  // The run with id `run_id`, or std::nullopt if there is none.
  std::optional<RunInfo> GetRun(int64_t run_id);

  // Prepares run `run_id` to continue after a crash or an interruption:
  // deletes what was recorded for rounds after its last committed round
  // (client updates and evaluations recorded outside a round commit, which
  // the continued run will redo), sets the status back to running and clears
  // ended_at. Returns LastCompletedRound(run_id): the run continues with
  // round + 1 from LatestCheckpoint(run_id). Evaluations of round 0 (the
  // initial model) are kept.
  // Throws ConfigError if there is no such run.
  int64_t ResumeRun(int64_t run_id);

  // Sets the run's final status (completed, failed, interrupted; running is
  // allowed too) and ended_at = now. `reason` says why it failed or was
  // interrupted. Calling it again overwrites. Throws ConfigError if there is
  // no such run.
  void EndRun(int64_t run_id, RunStatus status, std::string_view reason = "");

  // Records who runs the run now ("pid 1234 on host h"; RunLease::owner()).
  // Throws ConfigError if there is no such run.
  void SetOwner(int64_t run_id, std::string_view owner);
  // A resumed run whose config changed in keys that may change (e.g.
  // `rounds` to extend it): stores the new config text and planned rounds
  // and records one "config_changed" event per entry of `changes` ("rounds:
  // 25 -> 40"), in one transaction. Throws ConfigError if there is no such
  // run.
  void ChangeRunSpec(int64_t run_id, std::string_view config, int64_t planned_rounds,
                     std::span<const std::string> changes);
  // Appends an event ("resumed", "owner_lost", ...) to the run's history,
  // stamped now and with the last committed round. Throws ConfigError if
  // there is no such run.
  void RecordEvent(int64_t run_id, std::string_view kind, std::string_view detail);
  // The run's events in order (empty for a log before schema 4's runs).
  std::vector<RunEvent> Events(int64_t run_id);

  // ---- Writes of a round -----------------------------------------------------

  // Commits round `round.round` of run `run_id` in ONE durable transaction:
  // the round row, `updates` (each update's .round must equal round.round),
  // `evaluations` (likewise) and, if `checkpoint` is not null, the model
  // checkpoint for this round (checkpoint->round is ignored: the round's
  // number is used), and `client_models` (the clients' local models of this
  // round, each model's .round must equal round.round; usually empty). On
  // return the round is done; on any exception nothing of it is in the log
  // and earlier rounds are untouched.
  // Throws DuplicateError if the round is already committed, or an update
  // (run, round, client) or evaluation (run, round, split) is already
  // recorded (including a client listed twice in `updates`); ConfigError if
  // round.round < 1, a record's round differs, or there is no such run;
  // IoError as above (e.g. disk full).
  void CommitRound(int64_t run_id, const RoundRecord& round,
                   std::span<const ClientUpdateRecord> updates,
                   std::span<const EvaluationRecord> evaluations, const Checkpoint* checkpoint,
                   std::span<const ClientModel> client_models = {});

  // Records one client update outside a round commit (e.g. an async update
  // the moment it is applied). Until the round it belongs to is committed,
  // ResumeRun discards it. Throws DuplicateError if (run, update.round,
  // client) is already recorded: an update is never recorded twice.
  void RecordClientUpdate(int64_t run_id, const ClientUpdateRecord& update);

  // Records one evaluation outside a round commit (e.g. round 0, or an
  // evaluation that finishes after its round was committed). Throws
  // DuplicateError if (run, round, split) is already recorded, ConfigError
  // if evaluation.round < 0.
  void RecordEvaluation(int64_t run_id, const EvaluationRecord& evaluation);

  // Inserts the client or, if known, replaces its profile and widens
  // [first_seen, last_seen] to include the given times (a time of 0 means
  // now). Never a DuplicateError.
  void UpsertClient(const ClientRecord& client);

  // Deletes the run's checkpoints except the `keep` most recent (by round),
  // so a long run of a large model does not grow the file by a model per
  // round. Returns how many were deleted. The freed pages are reused by later
  // writes (the file does not shrink). Throws ConfigError if keep < 1 (resume
  // needs a model).
  int64_t PruneCheckpoints(int64_t run_id, int64_t keep);

  // Deletes the run's client models except those of the `keep_rounds` most
  // recent rounds that have any. Returns how many models were deleted.
  // Throws ConfigError if keep_rounds < 1.
  int64_t PruneClientModels(int64_t run_id, int64_t keep_rounds);

  // ---- Resume ------------------------------------------------------------------

  // The highest committed round of the run, 0 if none (or no such run).
  int64_t LastCompletedRound(int64_t run_id);

  // The checkpoint of the highest committed round that has one, with its
  // SHA-256 verified; std::nullopt if the run has none.
  // Throws DataError naming the run and round if the blob is corrupted
  // (wrong size or SHA-256 mismatch).
  std::optional<Checkpoint> LatestCheckpoint(int64_t run_id);
  // The checkpoint of one round, verified as above; std::nullopt if absent.
  std::optional<Checkpoint> ReadCheckpoint(int64_t run_id, int64_t round);

  // FedBR's shared pseudo-data pool of the run (schema 8), written once when
  // the run builds it. Throws DuplicateError if the run already has one,
  // ConfigError if the pool is empty or there is no such run.
  void RecordPseudoDataPool(int64_t run_id, const Eigen::MatrixXf& pool);
  // The run's pool, its SHA-256 verified; std::nullopt if none is stored.
  // Throws DataError naming the run if the blob is corrupted.
  std::optional<Eigen::MatrixXf> PseudoDataPool(int64_t run_id);

  // The rounds of the run that have stored client models, ascending.
  std::vector<int64_t> ClientModelRounds(int64_t run_id);
  // The stored client models of (run, round), by client id, each verified
  // as a checkpoint is; empty if none. Throws DataError naming the run,
  // round and client if a blob is corrupted.
  std::vector<ClientModel> ReadClientModels(int64_t run_id, int64_t round);

  // True if an update of `client_id` for (run, round) is recorded, whatever
  // its status.
  bool HasUpdate(int64_t run_id, int64_t round, std::string_view client_id);

  // ---- Readers (reports) -----------------------------------------------------

  // Starts a read snapshot: until the returned guard is destroyed, every
  // read on this ExperimentLog sees the same committed state, so a report
  // built from several calls (ListRuns, Rounds, Evaluations, ...) is
  // consistent while a writer keeps committing. Writers are not blocked
  // (WAL), but a snapshot held for long keeps the WAL file from being
  // checkpointed: release it once the report is built.
  // REQUIRES: no write call and no other snapshot on this ExperimentLog
  // while the guard lives (a write would throw IoError).
  [[nodiscard]] std::unique_ptr<Transaction> BeginSnapshot();

  // Every run, oldest first, with its summary; accuracies are those of the
  // evaluations on `split`.
  std::vector<RunSummary> ListRuns(std::string_view split = "test");
  // The committed rounds of a run, by round.
  std::vector<RoundRecord> Rounds(int64_t run_id);
  // The evaluations of a run, by round then split.
  std::vector<EvaluationRecord> Evaluations(int64_t run_id);
  // The client updates of a run, by round then client id.
  std::vector<ClientUpdateRecord> ClientUpdates(int64_t run_id);
  // Every client known to the deployment, by id.
  std::vector<ClientRecord> Clients();

  // ---- Test hooks ------------------------------------------------------------

  // The underlying connection, to inject faults (PRAGMA max_page_count,
  // raw SQL corruption, an open write transaction).
  SqliteDb& TEST_db();

 private:
  void RequireRun(int64_t run_id);
  std::string RunLabel(int64_t run_id);
  void InsertUpdate(int64_t run_id, const ClientUpdateRecord& update);
  void InsertEvaluation(int64_t run_id, const EvaluationRecord& evaluation);
  void InsertEvent(int64_t run_id, std::string_view kind, std::string_view detail);
  std::optional<Checkpoint> ReadCheckpointWhere(int64_t run_id, std::optional<int64_t> round);

  SqliteDb db_;  // the connection, open for the object's lifetime
};

}  // namespace edgefl::storage
