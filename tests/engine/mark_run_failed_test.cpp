// The engine's error path on a log found damaged: marking the run failed
// must not write into the file.
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_runner.h"
#include "storage/experiment_log.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::engine {
namespace {

using edgefl::testing::TempDir;

TEST_CASE("MarkRunFailed writes nothing into a log a round commit found damaged") {
  TempDir dir;
  const auto path = dir / "log.db";
  storage::ExperimentLog log(path);
  const int64_t run = storage::test::SampleRunWithRounds(log, "a", 1);
  // The disk damages the rounds table under the open log.
  log.TEST_db().Execute("PRAGMA wal_checkpoint(TRUNCATE)");
  storage::test::DamageTablePage(path, "rounds");
  log.TEST_db().Execute("PRAGMA shrink_memory");
  const std::string damaged = storage::test::FileHash(path);

  try {
    storage::test::CommitSampleRound(log, run, 2);
    FAIL("expected a DataError");
  } catch (const DataError& error) {
    MarkRunFailed(log, run, error);  // what RunExperiment does before rethrowing
  }
  CHECK(log.GetRun(run)->status == storage::RunStatus::kRunning);
  CHECK(storage::test::FileHash(path) == damaged);
  CHECK(log.TEST_db().damaged());
}

}  // namespace
}  // namespace edgefl::engine
