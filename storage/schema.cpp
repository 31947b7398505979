#include "storage/schema.h"

#include <array>
#include <stdexcept>
#include <string>

namespace edgefl::storage {

namespace {

// Version 0 -> 1: the first schema. application_id is stamped by EnsureSchema.
constexpr std::string_view kCreateVersion1 = R"sql(
CREATE TABLE runs (
  id             INTEGER PRIMARY KEY,
  name           TEXT    NOT NULL UNIQUE,
  config         TEXT    NOT NULL DEFAULT '',
  strategy       TEXT    NOT NULL DEFAULT '',
  mode           TEXT    NOT NULL DEFAULT 'sync',
  model_spec     TEXT    NOT NULL DEFAULT '',
  seed           INTEGER NOT NULL DEFAULT 0,
  planned_rounds INTEGER NOT NULL DEFAULT 0,
  started_at     REAL    NOT NULL,
  ended_at       REAL,
  status         TEXT    NOT NULL
                 CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  status_reason  TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE rounds (
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round         INTEGER NOT NULL CHECK (round >= 1),
  model_version INTEGER NOT NULL,
  selected      INTEGER NOT NULL,
  completed     INTEGER NOT NULL,
  dropped       INTEGER NOT NULL,
  rejected      INTEGER NOT NULL,
  started_at    REAL    NOT NULL,
  ended_at      REAL    NOT NULL,
  virtual_time  REAL,
  train_loss    REAL,
  PRIMARY KEY (run_id, round)
) WITHOUT ROWID;

CREATE TABLE client_updates (
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round           INTEGER NOT NULL,
  client_id       TEXT    NOT NULL,
  num_samples     INTEGER NOT NULL,
  local_steps     INTEGER NOT NULL,
  loss_before     REAL,
  loss_after      REAL,
  bytes_in        INTEGER NOT NULL,
  bytes_out       INTEGER NOT NULL,
  compute_seconds REAL,
  staleness       INTEGER NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('accepted', 'rejected', 'dropped')),
  reason          TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, round, client_id)
) WITHOUT ROWID;
CREATE INDEX client_updates_by_client ON client_updates (client_id);

CREATE TABLE evaluations (
  run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round              INTEGER NOT NULL CHECK (round >= 0),
  split              TEXT    NOT NULL,
  loss               REAL,
  accuracy           REAL,
  per_class_accuracy TEXT    NOT NULL DEFAULT '[]',
  num_samples        INTEGER NOT NULL,
  PRIMARY KEY (run_id, round, split)
) WITHOUT ROWID;

CREATE TABLE clients (
  client_id  TEXT PRIMARY KEY,
  profile    TEXT NOT NULL DEFAULT '{}',
  first_seen REAL NOT NULL,
  last_seen  REAL NOT NULL
) WITHOUT ROWID;

-- Model blobs are large: a rowid table keeps them out of the key b-tree.
CREATE TABLE checkpoints (
  run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round          INTEGER NOT NULL,
  spec           TEXT    NOT NULL,
  num_parameters INTEGER NOT NULL,
  sha256         TEXT    NOT NULL,
  model          BLOB    NOT NULL,
  PRIMARY KEY (run_id, round)
);
)sql";

// Version 1 -> 2: the strategy's server state (momentum, Adam moments) next
// to each checkpoint, so a resumed run continues exactly where it stopped.
// NULL for a stateless strategy and for checkpoints written by version 1.
constexpr std::string_view kAddStrategyState = R"sql(
ALTER TABLE checkpoints ADD COLUMN strategy_state BLOB;
)sql";

// Version 2 -> 3: a client may send several updates that go into one
// global model version (asynchronous runs: a fast client returns twice
// before FedBuff's buffer fills), so client_updates is keyed by (run,
// round, client, seq) with seq counting that client's rows in the round
// from 0 (sync rounds always write 0, so a client twice in a round is
// still a duplicate). SQLite cannot change a primary key in place: the
// table is rebuilt and the existing rows get seq 0. seq sits with the key
// columns: SQLite 3.40's integrity_check misreads NOT NULL columns placed
// before a later key column of a WITHOUT ROWID table.
constexpr std::string_view kAddUpdateSeq = R"sql(
CREATE TABLE client_updates_v3 (
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round           INTEGER NOT NULL,
  client_id       TEXT    NOT NULL,
  seq             INTEGER NOT NULL DEFAULT 0 CHECK (seq >= 0),
  num_samples     INTEGER NOT NULL,
  local_steps     INTEGER NOT NULL,
  loss_before     REAL,
  loss_after      REAL,
  bytes_in        INTEGER NOT NULL,
  bytes_out       INTEGER NOT NULL,
  compute_seconds REAL,
  staleness       INTEGER NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('accepted', 'rejected', 'dropped')),
  reason          TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, round, client_id, seq)
) WITHOUT ROWID;
INSERT INTO client_updates_v3 (run_id, round, client_id, num_samples, local_steps, loss_before,
                               loss_after, bytes_in, bytes_out, compute_seconds, staleness,
                               status, reason)
  SELECT run_id, round, client_id, num_samples, local_steps, loss_before, loss_after, bytes_in,
         bytes_out, compute_seconds, staleness, status, reason FROM client_updates;
DROP TABLE client_updates;
ALTER TABLE client_updates_v3 RENAME TO client_updates;
CREATE INDEX client_updates_by_client ON client_updates (client_id);
)sql";

// Version 3 -> 4: the log says what happened. A round that kept the
// previous model (quorum not reached, no usable update) says so in
// rounds.aggregated and rounds.outcome, and its usable updates are
// 'discarded', not 'accepted' (a status the CHECK must allow: the table is
// rebuilt as in version 3). runs.owner names the process that runs (or
// last ran) the run. run_events records what changed during a run: a
// resume, a config key changed on resume, an owner that died.
constexpr std::string_view kRecordOutcomes = R"sql(
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE rounds ADD COLUMN aggregated INTEGER NOT NULL DEFAULT 1 CHECK (aggregated IN (0, 1));
ALTER TABLE rounds ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
CREATE TABLE client_updates_v4 (
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round           INTEGER NOT NULL,
  client_id       TEXT    NOT NULL,
  seq             INTEGER NOT NULL DEFAULT 0 CHECK (seq >= 0),
  num_samples     INTEGER NOT NULL,
  local_steps     INTEGER NOT NULL,
  loss_before     REAL,
  loss_after      REAL,
  bytes_in        INTEGER NOT NULL,
  bytes_out       INTEGER NOT NULL,
  compute_seconds REAL,
  staleness       INTEGER NOT NULL,
  status          TEXT    NOT NULL
                  CHECK (status IN ('accepted', 'rejected', 'dropped', 'discarded')),
  reason          TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, round, client_id, seq)
) WITHOUT ROWID;
INSERT INTO client_updates_v4 (run_id, round, client_id, seq, num_samples, local_steps,
                               loss_before, loss_after, bytes_in, bytes_out, compute_seconds,
                               staleness, status, reason)
  SELECT run_id, round, client_id, seq, num_samples, local_steps, loss_before, loss_after,
         bytes_in, bytes_out, compute_seconds, staleness, status, reason FROM client_updates;
DROP TABLE client_updates;
ALTER TABLE client_updates_v4 RENAME TO client_updates;
CREATE INDEX client_updates_by_client ON client_updates (client_id);
CREATE TABLE run_events (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL CHECK (seq >= 0),
  at     REAL    NOT NULL,
  round  INTEGER NOT NULL CHECK (round >= 0),
  kind   TEXT    NOT NULL,
  detail TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
)sql";

// Version 4 -> 5: the local models clients returned in a round, for the
// landscape analysis (`edgefl analyze`); written only when the run asks for
// them (keep_client_models), in the round's commit, and pruned to a bound.
constexpr std::string_view kAddClientModels = R"sql(
CREATE TABLE client_models (
  run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  round          INTEGER NOT NULL CHECK (round >= 1),
  client_id      TEXT    NOT NULL,
  spec           TEXT    NOT NULL,
  num_parameters INTEGER NOT NULL,
  sha256         TEXT    NOT NULL,
  model          BLOB    NOT NULL,
  PRIMARY KEY (run_id, round, client_id)
);
)sql";

// Version 5 -> 6: the strategy's round metrics (DP's epsilon, ...).
constexpr std::string_view kAddRoundMetrics = R"sql(
ALTER TABLE rounds ADD COLUMN metrics TEXT NOT NULL DEFAULT '{}';
)sql";

// Version 6 -> 7: the client selector's state (Oort's arms, pacer, ε) with
// each checkpoint, so a resumed run selects as an uninterrupted one.
constexpr std::string_view kAddSelectorState = R"sql(
ALTER TABLE checkpoints ADD COLUMN selector_state TEXT;
)sql";

// Version 7 -> 8: FedBR's shared pseudo-data pool, once per run, so a
// resumed run trains against the pool it started with instead of asking
// whichever clients are connected for a new one.
constexpr std::string_view kAddPseudoDataPools = R"sql(
CREATE TABLE pseudo_data_pools (
  run_id   INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  rows     INTEGER NOT NULL CHECK (rows >= 1),
  cols     INTEGER NOT NULL CHECK (cols >= 1),
  sha256   TEXT    NOT NULL,
  pool     BLOB    NOT NULL
);
)sql";

constexpr std::array<Migration, 8> kMigrations = {{
    {0, "create the version 1 tables", kCreateVersion1},
    {1, "add checkpoints.strategy_state", kAddStrategyState},
    {2, "key client_updates by (run, round, client, seq)", kAddUpdateSeq},
    {3, "record round outcomes, discarded updates, run owners and run events", kRecordOutcomes},
    {4, "add the client_models table", kAddClientModels},
    {5, "add rounds.metrics", kAddRoundMetrics},
    {6, "add checkpoints.selector_state", kAddSelectorState},
    {7, "add the pseudo_data_pools table", kAddPseudoDataPools},
}};
static_assert(kMigrations.size() == kSchemaVersion);

int64_t CountTables(SqliteDb& db) {
  return db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table'");
}

std::string Hex(int64_t value) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4)
    out += kDigits[(value >> shift) & 0xf];
  return out;
}

// Throws unless (application_id, version) can be opened by a build whose
// newest version is `newest`.
void CheckHeader(SqliteDb& db, int64_t application_id, int64_t version, int64_t newest) {
  if (application_id != kApplicationId) {
    if (application_id != 0) {
      db.FailData("not an edgefl experiment log (SQLite application_id " + Hex(application_id) +
                  ", expected " + Hex(kApplicationId) + ")");
    }
    if (version != 0 || CountTables(db) != 0) {
      db.FailData(
          "not an edgefl experiment log (an SQLite database with other tables and no edgefl "
          "application_id); pass a new file name or an experiment log written by edgefl");
    }
  }
  if (version > newest) {
    db.FailData("written by a newer edgefl (schema version " + std::to_string(version) +
                ", this build knows up to version " + std::to_string(newest) +
                "); open it with a newer edgefl");
  }
}

}  // namespace

std::span<const Migration> Migrations() {
  return kMigrations;
}

int64_t EnsureSchema(SqliteDb& db, std::span<const Migration> migrations) {
  const auto newest = static_cast<int64_t>(migrations.size());
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].from_version != static_cast<int64_t>(i)) {
      throw std::logic_error("storage: migration steps out of order");
    }
  }
  SqliteDb::OperationScope scope(db, "reading the schema version");
  // The header and the table count are read in one snapshot: another
  // process may create the schema in between two reads otherwise, and a
  // new file would look like another application's database.
  int64_t application_id = 0;
  int64_t version = 0;
  {
    Transaction snapshot(db, Transaction::Kind::kDeferred);
    // The first read of the header: a file that is not SQLite fails here.
    application_id = db.QueryInt("PRAGMA application_id");
    version = db.QueryInt("PRAGMA user_version");
    CheckHeader(db, application_id, version, newest);
    snapshot.Commit();
  }
  // A log opened for writing is checked before anything is written to it
  // (the upgrade below, WAL mode, the run's rows): writing into a damaged
  // file can spread the damage, and a run recorded there would be lost with
  // it. Readers are not checked: they write nothing (docs/robustness.md).
  if (db.mode() != SqliteDb::Mode::kReadOnly) db.CheckNotDamaged();
  if (version == newest) return version;
  if (db.mode() == SqliteDb::Mode::kReadOnly) {
    if (version == 0 && application_id == 0) {
      db.FailData("the file is empty: no experiment has been recorded in it yet");
    }
    db.FailData("schema version " + std::to_string(version) + " is older than version " +
                std::to_string(newest) +
                " and the log is opened read-only; upgrade it with `edgefl runs upgrade --db "
                "FILE` (or any command that writes it, e.g. resuming the run)");
  }

  SqliteDb::OperationScope upgrade(db, "upgrading the schema from version " +
                                           std::to_string(version) + " to " +
                                           std::to_string(newest));
  Transaction transaction(db);
  // Another process may have upgraded the file between the reads above and
  // taking the write lock: read again under the lock.
  const int64_t locked_version = db.QueryInt("PRAGMA user_version");
  CheckHeader(db, db.QueryInt("PRAGMA application_id"), locked_version, newest);
  for (int64_t v = locked_version; v < newest; ++v) {
    const Migration& step = migrations[static_cast<size_t>(v)];
    SqliteDb::OperationScope step_scope(db, "upgrading the schema from version " +
                                                std::to_string(v) + " to " + std::to_string(v + 1) +
                                                " (" + std::string(step.description) + ")");
    db.Execute(step.sql);
  }
  db.Execute("PRAGMA application_id = " + std::to_string(kApplicationId) +
             "; PRAGMA user_version = " + std::to_string(newest));
  transaction.Commit();
  return version;
}

}  // namespace edgefl::storage
