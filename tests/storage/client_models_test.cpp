// The clients' local models kept for the landscape analysis (schema 5's
// client_models table): committed with their round, read back bit for bit,
// pruned to the newest rounds, verified, and upgraded into from version 4.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using test::SampleCheckpoint;
using test::SampleRound;
using test::SampleRun;
using testing::TempDir;

ClientModel Model(int64_t round, const std::string& client, float base) {
  ClientModel m;
  m.round = round;
  m.client_id = client;
  m.spec = "mlp:4-3";
  m.parameters.resize(15);
  for (Eigen::Index i = 0; i < 15; ++i)
    m.parameters[i] = base + 0.125f * static_cast<float>(i);
  return m;
}

void CommitWithModels(ExperimentLog& log, int64_t run, int64_t round,
                      const std::vector<ClientModel>& models) {
  const Checkpoint checkpoint = SampleCheckpoint(round);
  log.CommitRound(run, SampleRound(round), {}, {}, &checkpoint, models);
}

TEST_CASE("client models are committed with their round and read back bit for bit") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("models"));
  CommitWithModels(log, run, 1, {});
  CommitWithModels(log, run, 2, {Model(2, "b", 1.0f), Model(2, "a", -3.5f)});
  CHECK(log.ClientModelRounds(run) == std::vector<int64_t>{2});
  CHECK(log.ReadClientModels(run, 1).empty());
  const std::vector<ClientModel> models = log.ReadClientModels(run, 2);
  REQUIRE(models.size() == 2);
  CHECK(models[0].client_id == "a");  // by client id
  CHECK(models[1].client_id == "b");
  CHECK(models[0].round == 2);
  CHECK(models[0].spec == "mlp:4-3");
  CHECK(models[0].parameters == Model(2, "a", -3.5f).parameters);
  CHECK(models[1].parameters == Model(2, "b", 1.0f).parameters);
  // A model of another round is refused and nothing of the round is written.
  CHECK_THROWS_WITH_AS(CommitWithModels(log, run, 3, {Model(2, "a", 0.0f)}),
                       doctest::Contains("the model of client 'a' is for round 2"), ConfigError);
  CHECK(log.LastCompletedRound(run) == 2);
  // A client listed twice in a round is a duplicate: the round is not committed.
  CHECK_THROWS_AS(CommitWithModels(log, run, 3, {Model(3, "a", 0.0f), Model(3, "a", 1.0f)}),
                  DuplicateError);
  CHECK(log.LastCompletedRound(run) == 2);
}

TEST_CASE("pruning keeps the client models of the newest rounds only") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("pruned"));
  for (int64_t round = 1; round <= 5; ++round) {
    CommitWithModels(log, run, round,
                     {Model(round, "a", 0.0f), Model(round, "b", 1.0f), Model(round, "c", 2.0f)});
  }
  CHECK(log.PruneClientModels(run, 2) == 9);
  CHECK(log.ClientModelRounds(run) == std::vector<int64_t>{4, 5});
  CHECK(log.ReadClientModels(run, 5).size() == 3);
  CHECK(log.PruneClientModels(run, 2) == 0);
  CHECK_THROWS_AS(log.PruneClientModels(run, 0), ConfigError);
  // The global checkpoints are not touched.
  CHECK(log.ReadCheckpoint(run, 1).has_value());
}

TEST_CASE("a corrupted client model is a DataError naming the client and round") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("corrupt"));
  CommitWithModels(log, run, 1, {Model(1, "a", 0.0f)});
  log.TEST_db().Execute("UPDATE client_models SET model = zeroblob(60)");
  CHECK_THROWS_WITH_AS(log.ReadClientModels(run, 1),
                       doctest::Contains("the model of client 'a' in run 'corrupt'"), DataError);
}

TEST_CASE("a version 4 log is upgraded to version 5 and can keep client models") {
  TempDir dir;
  const auto path = dir / "v4.db";
  {
    SqliteDb db(path, SqliteDb::Mode::kReadWriteCreate, 5000);
    EnsureSchema(db, Migrations().first(4));
    CHECK(db.QueryInt("PRAGMA user_version") == 4);
    CHECK(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'client_models'") == 0);
  }
  ExperimentLog log(path);
  CHECK(log.TEST_db().QueryInt("PRAGMA user_version") == kSchemaVersion);
  const int64_t run = log.BeginRun(SampleRun("upgraded"));
  CommitWithModels(log, run, 1, {Model(1, "a", 0.0f)});
  CHECK(log.ReadClientModels(run, 1).size() == 1);
}

}  // namespace
}  // namespace edgefl::storage
