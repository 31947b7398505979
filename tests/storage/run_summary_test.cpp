#include "storage/run_summary.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/schema.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using edgefl::testing::TempDir;

// A log with runs "a" (3 rounds, an evaluation of round 0 too) and "b"
// (1 round).
void WriteTwoRuns(const std::filesystem::path& path) {
  ExperimentLog log(path);
  const int64_t a = log.BeginRun(test::SampleRun("a"));
  log.RecordEvaluation(a, test::SampleEvaluation(0));
  for (int64_t r = 1; r <= 3; ++r)
    test::CommitSampleRound(log, a, r);
  log.EndRun(a, RunStatus::kCompleted);
  const int64_t b = log.BeginRun(test::SampleRun("b"));
  test::CommitSampleRound(log, b, 1);
}

}  // namespace

TEST_CASE("ReadRunDetails reads each run's rounds evaluations and updates in the order asked") {
  TempDir dir;
  WriteTwoRuns(dir / "log.db");
  const auto log = OpenLogForReading(dir / "log.db");

  const std::vector<RunDetail> all = ReadRunDetails(*log, {});
  REQUIRE(all.size() == 2);
  CHECK(all[0].summary.run.spec.name == "a");
  CHECK(all[0].rounds.size() == 3);
  CHECK(all[0].evaluations.size() == 4);                         // rounds 0..3
  CHECK(all[0].updates.size() == 9);                             // 3 per round
  CHECK(all[0].summary.best_accuracy == doctest::Approx(0.65));  // SampleEvaluation(3)
  CHECK(all[0].FinalEvaluation("test")->round == 3);
  CHECK_FALSE(all[0].FinalEvaluation("val").has_value());
  CHECK(all[0].EvaluationsOn("test").size() == 4);
  // Ended: from its start to its end (the sample rounds are stamped earlier).
  REQUIRE(all[0].summary.run.ended_at.has_value());
  CHECK(all[0].seconds ==
        doctest::Approx(*all[0].summary.run.ended_at - all[0].summary.run.started_at));

  // By name and by id, in the order given; only the parts asked for.
  const std::vector<std::string> wanted = {"b", "1"};
  DetailParts parts;
  parts.updates = false;
  const std::vector<RunDetail> picked = ReadRunDetails(*log, wanted, parts);
  REQUIRE(picked.size() == 2);
  CHECK(picked[0].summary.run.spec.name == "b");
  CHECK(picked[1].summary.run.spec.name == "a");
  CHECK(picked[1].updates.empty());
  CHECK(picked[1].summary.distinct_clients == 3);  // from the summary, not the updates

  const std::vector<std::string> missing = {"c"};
  CHECK_THROWS_WITH_AS(ReadRunDetails(*log, missing),
                       doctest::Contains("no run named 'c'; its runs: a, b"), ConfigError);
}

TEST_CASE("OpenLogForReading opens read-only and never upgrades an older log") {
  TempDir dir;
  WriteTwoRuns(dir / "log.db");
  {
    const auto log = OpenLogForReading(dir / "log.db");
    CHECK_THROWS_AS(log->BeginRun(test::SampleRun("c")), IoError);  // read-only
  }
  CHECK_THROWS_WITH_AS(OpenLogForReading(dir / "missing.db"), doctest::Contains("no such file"),
                       IoError);

  REQUIRE(kSchemaVersion >= 2);
  const auto older = dir / "older.db";
  {
    SqliteDb db(older, SqliteDb::Mode::kReadWriteCreate, 1000);
    EnsureSchema(db, Migrations().first(kSchemaVersion - 1));
  }
  CHECK_THROWS_WITH_AS(OpenLogForReading(older),
                       doctest::Contains(("edgefl runs upgrade --db " + older.string()).c_str()),
                       DataError);
  CHECK(UpgradeLog(older) == kSchemaVersion - 1);
  CHECK(UpgradeLog(older) == kSchemaVersion);  // nothing left to do
  const auto log = OpenLogForReading(older);
  CHECK(ReadRunDetails(*log, {}).empty());
}

}  // namespace edgefl::storage
