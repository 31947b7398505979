// DiPaCo over the real deployment: edgefl-coordinator and 4 edgefl-client
// processes over mutual TLS (scripts/federation.sh). Each task carries one
// path of a 2×2 module grid, so a client's frames are a path's size, not the
// grid's; the log keeps the grid and the routed evaluation improves.
#include <string>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {

TEST_CASE("federation: DiPaCo clients over TLS move one path of the module grid") {
  edgefl::testing::TempDir dir;
  const std::string command =
      std::string("EDGEFL_BUILD_DIR=") + EDGEFL_BINARY_DIR + " bash " + EDGEFL_SOURCE_DIR +
      "/scripts/federation.sh " + dir.path().string() +
      " 4 --set rounds=3 --set model=mlp:784-32-32-10 --set strategy=dipaco --set levels=2"
      " --set modules=2 --set momentum=0 --set lr=0.05 --set local_epochs=0"
      " --set local_steps=20 --set train_subset=4000 --set test_subset=1000";
  std::string output;
  const int rc = edgefl::testing::RunCommand(command, &output);
  INFO(output);
  REQUIRE(rc == 0);

  storage::ExperimentLog log(dir / "federation.db");
  const auto run = log.FindRun("federation");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 3);
  for (const auto& r : rounds)
    CHECK(r.completed == 4);
  // A path: dense 784→32, dense 32→32 | dense 32→10 (levels split 2 + 1 layers).
  const int64_t path_bytes = 4 * (784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10);
  const auto updates = log.ClientUpdates(run->id);
  REQUIRE(updates.size() == 12);
  for (const auto& u : updates) {
    // The frames sent and received: one path plus a few hundred bytes.
    CHECK(u.bytes_out > path_bytes);
    CHECK(u.bytes_out < path_bytes + path_bytes / 50);
    CHECK(u.bytes_in > path_bytes);
    CHECK(u.bytes_in < path_bytes + path_bytes / 50);
  }
  // The coordinator keeps the grid: two modules per level.
  CHECK(log.LatestCheckpoint(run->id)->parameters.size() == 2 * path_bytes / 4);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 4);
  CHECK(evals.back().num_samples == 1000);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
}

}  // namespace edgefl::coordinator
