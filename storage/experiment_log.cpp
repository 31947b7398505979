#include "storage/experiment_log.h"

#include <chrono>
#include <utility>

#include "common/error.h"
#include "common/wall_clock.h"
#include "storage/checkpoint.h"
#include "storage/json_array.h"
#include "storage/json_object.h"
#include "storage/schema.h"

namespace edgefl::storage {

namespace {

SqliteDb::Mode ModeFor(const ExperimentLog::Options& options) {
  if (options.read_only) return SqliteDb::Mode::kReadOnly;
  return options.create_if_missing ? SqliteDb::Mode::kReadWriteCreate : SqliteDb::Mode::kReadWrite;
}

std::string RoundOf(int64_t run_id, int64_t round) {
  return "round " + std::to_string(round) + " of run " + std::to_string(run_id);
}

constexpr std::string_view kRunColumns =
    "id, name, config, strategy, mode, model_spec, seed, planned_rounds, started_at, ended_at, "
    "status, status_reason, owner";

// Reads kRunColumns starting at column 0.
RunInfo ReadRun(const Statement& s) {
  RunInfo run;
  run.id = s.ColumnInt(0);
  run.spec.name = s.ColumnText(1);
  run.spec.config = s.ColumnText(2);
  run.spec.strategy = s.ColumnText(3);
  run.spec.mode = s.ColumnText(4);
  run.spec.model_spec = s.ColumnText(5);
  run.spec.seed = s.ColumnInt(6);
  run.spec.planned_rounds = s.ColumnInt(7);
  run.started_at = s.ColumnDouble(8);
  run.ended_at = s.ColumnOptionalDouble(9);
  run.status = ParseRunStatus(s.ColumnText(10));
  run.status_reason = s.ColumnText(11);
  run.owner = s.ColumnText(12);
  return run;
}

}  // namespace

ExperimentLog::ExperimentLog(const std::filesystem::path& path, const Options& options)
    : db_(path, ModeFor(options), options.busy_timeout_ms) {
  SqliteDb::OperationScope scope(db_, "opening the log");
  db_.Execute("PRAGMA foreign_keys = ON");
  // Validate (and upgrade) before changing anything in the file, so another
  // application's database is refused untouched.
  EnsureSchema(db_);
  if (options.read_only) return;
  if (db_.SetJournalMode("WAL") != "wal") {
    throw IoError("experiment log " + path.string() +
                  ": cannot switch to WAL mode (the file system may not support the shared "
                  "memory it needs); put the log on a local file system");
  }
  // Every commit is synced (WAL file) before it returns.
  db_.Execute("PRAGMA synchronous = FULL");
}

ExperimentLog::~ExperimentLog() = default;

const std::filesystem::path& ExperimentLog::path() const {
  return db_.path();
}

SqliteDb& ExperimentLog::TEST_db() {
  return db_;
}

void ExperimentLog::RequireRun(int64_t run_id) {
  Statement s(db_, "SELECT 1 FROM runs WHERE id = ?1");
  s.Bind(1, run_id);
  if (!s.Step()) {
    throw ConfigError("experiment log " + db_.path().string() + ": no run with id " +
                      std::to_string(run_id));
  }
}

std::string ExperimentLog::RunLabel(int64_t run_id) {
  Statement s(db_, "SELECT name FROM runs WHERE id = ?1");
  s.Bind(1, run_id);
  if (!s.Step()) return "run " + std::to_string(run_id);
  return "run '" + s.ColumnText(0) + "' (id " + std::to_string(run_id) + ")";
}

// ---- Runs ----------------------------------------------------------------------

int64_t ExperimentLog::BeginRun(const RunSpec& spec) {
  if (spec.name.empty()) {
    throw ConfigError("experiment log " + db_.path().string() + ": a run needs a non-empty name");
  }
  SqliteDb::OperationScope scope(db_, "recording the start of run '" + spec.name + "'");
  Statement s(db_,
              "INSERT INTO runs (name, config, strategy, mode, model_spec, seed, planned_rounds, "
              "started_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running')");
  s.Bind(1, spec.name)
      .Bind(2, spec.config)
      .Bind(3, spec.strategy)
      .Bind(4, spec.mode)
      .Bind(5, spec.model_spec)
      .Bind(6, spec.seed)
      .Bind(7, spec.planned_rounds)
      .Bind(8, UnixSeconds());
  s.Run();
  return db_.LastInsertRowId();
}

std::optional<RunInfo> ExperimentLog::FindRun(std::string_view name) {
  SqliteDb::OperationScope scope(db_, "looking up run '" + std::string(name) + "'");
  Statement s(db_, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE name = ?1");
  s.Bind(1, name);
  if (!s.Step()) return std::nullopt;
  return ReadRun(s);
}

std::optional<RunInfo> ExperimentLog::GetRun(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "looking up run " + std::to_string(run_id));
  Statement s(db_, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id = ?1");
  s.Bind(1, run_id);
  if (!s.Step()) return std::nullopt;
  return ReadRun(s);
}

int64_t ExperimentLog::ResumeRun(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "resuming run " + std::to_string(run_id));
  Transaction transaction(db_);
  RequireRun(run_id);
  const int64_t last = LastCompletedRound(run_id);
  for (const char* table : {"client_updates", "evaluations", "checkpoints", "client_models"}) {
    Statement s(db_, std::string("DELETE FROM ") + table + " WHERE run_id = ?1 AND round > ?2");
    s.Bind(1, run_id).Bind(2, last);
    s.Run();
  }
  Statement s(db_,
              "UPDATE runs SET status = 'running', status_reason = '', ended_at = NULL "
              "WHERE id = ?1");
  s.Bind(1, run_id);
  s.Run();
  transaction.Commit();
  return last;
}

void ExperimentLog::EndRun(int64_t run_id, RunStatus status, std::string_view reason) {
  SqliteDb::OperationScope scope(db_, "recording the end of run " + std::to_string(run_id));
  Statement s(db_, "UPDATE runs SET status = ?2, status_reason = ?3, ended_at = ?4 WHERE id = ?1");
  s.Bind(1, run_id).Bind(2, ToString(status)).Bind(3, reason).Bind(4, UnixSeconds());
  s.Run();
  if (db_.Changes() == 0) {
    throw ConfigError("experiment log " + db_.path().string() + ": no run with id " +
                      std::to_string(run_id));
  }
}

void ExperimentLog::SetOwner(int64_t run_id, std::string_view owner) {
  SqliteDb::OperationScope scope(db_, "recording the owner of run " + std::to_string(run_id));
  Statement s(db_, "UPDATE runs SET owner = ?2 WHERE id = ?1");
  s.Bind(1, run_id).Bind(2, owner);
  s.Run();
  if (db_.Changes() == 0) {
    throw ConfigError("experiment log " + db_.path().string() + ": no run with id " +
                      std::to_string(run_id));
  }
}

void ExperimentLog::ChangeRunSpec(int64_t run_id, std::string_view config, int64_t planned_rounds,
                                  std::span<const std::string> changes) {
  SqliteDb::OperationScope scope(db_,
                                 "recording the changed config of run " + std::to_string(run_id));
  Transaction transaction(db_);
  RequireRun(run_id);
  Statement s(db_, "UPDATE runs SET config = ?2, planned_rounds = ?3 WHERE id = ?1");
  s.Bind(1, run_id).Bind(2, config).Bind(3, planned_rounds);
  s.Run();
  for (const std::string& change : changes)
    InsertEvent(run_id, "config_changed", change);
  transaction.Commit();
}

void ExperimentLog::RecordEvent(int64_t run_id, std::string_view kind, std::string_view detail) {
  SqliteDb::OperationScope scope(
      db_, "recording a " + std::string(kind) + " event of run " + std::to_string(run_id));
  Transaction transaction(db_);
  RequireRun(run_id);
  InsertEvent(run_id, kind, detail);
  transaction.Commit();
}

void ExperimentLog::InsertEvent(int64_t run_id, std::string_view kind, std::string_view detail) {
  Statement s(db_,
              "INSERT INTO run_events (run_id, seq, at, round, kind, detail) VALUES (?1, "
              "(SELECT coalesce(max(seq) + 1, 0) FROM run_events WHERE run_id = ?1), ?2, "
              "(SELECT coalesce(max(round), 0) FROM rounds WHERE run_id = ?1), ?3, ?4)");
  s.Bind(1, run_id).Bind(2, UnixSeconds()).Bind(3, kind).Bind(4, detail);
  s.Run();
}

std::vector<RunEvent> ExperimentLog::Events(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "reading the events of run " + std::to_string(run_id));
  Statement s(db_,
              "SELECT seq, at, round, kind, detail FROM run_events WHERE run_id = ?1 ORDER BY seq");
  s.Bind(1, run_id);
  std::vector<RunEvent> events;
  while (s.Step()) {
    RunEvent e;
    e.seq = s.ColumnInt(0);
    e.at = s.ColumnDouble(1);
    e.round = s.ColumnInt(2);
    e.kind = s.ColumnText(3);
    e.detail = s.ColumnText(4);
    events.push_back(std::move(e));
  }
  return events;
}

// ---- Writes of a round -----------------------------------------------------------

void ExperimentLog::InsertUpdate(int64_t run_id, const ClientUpdateRecord& u) {
  Statement s(db_,
              "INSERT INTO client_updates (run_id, round, client_id, num_samples, local_steps, "
              "loss_before, loss_after, bytes_in, bytes_out, compute_seconds, staleness, status, "
              "reason, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  s.Bind(1, run_id)
      .Bind(2, u.round)
      .Bind(3, u.client_id)
      .Bind(4, u.num_samples)
      .Bind(5, u.local_steps)
      .Bind(6, u.loss_before)
      .Bind(7, u.loss_after)
      .Bind(8, u.bytes_in)
      .Bind(9, u.bytes_out)
      .Bind(10, u.compute_seconds)
      .Bind(11, u.staleness)
      .Bind(12, ToString(u.status))
      .Bind(13, u.reason)
      .Bind(14, u.seq);
  s.Run();
}

void ExperimentLog::InsertEvaluation(int64_t run_id, const EvaluationRecord& e) {
  Statement s(db_,
              "INSERT INTO evaluations (run_id, round, split, loss, accuracy, per_class_accuracy, "
              "num_samples) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.Bind(1, run_id)
      .Bind(2, e.round)
      .Bind(3, e.split)
      .Bind(4, e.loss)
      .Bind(5, e.accuracy)
      .Bind(6, FormatJsonNumberArray(e.per_class_accuracy))
      .Bind(7, e.num_samples);
  s.Run();
}

void ExperimentLog::CommitRound(int64_t run_id, const RoundRecord& round,
                                std::span<const ClientUpdateRecord> updates,
                                std::span<const EvaluationRecord> evaluations,
                                const Checkpoint* checkpoint,
                                std::span<const ClientModel> client_models) {
  const std::string label = RoundOf(run_id, round.round);
  const std::string prefix = "experiment log " + db_.path().string() + ": ";
  if (round.round < 1) throw ConfigError(prefix + "cannot commit " + label + ": rounds start at 1");
  for (const ClientUpdateRecord& u : updates) {
    if (u.round != round.round) {
      throw ConfigError(prefix + "cannot commit " + label + ": the update of client '" +
                        u.client_id + "' is for round " + std::to_string(u.round));
    }
  }
  for (const EvaluationRecord& e : evaluations) {
    if (e.round != round.round) {
      throw ConfigError(prefix + "cannot commit " + label + ": the evaluation on '" + e.split +
                        "' is for round " + std::to_string(e.round));
    }
  }
  for (const ClientModel& m : client_models) {
    if (m.round != round.round) {
      throw ConfigError(prefix + "cannot commit " + label + ": the model of client '" +
                        m.client_id + "' is for round " + std::to_string(m.round));
    }
  }
  // Hash outside the transaction: the write lock is held only for writing.
  std::vector<std::pair<std::string, std::string>> model_blobs;  // blob, sha256
  for (const ClientModel& m : client_models) {
    std::string b = EncodeParameters(m.parameters);
    std::string h = Sha256Hex(b);
    model_blobs.emplace_back(std::move(b), std::move(h));
  }
  std::string blob, sha256, state;
  if (checkpoint != nullptr) {
    blob = EncodeParameters(checkpoint->parameters);
    sha256 = Sha256Hex(blob);
    state = EncodeParameters(checkpoint->strategy_state);
  }

  SqliteDb::OperationScope scope(db_, "committing " + label);
  Transaction transaction(db_);
  RequireRun(run_id);
  {
    Statement s(db_,
                "INSERT INTO rounds (run_id, round, model_version, selected, completed, dropped, "
                "rejected, started_at, ended_at, virtual_time, train_loss, aggregated, outcome, "
                "metrics) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    s.Bind(1, run_id)
        .Bind(2, round.round)
        .Bind(3, round.model_version)
        .Bind(4, round.selected)
        .Bind(5, round.completed)
        .Bind(6, round.dropped)
        .Bind(7, round.rejected)
        .Bind(8, round.started_at)
        .Bind(9, round.ended_at)
        .Bind(10, round.virtual_time)
        .Bind(11, round.train_loss)
        .Bind(12, round.aggregated ? 1 : 0)
        .Bind(13, round.outcome)
        .Bind(14, FormatJsonNumberObject(round.metrics));
    s.Run();
  }
  for (const ClientUpdateRecord& u : updates) {
    SqliteDb::OperationScope update_scope(
        db_, "committing " + label + ": recording the update of client '" + u.client_id + "'");
    InsertUpdate(run_id, u);
  }
  for (const EvaluationRecord& e : evaluations) {
    SqliteDb::OperationScope eval_scope(
        db_, "committing " + label + ": recording the evaluation on '" + e.split + "'");
    InsertEvaluation(run_id, e);
  }
  if (checkpoint != nullptr) {
    SqliteDb::OperationScope checkpoint_scope(db_,
                                              "committing " + label + ": writing the checkpoint");
    Statement s(db_,
                "INSERT INTO checkpoints (run_id, round, spec, num_parameters, sha256, model, "
                "strategy_state, selector_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    s.Bind(1, run_id)
        .Bind(2, round.round)
        .Bind(3, checkpoint->spec)
        .Bind(4, static_cast<int64_t>(checkpoint->parameters.size()))
        .Bind(5, sha256)
        .BindBlob(6, blob.data(), blob.size());
    if (state.empty()) {
      s.BindNull(7);
    } else {
      s.BindBlob(7, state.data(), state.size());
    }
    if (checkpoint->selector_state.empty()) {
      s.BindNull(8);
    } else {
      s.Bind(8, checkpoint->selector_state);
    }
    s.Run();
  }
  for (size_t i = 0; i < client_models.size(); ++i) {
    const ClientModel& m = client_models[i];
    SqliteDb::OperationScope model_scope(
        db_, "committing " + label + ": writing the local model of client '" + m.client_id + "'");
    Statement s(db_,
                "INSERT INTO client_models (run_id, round, client_id, spec, num_parameters, "
                "sha256, model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    s.Bind(1, run_id)
        .Bind(2, round.round)
        .Bind(3, m.client_id)
        .Bind(4, m.spec)
        .Bind(5, static_cast<int64_t>(m.parameters.size()))
        .Bind(6, model_blobs[i].second)
        .BindBlob(7, model_blobs[i].first.data(), model_blobs[i].first.size());
    s.Run();
  }
  transaction.Commit();
}

void ExperimentLog::RecordClientUpdate(int64_t run_id, const ClientUpdateRecord& update) {
  SqliteDb::OperationScope scope(db_, "recording the update of client '" + update.client_id +
                                          "' in " + RoundOf(run_id, update.round));
  Transaction transaction(db_);
  RequireRun(run_id);
  InsertUpdate(run_id, update);
  transaction.Commit();
}

void ExperimentLog::RecordEvaluation(int64_t run_id, const EvaluationRecord& evaluation) {
  const std::string label = RoundOf(run_id, evaluation.round);
  if (evaluation.round < 0) {
    throw ConfigError("experiment log " + db_.path().string() + ": cannot record evaluation of " +
                      label + ": rounds are >= 0");
  }
  SqliteDb::OperationScope scope(
      db_, "recording the evaluation on '" + evaluation.split + "' of " + label);
  Transaction transaction(db_);
  RequireRun(run_id);
  InsertEvaluation(run_id, evaluation);
  transaction.Commit();
}

void ExperimentLog::UpsertClient(const ClientRecord& client) {
  SqliteDb::OperationScope scope(db_, "recording client '" + client.client_id + "'");
  const double now = UnixSeconds();
  Statement s(db_,
              "INSERT INTO clients (client_id, profile, first_seen, last_seen) "
              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (client_id) DO UPDATE SET "
              "profile = excluded.profile, first_seen = min(first_seen, excluded.first_seen), "
              "last_seen = max(last_seen, excluded.last_seen)");
  s.Bind(1, client.client_id)
      .Bind(2, client.profile)
      .Bind(3, client.first_seen != 0.0 ? client.first_seen : now)
      .Bind(4, client.last_seen != 0.0 ? client.last_seen : now);
  s.Run();
}

int64_t ExperimentLog::PruneCheckpoints(int64_t run_id, int64_t keep) {
  if (keep < 1) {
    throw ConfigError("experiment log " + db_.path().string() +
                      ": PruneCheckpoints must keep at least 1 checkpoint, got " +
                      std::to_string(keep));
  }
  SqliteDb::OperationScope scope(db_, "pruning the checkpoints of run " + std::to_string(run_id));
  Statement s(db_,
              "DELETE FROM checkpoints WHERE run_id = ?1 AND round NOT IN "
              "(SELECT round FROM checkpoints WHERE run_id = ?1 ORDER BY round DESC LIMIT ?2)");
  s.Bind(1, run_id).Bind(2, keep);
  s.Run();
  return db_.Changes();
}

int64_t ExperimentLog::PruneClientModels(int64_t run_id, int64_t keep_rounds) {
  if (keep_rounds < 1) {
    throw ConfigError("experiment log " + db_.path().string() +
                      ": PruneClientModels must keep at least 1 round, got " +
                      std::to_string(keep_rounds));
  }
  SqliteDb::OperationScope scope(db_, "pruning the client models of run " + std::to_string(run_id));
  Statement s(db_,
              "DELETE FROM client_models WHERE run_id = ?1 AND round NOT IN "
              "(SELECT DISTINCT round FROM client_models WHERE run_id = ?1 "
              "ORDER BY round DESC LIMIT ?2)");
  s.Bind(1, run_id).Bind(2, keep_rounds);
  s.Run();
  return db_.Changes();
}

std::vector<int64_t> ExperimentLog::ClientModelRounds(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "listing the client models of run " + std::to_string(run_id));
  Statement s(db_, "SELECT DISTINCT round FROM client_models WHERE run_id = ?1 ORDER BY round");
  s.Bind(1, run_id);
  std::vector<int64_t> rounds;
  while (s.Step())
    rounds.push_back(s.ColumnInt(0));
  return rounds;
}

std::vector<ClientModel> ExperimentLog::ReadClientModels(int64_t run_id, int64_t round) {
  SqliteDb::OperationScope scope(db_, "reading the client models of " + RoundOf(run_id, round));
  Statement s(db_,
              "SELECT client_id, spec, num_parameters, sha256, model FROM client_models "
              "WHERE run_id = ?1 AND round = ?2 ORDER BY client_id");
  s.Bind(1, run_id).Bind(2, round);
  std::vector<ClientModel> models;
  while (s.Step()) {
    ClientModel m;
    m.round = round;
    m.client_id = s.ColumnText(0);
    m.spec = s.ColumnText(1);
    const std::string what = "experiment log " + db_.path().string() + ": the model of client '" +
                             m.client_id + "' in " + RunLabel(run_id) + " round " +
                             std::to_string(round);
    m.parameters = DecodeVerifiedParameters(s.ColumnBlob(4), s.ColumnInt(2), s.ColumnText(3), what);
    models.push_back(std::move(m));
  }
  return models;
}

// ---- Resume ------------------------------------------------------------------------

int64_t ExperimentLog::LastCompletedRound(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "reading the last round of run " + std::to_string(run_id));
  Statement s(db_, "SELECT coalesce(max(round), 0) FROM rounds WHERE run_id = ?1");
  s.Bind(1, run_id);
  s.Step();
  return s.ColumnInt(0);
}

std::optional<Checkpoint> ExperimentLog::ReadCheckpointWhere(int64_t run_id,
                                                             std::optional<int64_t> round) {
  SqliteDb::OperationScope scope(db_, "reading a checkpoint of run " + std::to_string(run_id));
  Statement s(db_, round.has_value()
                       ? "SELECT round, spec, num_parameters, sha256, model, strategy_state, "
                         "selector_state FROM checkpoints WHERE run_id = ?1 AND round = ?2"
                       : "SELECT round, spec, num_parameters, sha256, model, strategy_state, "
                         "selector_state FROM checkpoints WHERE run_id = ?1 ORDER BY round DESC "
                         "LIMIT 1");
  s.Bind(1, run_id);
  if (round.has_value()) s.Bind(2, *round);
  if (!s.Step()) return std::nullopt;
  Checkpoint checkpoint;
  checkpoint.round = s.ColumnInt(0);
  checkpoint.spec = s.ColumnText(1);
  const std::string blob = s.ColumnBlob(4);
  const std::string what = "experiment log " + db_.path().string() + ": the checkpoint of " +
                           RunLabel(run_id) + " round " + std::to_string(checkpoint.round);
  checkpoint.parameters = DecodeVerifiedParameters(blob, s.ColumnInt(2), s.ColumnText(3), what);
  if (!s.ColumnIsNull(5)) {
    checkpoint.strategy_state = DecodeParameters(s.ColumnBlob(5), what + " (strategy state)");
  }
  if (!s.ColumnIsNull(6)) checkpoint.selector_state = s.ColumnText(6);
  return checkpoint;
}

std::optional<Checkpoint> ExperimentLog::LatestCheckpoint(int64_t run_id) {
  return ReadCheckpointWhere(run_id, std::nullopt);
}

std::optional<Checkpoint> ExperimentLog::ReadCheckpoint(int64_t run_id, int64_t round) {
  return ReadCheckpointWhere(run_id, round);
}

void ExperimentLog::RecordPseudoDataPool(int64_t run_id, const Eigen::MatrixXf& pool) {
  if (pool.size() == 0) {
    throw ConfigError(db_.path().string() + ": cannot record an empty pseudo-data pool for " +
                      RunLabel(run_id));
  }
  const Eigen::VectorXf flat = Eigen::Map<const Eigen::VectorXf>(pool.data(), pool.size());
  const std::string blob = EncodeParameters(flat);
  const std::string sha256 = Sha256Hex(blob);
  RequireRun(run_id);
  SqliteDb::OperationScope scope(db_, "recording the pseudo-data pool of " + RunLabel(run_id));
  Statement s(db_,
              "INSERT INTO pseudo_data_pools (run_id, rows, cols, sha256, pool) "
              "VALUES (?1, ?2, ?3, ?4, ?5)");
  s.Bind(1, run_id)
      .Bind(2, static_cast<int64_t>(pool.rows()))
      .Bind(3, static_cast<int64_t>(pool.cols()))
      .Bind(4, sha256)
      .BindBlob(5, blob.data(), blob.size());
  s.Run();
}

std::optional<Eigen::MatrixXf> ExperimentLog::PseudoDataPool(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "reading the pseudo-data pool of " + RunLabel(run_id));
  Statement s(db_, "SELECT rows, cols, sha256, pool FROM pseudo_data_pools WHERE run_id = ?1");
  s.Bind(1, run_id);
  if (!s.Step()) return std::nullopt;
  const int64_t rows = s.ColumnInt(0);
  const int64_t cols = s.ColumnInt(1);
  const std::string what =
      "experiment log " + db_.path().string() + ": the pseudo-data pool of " + RunLabel(run_id);
  const Eigen::VectorXf flat =
      DecodeVerifiedParameters(s.ColumnBlob(3), rows * cols, s.ColumnText(2), what);
  return Eigen::Map<const Eigen::MatrixXf>(flat.data(), rows, cols);
}

bool ExperimentLog::HasUpdate(int64_t run_id, int64_t round, std::string_view client_id) {
  SqliteDb::OperationScope scope(db_, "looking up an update in " + RoundOf(run_id, round));
  Statement s(db_,
              "SELECT 1 FROM client_updates WHERE run_id = ?1 AND round = ?2 AND client_id = ?3");
  s.Bind(1, run_id).Bind(2, round).Bind(3, client_id);
  return s.Step();
}

// ---- Readers ---------------------------------------------------------------------

std::unique_ptr<Transaction> ExperimentLog::BeginSnapshot() {
  SqliteDb::OperationScope scope(db_, "starting a read snapshot");
  auto snapshot = std::make_unique<Transaction>(db_, Transaction::Kind::kDeferred);
  // BEGIN DEFERRED takes the snapshot at the first read.
  db_.QueryInt("SELECT count(*) FROM runs");
  return snapshot;
}

std::vector<RunSummary> ExperimentLog::ListRuns(std::string_view split) {
  SqliteDb::OperationScope scope(db_, "listing runs");
  Statement s(db_, "SELECT " + std::string(kRunColumns) +
                       ", (SELECT count(*) FROM rounds WHERE run_id = runs.id)"
                       ", (SELECT coalesce(max(round), 0) FROM rounds WHERE run_id = runs.id)"
                       ", (SELECT max(accuracy) FROM evaluations"
                       "   WHERE run_id = runs.id AND split = ?1)"
                       ", (SELECT accuracy FROM evaluations WHERE run_id = runs.id AND split = ?1"
                       "   ORDER BY round DESC LIMIT 1)"
                       ", (SELECT count(DISTINCT client_id) FROM client_updates"
                       "   WHERE run_id = runs.id)"
                       " FROM runs ORDER BY id");
  s.Bind(1, split);
  std::vector<RunSummary> runs;
  while (s.Step()) {
    RunSummary summary;
    summary.run = ReadRun(s);
    summary.rounds_completed = s.ColumnInt(13);
    summary.last_round = s.ColumnInt(14);
    summary.best_accuracy = s.ColumnOptionalDouble(15);
    summary.final_accuracy = s.ColumnOptionalDouble(16);
    summary.distinct_clients = s.ColumnInt(17);
    runs.push_back(std::move(summary));
  }
  return runs;
}

std::vector<RoundRecord> ExperimentLog::Rounds(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "reading the rounds of run " + std::to_string(run_id));
  Statement s(db_,
              "SELECT round, model_version, selected, completed, dropped, rejected, started_at, "
              "ended_at, virtual_time, train_loss, aggregated, outcome, metrics FROM rounds WHERE "
              "run_id = ?1 ORDER BY round");
  s.Bind(1, run_id);
  std::vector<RoundRecord> rounds;
  while (s.Step()) {
    RoundRecord r;
    r.round = s.ColumnInt(0);
    r.model_version = s.ColumnInt(1);
    r.selected = s.ColumnInt(2);
    r.completed = s.ColumnInt(3);
    r.dropped = s.ColumnInt(4);
    r.rejected = s.ColumnInt(5);
    r.started_at = s.ColumnDouble(6);
    r.ended_at = s.ColumnDouble(7);
    r.virtual_time = s.ColumnOptionalDouble(8);
    r.train_loss = s.ColumnDoubleOrNaN(9);
    r.aggregated = s.ColumnInt(10) != 0;
    r.outcome = s.ColumnText(11);
    r.metrics = ParseJsonNumberObject(s.ColumnText(12));
    rounds.push_back(r);
  }
  return rounds;
}

std::vector<EvaluationRecord> ExperimentLog::Evaluations(int64_t run_id) {
  SqliteDb::OperationScope scope(db_, "reading the evaluations of run " + std::to_string(run_id));
  Statement s(db_,
              "SELECT round, split, loss, accuracy, per_class_accuracy, num_samples "
              "FROM evaluations WHERE run_id = ?1 ORDER BY round, split");
  s.Bind(1, run_id);
  std::vector<EvaluationRecord> evaluations;
  while (s.Step()) {
    EvaluationRecord e;
    e.round = s.ColumnInt(0);
    e.split = s.ColumnText(1);
    e.loss = s.ColumnDoubleOrNaN(2);
    e.accuracy = s.ColumnDoubleOrNaN(3);
    try {
      e.per_class_accuracy = ParseJsonNumberArray(s.ColumnText(4));
    } catch (const DataError& error) {
      db_.FailData("the per-class accuracy of " + RoundOf(run_id, e.round) + " on '" + e.split +
                   "': " + error.what());
    }
    e.num_samples = s.ColumnInt(5);
    evaluations.push_back(std::move(e));
  }
  return evaluations;
}

std::vector<ClientUpdateRecord> ExperimentLog::ClientUpdates(int64_t run_id) {
  SqliteDb::OperationScope scope(db_,
                                 "reading the client updates of run " + std::to_string(run_id));
  Statement s(db_,
              "SELECT round, client_id, num_samples, local_steps, loss_before, loss_after, "
              "bytes_in, bytes_out, compute_seconds, staleness, status, reason, seq "
              "FROM client_updates WHERE run_id = ?1 ORDER BY round, client_id, seq");
  s.Bind(1, run_id);
  std::vector<ClientUpdateRecord> updates;
  while (s.Step()) {
    ClientUpdateRecord u;
    u.round = s.ColumnInt(0);
    u.client_id = s.ColumnText(1);
    u.num_samples = s.ColumnInt(2);
    u.local_steps = s.ColumnInt(3);
    u.loss_before = s.ColumnDoubleOrNaN(4);
    u.loss_after = s.ColumnDoubleOrNaN(5);
    u.bytes_in = s.ColumnInt(6);
    u.bytes_out = s.ColumnInt(7);
    u.compute_seconds = s.ColumnDoubleOrNaN(8);
    u.staleness = s.ColumnInt(9);
    u.status = ParseUpdateStatus(s.ColumnText(10));
    u.reason = s.ColumnText(11);
    u.seq = s.ColumnInt(12);
    updates.push_back(std::move(u));
  }
  return updates;
}

std::vector<ClientRecord> ExperimentLog::Clients() {
  SqliteDb::OperationScope scope(db_, "reading the clients");
  Statement s(db_,
              "SELECT client_id, profile, first_seen, last_seen FROM clients ORDER BY client_id");
  std::vector<ClientRecord> clients;
  while (s.Step()) {
    ClientRecord c;
    c.client_id = s.ColumnText(0);
    c.profile = s.ColumnText(1);
    c.first_seen = s.ColumnDouble(2);
    c.last_seen = s.ColumnDouble(3);
    clients.push_back(std::move(c));
  }
  return clients;
}

}  // namespace edgefl::storage
