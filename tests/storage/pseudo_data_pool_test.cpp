// FedBR's shared pseudo-data pool in the log (schema 8's pseudo_data_pools):
// written once per run, read back bit for bit, verified, refused twice, and
// upgraded into from version 7.
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using test::SampleRun;
using testing::TempDir;

// A 5 x 3 pool whose entries differ, so a transposed or reordered read fails.
Eigen::MatrixXf Pool() {
  Eigen::MatrixXf pool(5, 3);
  for (Eigen::Index c = 0; c < pool.cols(); ++c) {
    for (Eigen::Index r = 0; r < pool.rows(); ++r)
      pool(r, c) = 0.25f * static_cast<float>(r) - 1.5f * static_cast<float>(c) + 0.0625f;
  }
  return pool;
}

TEST_CASE("a run's pseudo-data pool is read back with its shape bit for bit") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("fedbr"));
  const int64_t other = log.BeginRun(SampleRun("plain"));
  CHECK_FALSE(log.PseudoDataPool(run).has_value());
  log.RecordPseudoDataPool(run, Pool());
  const std::optional<Eigen::MatrixXf> back = log.PseudoDataPool(run);
  REQUIRE(back.has_value());
  CHECK(back->rows() == 5);
  CHECK(back->cols() == 3);
  CHECK(*back == Pool());
  CHECK_FALSE(log.PseudoDataPool(other).has_value());
}

TEST_CASE("a second pool for the same run is a DuplicateError and the first is kept") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("fedbr"));
  log.RecordPseudoDataPool(run, Pool());
  CHECK_THROWS_AS(log.RecordPseudoDataPool(run, Eigen::MatrixXf::Zero(5, 3)), DuplicateError);
  CHECK(*log.PseudoDataPool(run) == Pool());
}

TEST_CASE("an empty pool or an unknown run is refused") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("fedbr"));
  CHECK_THROWS_WITH_AS(log.RecordPseudoDataPool(run, Eigen::MatrixXf()),
                       doctest::Contains("empty pseudo-data pool"), ConfigError);
  CHECK_THROWS_WITH_AS(log.RecordPseudoDataPool(run + 7, Pool()), doctest::Contains("no run"),
                       ConfigError);
}

TEST_CASE("a corrupted pool is a DataError naming the run") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("fedbr"));
  log.RecordPseudoDataPool(run, Pool());
  log.TEST_db().Execute("UPDATE pseudo_data_pools SET pool = zeroblob(60)");
  CHECK_THROWS_WITH_AS(log.PseudoDataPool(run),
                       doctest::Contains("the pseudo-data pool of run 'fedbr'"), DataError);
}

TEST_CASE("a version 7 log is upgraded to version 8 and can keep a pool") {
  TempDir dir;
  const auto path = dir / "v7.db";
  {
    SqliteDb db(path, SqliteDb::Mode::kReadWriteCreate, 5000);
    EnsureSchema(db, Migrations().first(7));
    CHECK(db.QueryInt("PRAGMA user_version") == 7);
  }
  ExperimentLog log(path);
  CHECK(log.TEST_db().QueryInt("PRAGMA user_version") == kSchemaVersion);
  const int64_t run = log.BeginRun(SampleRun("upgraded"));
  log.RecordPseudoDataPool(run, Pool());
  CHECK(log.PseudoDataPool(run).has_value());
}

}  // namespace
}  // namespace edgefl::storage
