// CheckLog: a sound log passes; each kind of damage a crash could cause is
// reported as a violation naming the run and the round.
#include "storage/log_check.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using edgefl::testing::TempDir;
using test::SampleRun;
using test::SampleRunWithRounds;
using test::Violations;

bool HasViolation(const LogCheckResult& result, const std::string& text) {
  for (const std::string& v : result.violations)
    if (v.find(text) != std::string::npos) return true;
  return false;
}

// CheckLog of a log with run 'a' of `rounds` sample rounds, damaged by the
// `damage` SQL statements.
LogCheckResult CheckDamaged(int64_t rounds, const std::vector<std::string>& damage) {
  TempDir dir;
  const auto path = dir / "log.db";
  {
    ExperimentLog log(path);
    SampleRunWithRounds(log, "a", rounds);
    for (const std::string& sql : damage)
      log.TEST_db().Execute(sql);
  }
  return CheckLog(path);
}

TEST_CASE("CheckLog passes a sound log and counts what it checked") {
  TempDir dir;
  const auto path = dir / "log.db";
  {
    ExperimentLog log(path);
    SampleRunWithRounds(log, "a", 3);
    log.BeginRun(SampleRun("empty"));
  }
  const LogCheckResult result = CheckLog(path);
  INFO(Violations(result));
  CHECK(result.ok());
  CHECK(result.runs == 2);
  CHECK(result.rounds == 3);
  CHECK(result.updates == 9);
  CHECK(result.checkpoints == 3);
}

TEST_CASE("CheckLog reports a missing round and updates outside committed rounds") {
  const LogCheckResult result = CheckDamaged(3, {"DELETE FROM rounds WHERE round = 2"});
  INFO(Violations(result));
  CHECK_FALSE(result.ok());
  CHECK(HasViolation(result, "run 'a' (id 1): round 3 where round 2 was expected"));
  CHECK(HasViolation(result, "update of c1 in round 2 belongs to no committed round"));
}

TEST_CASE("CheckLog reports round counts that differ from the update rows") {
  // An update counted twice in its round's aggregate.
  const LogCheckResult result =
      CheckDamaged(2, {"UPDATE rounds SET completed = 3 WHERE round = 2"});
  INFO(Violations(result));
  CHECK(result.violations.size() == 1);
  CHECK(HasViolation(result, "round 2 counts 3 accepted"));
}

TEST_CASE("CheckLog reports a model version that skips and a corrupted checkpoint") {
  const LogCheckResult result =
      CheckDamaged(2, {"UPDATE rounds SET model_version = 5 WHERE round = 2",
                       "UPDATE checkpoints SET model = zeroblob(length(model)) WHERE round = 2"});
  INFO(Violations(result));
  CHECK(HasViolation(result, "round 2 has model version 5 after version 1"));
  CHECK(HasViolation(result, "checkpoint of round 2 does not decode"));
  CHECK(HasViolation(result, "no checkpoint of its last round 2"));
}

}  // namespace
}  // namespace edgefl::storage
