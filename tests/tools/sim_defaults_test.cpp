// `edgefl sim --set clients=4` alone runs (clients_per_round follows
// clients) and says which default it applied; the run's recorded config
// shows its floats in their shortest form.
#include <string>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::tools {

TEST_CASE("edgefl sim --set clients=4 alone runs 4 clients per round and prints the rule") {
  edgefl::testing::TempDir dir;
  std::string output;
  const int status = edgefl::testing::RunCommand(
      edgefl::testing::EdgeflTool() +
          " sim -q --set clients=4 --set rounds=1 --set dataset=synthetic --set model=mlp:60-10 "
          "--set lr=0.05 --set threads=1 --set db=" +
          (dir / "log.db").string(),
      &output);
  REQUIRE_MESSAGE(status == 0, output);
  CHECK_MESSAGE(output.find("4 clients, 4 per round") != std::string::npos, output);
  CHECK_MESSAGE(
      output.find("sim: clients_per_round = 4 (default: min(10, clients))\n") != std::string::npos,
      output);
  storage::ExperimentLog log(dir / "log.db");
  const auto runs = log.ListRuns();
  REQUIRE(runs.size() == 1);
  const std::string& config = runs.front().run.spec.config;
  CHECK_MESSAGE(config.find("\nlr = 0.05\n") != std::string::npos, config);
  CHECK_MESSAGE(config.find("\nclients_per_round = 4\n") != std::string::npos, config);
  CHECK(log.Rounds(runs.front().run.id).front().selected == 4);
}

}  // namespace edgefl::tools
