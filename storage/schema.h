// The experiment log's schema and its migrations.
//
// An edgefl experiment log is an SQLite file whose header carries
//   PRAGMA application_id = kApplicationId   ('e' 'd' 'f' 'l', 0x6564666C)
//   PRAGMA user_version   = schema version   (kSchemaVersion for this build)
// Version 0 is an edgefl log with no tables yet (or a brand-new, empty
// SQLite file); Migrations()[v] upgrades version v to v + 1, so the list is
// ordered and its length is the newest version. A future schema change
// appends a step (ALTER TABLE ... ADD COLUMN, a new table, a data copy) and
// bumps kSchemaVersion; a step never edits one that was released.
//
// Version 1 tables (times are host wall-clock UNIX seconds as REAL; a NULL
// REAL is a value that was not measured):
//   runs           (id PK, name UNIQUE, config, strategy, mode, model_spec,
//                   seed, planned_rounds, started_at, ended_at NULL,
//                   status running|completed|failed|interrupted,
//                   status_reason)
//   rounds         (run_id, round, model_version, selected, completed,
//                   dropped, rejected, started_at, ended_at,
//                   virtual_time NULL, train_loss NULL;
//                   PK(run_id, round))
//   client_updates (run_id, round, client_id, num_samples, local_steps,
//                   loss_before, loss_after, bytes_in, bytes_out,
//                   compute_seconds, staleness, status
//                   accepted|rejected|dropped, reason;
//                   PK(run_id, round, client_id))
//   evaluations    (run_id, round, split, loss, accuracy,
//                   per_class_accuracy (JSON array), num_samples;
//                   PK(run_id, round, split))
//   clients        (client_id PK, profile (JSON), first_seen, last_seen)
//   checkpoints    (run_id, round, spec, num_parameters, model BLOB
//                   (little-endian float32), sha256 (hex of model);
//                   PK(run_id, round))
// Version 2 adds:
//   checkpoints.strategy_state BLOB NULL: Strategy::SaveState() in the
//                   model blob's float32 layout; NULL when stateless
// Version 3 adds:
//   client_updates.seq: the client's rows in that round counted from 0
//                   (several updates of one client can go into one async
//                   model version); PK(run_id, round, client_id, seq)
// Version 4 adds:
//   runs.owner     "pid 1234 on host h" of the process that runs (or last
//                   ran) it; '' before version 4
//   rounds.aggregated 1 if the round made a new model, 0 if it kept the
//                   previous one; rounds.outcome why not ('' when it did)
//   client_updates.status also 'discarded': usable, but its round kept the
//                   previous model
//   run_events     (run_id, seq, at, round, kind, detail; PK(run_id, seq)):
//                   what happened to a run besides its rounds ("resumed",
//                   "config_changed", "owner_lost", "budget_spent"); round is the last
//                   committed round when it happened
// Version 5 adds:
//   client_models  (run_id, round, client_id, spec, num_parameters, sha256,
//                   model BLOB (as checkpoints.model); PK(run_id, round,
//                   client_id)): the local models clients returned in a
//                   round, kept only with the run key keep_client_models
//                   (bounded: the newest N rounds, at most M clients each)
//                   for `edgefl analyze`
// Version 6 adds:
//   rounds.metrics  the strategy's round metrics as a flat JSON object of
//                   numbers ({"epsilon":1.25,...}; '{}' before version 6)
// Version 7 adds:
//   checkpoints.selector_state TEXT NULL: ClientSelector::SaveState() (Oort's
//                   arms, pacer and exploration); NULL when the selector is
//                   stateless or the checkpoint predates version 7
// Version 8 adds:
//   pseudo_data_pools (run_id PK, rows, cols, sha256, pool BLOB: the rows×cols
//                   float matrix, column-major, encoded as checkpoints.model):
//                   FedBR's shared pseudo-data pool, written once when the run
//                   builds it and read back on resume
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "storage/sqlite_db.h"

namespace edgefl::storage {

inline constexpr int64_t kApplicationId = 0x6564666C;  // "edfl"
inline constexpr int64_t kSchemaVersion = 8;

// One upgrade step: from `from_version` to `from_version + 1`.
struct Migration {
  int64_t from_version = 0;
  std::string_view description;  // "create the version 1 tables"
  std::string_view sql;          // ';'-separated statements
};

// The steps of this build; Migrations()[v].from_version == v and
// Migrations().size() == kSchemaVersion.
std::span<const Migration> Migrations();

// Checks that `db` is an edgefl experiment log and brings it to the newest
// version of `migrations` (the newest version is migrations.size()):
//  - a new file (empty, or SQLite with no tables, application_id 0 and
//    user_version 0) or an edgefl log at an older version: applies the
//    missing steps in order, all in ONE transaction together with the
//    version bump, so the file is either upgraded or left as it was;
//  - an edgefl log at the newest version: nothing to do.
// Returns the version the file had before.
// Throws DataError if the file is not SQLite or is SQLite with another
// application_id or with tables but no edgefl application_id ("not an edgefl
// experiment log"), if its version is newer than this build knows ("written
// by a newer edgefl"), or, when db is read-only, if it needs an upgrade.
// When db is not read-only, the file is checked (SqliteDb::CheckNotDamaged,
// PRAGMA quick_check) before anything is written: a damaged file is a
// DataError and stays byte-for-byte unchanged.
// Throws IoError if an upgrade cannot be written (and the file is unchanged).
// REQUIRES: migrations[i].from_version == i.
int64_t EnsureSchema(SqliteDb& db, std::span<const Migration> migrations = Migrations());

}  // namespace edgefl::storage
