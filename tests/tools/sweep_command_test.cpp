// Runs the real `edgefl sweep`: a grid of configs, one run each, into one
// log, named by their grid values; the same command again skips the runs
// already complete; a malformed --grid is refused before any run.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

std::string SweepCommand(const TempDir& dir, const std::string& grid) {
  return EdgeflTool() +
         " sweep --set dataset=synthetic --set model=mlp:60-16-10 --set clients=6"
         " --set clients_per_round=3 --set rounds=3 --set threads=1 --set run_name=g --set db=" +
         (dir / "log.db").string() + " " + grid + " 2>&1";
}

}  // namespace

TEST_CASE("edgefl sweep runs every point of the grid into one log and skips the complete ones") {
  TempDir dir;
  std::string output;
  REQUIRE_MESSAGE(
      RunCommand(SweepCommand(dir, "--grid lr=0.01,0.05 --grid seed=1,2"), &output) == kExitOk,
      output);
  CHECK(output.find("sweep: 4 runs into") != std::string::npos);
  {
    storage::ExperimentLog log(dir / "log.db");
    const std::vector<std::string> names = {"g:lr=0.01:seed=1", "g:lr=0.01:seed=2",
                                            "g:lr=0.05:seed=1", "g:lr=0.05:seed=2"};
    CHECK(log.ListRuns().size() == names.size());
    for (const std::string& name : names) {
      CAPTURE(name);
      const std::optional<storage::RunInfo> run = log.FindRun(name);
      REQUIRE(run.has_value());
      CHECK(run->status == storage::RunStatus::kCompleted);
      CHECK(log.LastCompletedRound(run->id) == 3);
    }
    // The grid's values reached the runs: two seeds, two different models.
    CHECK(log.LatestCheckpoint(log.FindRun("g:lr=0.01:seed=1")->id)->parameters !=
          log.LatestCheckpoint(log.FindRun("g:lr=0.01:seed=2")->id)->parameters);
  }
  REQUIRE_MESSAGE(
      RunCommand(SweepCommand(dir, "--grid lr=0.01,0.05 --grid seed=1,2"), &output) == kExitOk,
      output);
  CHECK(output.find("run 'g:lr=0.05:seed=2' already complete: skipped") != std::string::npos);
  storage::ExperimentLog log(dir / "log.db");
  CHECK(log.ListRuns().size() == 4);
}

TEST_CASE("edgefl sweep refuses a malformed grid or a bad value before running anything") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(SweepCommand(dir, ""), &output) == kExitUsage);
  CHECK(output.find("needs at least one --grid") != std::string::npos);
  CHECK(RunCommand(SweepCommand(dir, "--grid lr"), &output) == kExitUsage);
  CHECK(output.find("expected key=value1,value2") != std::string::npos);
  CHECK(RunCommand(SweepCommand(dir, "--grid lr=0.01,-3"), &output) == kExitUsage);
  CHECK(output.find("lr must be in") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "log.db"));
}

}  // namespace edgefl::tools
