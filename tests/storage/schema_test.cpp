#include "storage/schema.h"

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/checkpoint.h"
#include "storage/experiment_log.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using edgefl::testing::ReadFile;
using edgefl::testing::TempDir;
using edgefl::testing::WriteFile;

constexpr int kTimeoutMs = 1000;

std::string IntegrityCheck(SqliteDb& db) {
  Statement s(db, "PRAGMA integrity_check");
  return s.Step() ? s.ColumnText(0) : "";
}

bool HasTable(SqliteDb& db, const std::string& name) {
  Statement s(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  s.Bind(1, name);
  return s.Step();
}

constexpr int64_t kNext = kSchemaVersion + 1;

// The real steps plus a fake next version that adds a column and a table.
std::vector<Migration> StepsToNextVersion() {
  std::vector<Migration> steps(Migrations().begin(), Migrations().end());
  steps.push_back({kSchemaVersion, "add runs.note and the notes table",
                   "ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT 'none';"
                   "CREATE TABLE notes (run_id INTEGER, text TEXT);"});
  return steps;
}

TEST_CASE("A new log has the current schema version in user_version and is in WAL mode") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  SqliteDb& db = log.TEST_db();
  CHECK(db.QueryInt("PRAGMA user_version") == kSchemaVersion);
  CHECK(db.QueryInt("PRAGMA application_id") == kApplicationId);
  CHECK(db.QueryInt("PRAGMA synchronous") == 2);  // FULL
  CHECK(db.QueryInt("PRAGMA foreign_keys") == 1);
  Statement mode(db, "PRAGMA journal_mode");
  REQUIRE(mode.Step());
  CHECK(mode.ColumnText(0) == "wal");
  for (const char* table :
       {"runs", "rounds", "client_updates", "evaluations", "clients", "checkpoints"}) {
    CHECK_MESSAGE(HasTable(db, table), table);
  }
  CHECK(Migrations().size() == static_cast<size_t>(kSchemaVersion));
}

TEST_CASE("Reopening a current log changes nothing") {
  TempDir dir;
  {
    ExperimentLog log(dir / "log.db");
    test::CommitSampleRound(log, log.BeginRun(test::SampleRun("a")), 1);
  }
  ExperimentLog log(dir / "log.db");
  CHECK(log.ListRuns().size() == 1);
  CHECK(log.LastCompletedRound(1) == 1);
}

TEST_CASE("A version 0 edgefl file is migrated to the current version") {
  TempDir dir;
  const auto path = dir / "v0.db";
  {
    // What a log looks like at version 0: stamped as edgefl, no tables.
    SqliteDb raw(path, SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
    raw.Execute("PRAGMA application_id = " + std::to_string(kApplicationId));
    CHECK(raw.QueryInt("PRAGMA user_version") == 0);
  }
  ExperimentLog log(path);
  CHECK(log.TEST_db().QueryInt("PRAGMA user_version") == kSchemaVersion);
  const int64_t run = log.BeginRun(test::SampleRun("a"));
  test::CommitSampleRound(log, run, 1);
  CHECK(log.LastCompletedRound(run) == 1);
}

TEST_CASE("Migration steps run in order and keep the data") {
  TempDir dir;
  const auto path = dir / "log.db";
  {
    ExperimentLog log(path);
    log.BeginRun(test::SampleRun("a"));
  }
  const auto steps = StepsToNextVersion();
  SqliteDb db(path, SqliteDb::Mode::kReadWrite, kTimeoutMs);
  CHECK(EnsureSchema(db, steps) == kSchemaVersion);
  CHECK(db.QueryInt("PRAGMA user_version") == kNext);
  CHECK(HasTable(db, "notes"));
  Statement s(db, "SELECT name, note FROM runs");
  REQUIRE(s.Step());
  CHECK(s.ColumnText(0) == "a");
  CHECK(s.ColumnText(1) == "none");
  CHECK(EnsureSchema(db, steps) == kNext);  // already current: nothing to do

  // A version 0 file goes through every step in one go.
  const auto fresh = dir / "fresh.db";
  SqliteDb empty(fresh, SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
  CHECK(EnsureSchema(empty, steps) == 0);
  CHECK(empty.QueryInt("PRAGMA user_version") == kNext);
  CHECK(empty.QueryInt("PRAGMA application_id") == kApplicationId);
  CHECK(HasTable(empty, "runs"));
  CHECK(HasTable(empty, "notes"));
}

TEST_CASE("A failing migration step leaves the file at its old version") {
  TempDir dir;
  const auto path = dir / "log.db";
  {
    ExperimentLog log(path);
    log.BeginRun(test::SampleRun("a"));
  }
  std::vector<Migration> steps(Migrations().begin(), Migrations().end());
  steps.push_back({kSchemaVersion, "a broken step",
                   "CREATE TABLE half_done (a INTEGER); INSERT INTO no_such_table VALUES (1);"});
  SqliteDb db(path, SqliteDb::Mode::kReadWrite, kTimeoutMs);
  const std::string step = "upgrading the schema from version " + std::to_string(kSchemaVersion) +
                           " to " + std::to_string(kNext);
  CHECK_THROWS_WITH_AS(EnsureSchema(db, steps), doctest::Contains(step.c_str()), IoError);
  CHECK(db.QueryInt("PRAGMA user_version") == kSchemaVersion);
  CHECK_FALSE(HasTable(db, "half_done"));
  CHECK_FALSE(db.InTransaction());
  ExperimentLog log(path);
  CHECK(log.FindRun("a").has_value());
}

TEST_CASE("Out of order migration steps are a programming error") {
  TempDir dir;
  SqliteDb db(dir / "log.db", SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
  const std::vector<Migration> steps = {{1, "wrong", "SELECT 1"}};
  CHECK_THROWS_AS(EnsureSchema(db, steps), std::logic_error);
}

TEST_CASE("A log written by a newer schema version is refused with a clear message") {
  TempDir dir;
  const auto path = dir / "log.db";
  {
    ExperimentLog log(path);
    log.BeginRun(test::SampleRun("a"));
    SqliteDb db(path, SqliteDb::Mode::kReadWrite, kTimeoutMs);
    EnsureSchema(db, StepsToNextVersion());
  }
  for (bool read_only : {false, true}) {
    ExperimentLog::Options options;
    options.read_only = read_only;
    try {
      ExperimentLog log(path, options);
      FAIL("expected a DataError");
    } catch (const DataError& error) {
      const std::string message = error.what();
      CHECK(message.find(path.string()) != std::string::npos);
      CHECK(message.find("newer edgefl") != std::string::npos);
      CHECK(message.find("schema version " + std::to_string(kNext)) != std::string::npos);
      CHECK(message.find("up to version " + std::to_string(kSchemaVersion)) != std::string::npos);
    }
  }
}

TEST_CASE("A version 1 log with checkpoints is upgraded to version 2 and keeps its models") {
  TempDir dir;
  const auto path = dir / "v1.db";
  Eigen::VectorXf model = Eigen::VectorXf::LinSpaced(15, -1.0f, 1.0f);
  {
    // A log exactly as version 1 wrote it: only the first step, one round
    // with its checkpoint.
    SqliteDb db(path, SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
    const std::vector<Migration> v1(Migrations().begin(), Migrations().begin() + 1);
    REQUIRE(EnsureSchema(db, v1) == 0);
    db.Execute(
        "INSERT INTO runs (id, name, started_at, status) VALUES (1, 'old', 1000.0, "
        "'interrupted');"
        "INSERT INTO rounds (run_id, round, model_version, selected, completed, dropped, "
        "rejected, started_at, ended_at) VALUES (1, 1, 1, 3, 3, 0, 0, 1000.0, 1001.0);");
    const std::string blob = EncodeParameters(model);
    Statement s(db,
                "INSERT INTO checkpoints (run_id, round, spec, num_parameters, sha256, model) "
                "VALUES (1, 1, 'mlp:4-3', 15, ?1, ?2)");
    s.Bind(1, Sha256Hex(blob)).BindBlob(2, blob.data(), blob.size());
    s.Run();
    CHECK(db.QueryInt("PRAGMA user_version") == 1);
  }
  ExperimentLog log(path);
  CHECK(log.TEST_db().QueryInt("PRAGMA user_version") == kSchemaVersion);
  const auto checkpoint = log.LatestCheckpoint(1);
  REQUIRE(checkpoint.has_value());
  CHECK(checkpoint->parameters == model);
  CHECK(checkpoint->strategy_state.size() == 0);  // version 1 kept none
}

TEST_CASE("A version 2 log is upgraded to version 3: its updates get seq 0 and stay intact") {
  TempDir dir;
  const auto path = dir / "v2.db";
  {
    SqliteDb db(path, SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
    const std::vector<Migration> v2(Migrations().begin(), Migrations().begin() + 2);
    REQUIRE(EnsureSchema(db, v2) == 0);
    db.Execute(
        "INSERT INTO runs (id, name, started_at, status) VALUES (1, 'old', 1000.0, 'completed');"
        "INSERT INTO client_updates (run_id, round, client_id, num_samples, local_steps, "
        "bytes_in, bytes_out, staleness, status) VALUES (1, 1, 'c1', 50, 7, 10, 20, 0, "
        "'accepted');");
  }
  ExperimentLog log(path);
  CHECK(log.TEST_db().QueryInt("PRAGMA user_version") == kSchemaVersion);
  CHECK(IntegrityCheck(log.TEST_db()) == "ok");
  const auto updates = log.ClientUpdates(1);
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].client_id == "c1");
  CHECK(updates[0].num_samples == 50);
  CHECK(updates[0].local_steps == 7);
  CHECK(updates[0].seq == 0);
}

TEST_CASE("An async version can hold several updates of one client numbered by seq") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(test::SampleRun("a"));
  ClientUpdateRecord first = test::SampleUpdate(1, "fast");
  ClientUpdateRecord second = test::SampleUpdate(1, "fast");
  second.seq = 1;
  second.staleness = 1;
  const std::vector<ClientUpdateRecord> both = {first, second};
  log.CommitRound(run, test::SampleRound(1), both, {}, nullptr);
  const auto updates = log.ClientUpdates(run);
  REQUIRE(updates.size() == 2);
  CHECK(updates[0].seq == 0);
  CHECK(updates[1].seq == 1);
  CHECK(updates[1].staleness == 1);
  CHECK(IntegrityCheck(log.TEST_db()) == "ok");
  // The same seq twice is still a duplicate (sync rounds always write 0).
  CHECK_THROWS_AS(log.RecordClientUpdate(run, test::SampleUpdate(1, "fast")), DuplicateError);
}

TEST_CASE("A checkpoint keeps the strategy state bit for bit") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(test::SampleRun("a"));
  Checkpoint checkpoint;
  checkpoint.spec = "mlp:4-3";
  checkpoint.parameters = Eigen::VectorXf::LinSpaced(15, -1.0f, 1.0f);
  checkpoint.strategy_state = Eigen::VectorXf::LinSpaced(31, 0.25f, 7.0f);
  checkpoint.strategy_state[3] = std::numeric_limits<float>::denorm_min();
  log.CommitRound(run, test::SampleRound(1), {}, {}, &checkpoint);
  const Checkpoint stateless = test::SampleCheckpoint(2);
  log.CommitRound(run, test::SampleRound(2), {}, {}, &stateless);
  const auto first = log.ReadCheckpoint(run, 1);
  REQUIRE(first.has_value());
  CHECK(first->strategy_state == checkpoint.strategy_state);
  CHECK(log.ReadCheckpoint(run, 2)->strategy_state.size() == 0);  // stateless: NULL
}

TEST_CASE("A text file renamed to .db is not an edgefl experiment log and stays untouched") {
  TempDir dir;
  const auto path = dir / "notes.db";
  const std::string text = "round,accuracy\n1,0.5\n2,0.6\n";
  WriteFile(path, text);
  for (bool read_only : {false, true}) {
    ExperimentLog::Options options;
    options.read_only = read_only;
    try {
      ExperimentLog log(path, options);
      FAIL("expected a DataError");
    } catch (const DataError& error) {
      const std::string message = error.what();
      CHECK(message.find(path.string()) != std::string::npos);
      CHECK(message.find("not an edgefl experiment log") != std::string::npos);
    }
  }
  CHECK(ReadFile(path) == text);
}

TEST_CASE("Another application's SQLite database is refused") {
  TempDir dir;
  SUBCASE("tables and no application id") {
    const auto path = dir / "other.db";
    {
      SqliteDb raw(path, SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
      raw.Execute("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x')");
    }
    CHECK_THROWS_WITH_AS(ExperimentLog{path}, doctest::Contains("not an edgefl experiment log"),
                         DataError);
    SqliteDb raw(path, SqliteDb::Mode::kReadWrite, kTimeoutMs);
    CHECK_FALSE(HasTable(raw, "runs"));
  }
  SUBCASE("another application id") {
    const auto path = dir / "other.db";
    {
      SqliteDb raw(path, SqliteDb::Mode::kReadWriteCreate, kTimeoutMs);
      raw.Execute("PRAGMA application_id = 1234");
    }
    CHECK_THROWS_WITH_AS(ExperimentLog{path}, doctest::Contains("application_id 0x000004d2"),
                         DataError);
  }
}

TEST_CASE("Read-only opening needs an existing non-empty log") {
  TempDir dir;
  ExperimentLog::Options options;
  options.read_only = true;
  CHECK_THROWS_WITH_AS(ExperimentLog(dir / "missing.db", options), doctest::Contains("cannot open"),
                       IoError);
  WriteFile(dir / "empty.db", "");
  CHECK_THROWS_WITH_AS(ExperimentLog(dir / "empty.db", options), doctest::Contains("empty"),
                       DataError);
  ExperimentLog::Options must_exist;
  must_exist.create_if_missing = false;
  CHECK_THROWS_AS(ExperimentLog(dir / "missing.db", must_exist), IoError);
}

}  // namespace
}  // namespace edgefl::storage
